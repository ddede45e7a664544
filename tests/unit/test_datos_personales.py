"""Personal data in the contracts (issue 7, findings 6 and 7): what a supervisor sees of a citizen
without a recorded reason, and the texts that cannot carry extra lines into the mails they are
written into (names and every single-line field; multi-line texts keep only line breaks).

Expected values are written by hand; the error is the one the services and the gateway return
(`errores_legibles`: the field in dot notation and a Spanish message, never the value)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from comun.errores import errores_legibles
from comun.eventos import Entidad
from gateway.credenciales import Credencial
from gateway.dependencias import quien_llama, servicios
from gateway.rutas import bandeja
from servicios.derivacion.dominio import enmascarar_contacto
from servicios.derivacion.schemas import Observacion, Reasignacion, Respuesta, Traslado
from servicios.encuestas.schemas import RespuestaEncuesta
from servicios.plazos.schemas import DiaNoLaborable, NotaIntervencion
from servicios.registro.schemas import Desistimiento, HojaReclamacion, Subsanacion

UNA_LINEA = "No puede contener saltos de línea ni caracteres de control"
VARIAS_LINEAS = "No puede contener caracteres de control (solo se admiten saltos de línea)"
# Line feed, carriage return, tab, NUL, ESC, DEL, NEL (C1), Unicode line and paragraph separators.
CONTROLES = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]


# --- the supervisor's view ------------------------------------------------------------------------


def test_identidad_enmascarada_para_el_supervisor():
    contacto = {
        "tipo_documento": "dni",
        "numero_documento": "45678912",
        "nombres": "Rosa María",
        "apellidos": "Quispe Huamán",
        "email": "maria@gmail.com",
        "telefono": "+51987654321",
    }
    assert enmascarar_contacto(contacto) == {
        "tipo_documento": "dni",
        "numero_documento": "4567****",
        "nombres": "R. M.",
        "apellidos": "Q. H.",
        "email": "m****@gmail.com",
        "telefono": "+********321",
    }


@pytest.mark.parametrize(
    ("campo", "valor", "enmascarado"),
    [
        ("numero_documento", "20100070970", "2010*******"),  # RUC: 4 of 11
        ("numero_documento", "AB1234", "AB1***"),  # a short passport: only half
        ("telefono", "987654321", "******321"),
        ("email", "x@ejemplo.pe", "x****@ejemplo.pe"),
        ("nombres", "José", "J."),
    ],
)
def test_cada_dato_enmascarado(campo, valor, enmascarado):
    base = {"tipo_documento": "dni", "numero_documento": "45678912", "nombres": "A"}
    assert enmascarar_contacto({**base, campo: valor})[campo] == enmascarado


def test_sin_correo_ni_telefono_quedan_vacios():
    contacto = {"numero_documento": "45678912", "email": None, "telefono": None}
    assert enmascarar_contacto(contacto) == {
        "numero_documento": "4567****",
        "email": None,
        "telefono": None,
    }


# --- bodies that are valid, to break one field at a time ------------------------------------------


def _hoja() -> dict:
    return {
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": "45678912"},
            "nombres": "Rosa María",
            "apellidos": "Quispe Huamán",
            "email": "rosa@ejemplo.pe",
            "telefono": "987654321",
            "direccion": "Av. Arequipa 123",
        },
        "entidad_id": "sunat",
        "sede": "Sede central",
        "ocurrido_en": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "motivo": "tiempo",
        "descripcion": "Esperé tres horas para ser atendida.",
        "pedido": "Que mejoren los turnos.",
        "medio_respuesta": "email",
        "acepta_privacidad": True,
        "adjuntos": [{"nombre": "boleta.pdf", "tipo_mime": "application/pdf", "tamano_bytes": 10}],
    }


def _menor() -> dict:
    hoja = _hoja()
    hoja["ciudadano"] |= {
        "es_menor": True,
        "representante": {
            "documento": {"tipo": "dni", "numero": "12345678"},
            "nombres": "Juana",
            "apellidos": "Huamán",
        },
    }
    return hoja


def _entidad() -> dict:
    return {
        "id": "minsa",
        "nombre": "Ministerio de Salud",
        "tipo": "ministerio",
        "unidades": [
            {
                "id": "ogc",
                "nombre": "Oficina de Gestión del Ciudadano",
                "responsable": {"nombre": "Ana Torres", "email": "ana@minsa.example"},
                "alterno": {"nombre": "Luis Rojas", "email": "luis@minsa.example"},
            }
        ],
        "reglas": [{"unidad": "ogc", "motivo": "trato", "sede": "Lima"}],
        "unidad_por_defecto": "ogc",
    }


ENCUESTA = {
    "satisfaccion": 4,
    "resuelto": True,
    "impulsores": dict.fromkeys(
        ["tiempo", "trato", "informacion", "acceso", "resultado", "confianza"], 4
    ),
    "comentario": "Bien.",
}

# (model, a valid body, the field's path) for every single-line text a person types.
UNA_LINEA_CAMPOS = [
    (HojaReclamacion, _hoja, "ciudadano.nombres"),
    (HojaReclamacion, _hoja, "ciudadano.apellidos"),
    (HojaReclamacion, _hoja, "ciudadano.direccion"),
    (HojaReclamacion, _hoja, "ciudadano.telefono"),
    (HojaReclamacion, _hoja, "sede"),
    (HojaReclamacion, _hoja, "adjuntos.0.nombre"),
    (HojaReclamacion, _menor, "ciudadano.representante.nombres"),
    (HojaReclamacion, _menor, "ciudadano.representante.apellidos"),
    (Desistimiento, lambda: {"numero_documento": "45678912", "razon": "Ya me atendieron"}, "razon"),
    (Reasignacion, lambda: {"unidad_id": "ogc", "razon": "Le corresponde"}, "razon"),
    (Traslado, lambda: {"entidad_id": "sunat", "razon": "Es competente"}, "razon"),
    (DiaNoLaborable, lambda: {"motivo": "Decreto Supremo 1"}, "motivo"),
    (Entidad, _entidad, "nombre"),
    (Entidad, _entidad, "tipo"),
    (Entidad, _entidad, "unidades.0.nombre"),
    (Entidad, _entidad, "unidades.0.responsable.nombre"),
    (Entidad, _entidad, "unidades.0.alterno.nombre"),
    (Entidad, _entidad, "reglas.0.sede"),
]
# The texts that may have several lines.
VARIAS_LINEAS_CAMPOS = [
    (HojaReclamacion, _hoja, "descripcion"),
    (HojaReclamacion, _hoja, "pedido"),
    (
        Subsanacion,
        lambda: {"numero_documento": "45678912", "texto": "Adjunto la boleta."},
        "texto",
    ),
    (Respuesta, lambda: {"texto": "Se corrigió la atención."}, "texto"),
    (Observacion, lambda: {"observacion": "Falta la boleta de pago."}, "observacion"),
    (NotaIntervencion, lambda: {"nota": "Responda hoy mismo."}, "nota"),
    (RespuestaEncuesta, lambda: dict(ENCUESTA), "comentario"),
]


def _con(cuerpo: dict, ruta: str, cambio) -> dict:
    """`cuerpo` with the field at `ruta` (dot notation) replaced by cambio(old value)."""
    *padres, hoja = ruta.split(".")
    nodo: Any = cuerpo
    for parte in padres:
        nodo = nodo[int(parte)] if parte.isdigit() else nodo[parte]
    nodo[hoja] = cambio(nodo[hoja])
    return cuerpo


def _errores(modelo: type[BaseModel], cuerpo: dict) -> list[dict]:
    try:
        modelo.model_validate(cuerpo)
    except ValidationError as exc:
        return errores_legibles(exc)
    return []


def _valor(modelo: type[BaseModel], cuerpo: dict, ruta: str) -> Any:
    valor: Any = modelo.model_validate(cuerpo)
    for parte in ruta.split("."):
        valor = valor[int(parte)] if parte.isdigit() else getattr(valor, parte)
    return valor


@pytest.mark.parametrize(("modelo", "valido", "ruta"), UNA_LINEA_CAMPOS)
def test_campos_de_una_linea_rechazan_saltos_y_controles(modelo, valido, ruta):
    assert _errores(modelo, valido()) == []
    for control in CONTROLES:
        # In the middle: at either end, whitespace is trimmed before anything else.
        cuerpo = _con(valido(), ruta, lambda v, c=control: v[:2] + c + v[2:])
        assert _errores(modelo, cuerpo) == [{"campo": ruta, "mensaje": UNA_LINEA}], repr(control)


@pytest.mark.parametrize(("modelo", "valido", "ruta"), VARIAS_LINEAS_CAMPOS)
def test_textos_de_varias_lineas_guardan_solo_saltos_de_linea(modelo, valido, ruta):
    con_lineas = _con(valido(), ruta, lambda v: f"{v}\nSegunda línea.\r\nTercera.\rCuarta.")
    original = _valor(modelo, valido(), ruta)
    esperado = f"{original}\nSegunda línea.\nTercera.\nCuarta."
    assert _valor(modelo, con_lineas, ruta) == esperado
    for control in ["\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028"]:
        cuerpo = _con(valido(), ruta, lambda v, c=control: v[:2] + c + v[2:])
        esperado_error = [{"campo": ruta, "mensaje": VARIAS_LINEAS}]
        assert _errores(modelo, cuerpo) == esperado_error, repr(control)


@pytest.mark.parametrize(
    ("modelo", "valido", "ruta", "maximo"),
    [
        (HojaReclamacion, _hoja, "ciudadano.nombres", 100),
        (HojaReclamacion, _hoja, "ciudadano.direccion", 200),
        (HojaReclamacion, _hoja, "sede", 200),
        (HojaReclamacion, _hoja, "descripcion", 5000),
        (Desistimiento, lambda: {"numero_documento": "45678912", "razon": "Ya no"}, "razon", 1000),
        (Entidad, _entidad, "reglas.0.sede", 200),
        (RespuestaEncuesta, lambda: dict(ENCUESTA), "comentario", 2000),
    ],
)
def test_los_largos_siguen_siendo_de_caracteres(modelo, valido, ruta, maximo):
    """The line rule does not turn a string's length into a list's ("elementos")."""
    cuerpo = _con(valido(), ruta, lambda v: "a" * (maximo + 1))
    mensaje = f"Debe tener como máximo {maximo} caracteres"
    assert _errores(modelo, cuerpo) == [{"campo": ruta, "mensaje": mensaje}]


MUESTRAS = ["Rosa María", "Ñandú-O'Neill", "日本", "a\nb", "a\r\nb", "a\tb", "a\x00b", "a\u2028b"]


def _patron(esquema: dict, *ruta: str) -> str:
    nodo = esquema
    for parte in ruta:
        nodo = nodo[parte]
    for opcion in [nodo, *nodo.get("anyOf", [])]:  # an optional field's: beside its anyOf
        if "pattern" in opcion:
            return opcion["pattern"]
    raise AssertionError(f"sin pattern en {ruta}")


@pytest.mark.parametrize(
    ("modelo", "ruta", "varias"),
    [
        (HojaReclamacion, ("$defs", "Ciudadano", "properties", "nombres"), False),
        (HojaReclamacion, ("properties", "sede"), False),
        (HojaReclamacion, ("properties", "descripcion"), True),
        (Entidad, ("$defs", "Unidad", "properties", "nombre"), False),
    ],
)
def test_el_esquema_publica_lo_que_se_acepta(modelo, ruta, varias):
    """The JSON schema's pattern (what a client or a fuzzer reads) accepts exactly what the
    validator accepts."""
    patron = re.compile(_patron(modelo.model_json_schema(), *ruta))
    for muestra in MUESTRAS:
        aceptada = "\n" not in muestra.replace("\r", "\n") or varias
        aceptada = aceptada and not re.search(r"[\t\x00\u2028]", muestra)
        assert bool(patron.fullmatch(muestra)) is aceptada, repr(muestra)


# --- the gateway forwards the supervisor's reason -------------------------------------------------


class Grabadora:
    def __init__(self) -> None:
        self.llamadas: list[dict] = []

    async def llamar(self, request, servicio, metodo, ruta, quien, json=None, params=None, **kw):
        self.llamadas.append({"ruta": ruta, "params": params})
        return JSONResponse({"items": [], "siguiente": None})


def _gateway(grabadora: Grabadora) -> TestClient:
    app = FastAPI()
    app.include_router(bandeja.router)
    app.dependency_overrides[servicios] = lambda: grabadora
    app.dependency_overrides[quien_llama] = lambda: Credencial(rol="supervisor")
    return TestClient(app)


MOTIVO = "Queja de la Defensoría 123-2027"


def test_gateway_reenvia_el_motivo_de_acceso():
    grabadora = Grabadora()
    cliente = _gateway(grabadora)
    assert cliente.get("/bandeja", params={"motivo_acceso": MOTIVO}).status_code == 200
    assert grabadora.llamadas[-1]["params"]["motivo_acceso"] == MOTIVO
    r = cliente.get("/bandeja/R-ABCD-2345-WXYZ", params={"motivo_acceso": MOTIVO})
    assert r.status_code == 200
    assert grabadora.llamadas[-1] == {
        "ruta": "/bandeja/R-ABCD-2345-WXYZ",
        "params": {"motivo_acceso": MOTIVO},
    }
    cliente.get("/bandeja/R-ABCD-2345-WXYZ")
    assert not (grabadora.llamadas[-1]["params"] or {}).get("motivo_acceso")


@pytest.mark.parametrize("motivo", ["corto", "Queja de la\nDefensoría", "x" * 501])
@pytest.mark.parametrize("ruta", ["/bandeja", "/bandeja/R-ABCD-2345-WXYZ"])
def test_gateway_rechaza_un_motivo_invalido(ruta, motivo):
    grabadora = Grabadora()
    r = _gateway(grabadora).get(ruta, params={"motivo_acceso": motivo})
    assert r.status_code == 422
    assert grabadora.llamadas == []
