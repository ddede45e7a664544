"""What a reader sees of the citizen (issue 7, findings 6 and 7), in the services themselves.

A supervisor reads the bandeja with the citizen's identity masked (document, names, email,
phone); giving a reason (`motivo_acceso`, 10 characters or more) shows it, and the access is
recorded first in derivacion's store: who (role, the key's name when the gateway forwards it,
the request id), when, which códigos, why. The entity that answers sees its citizens whole.

Names and single-line fields with a line break or a control character are refused with a 422
naming the field, in Spanish, and nothing is written.

Real store; the Flask apps called as the gateway calls them, derivacion's handlers applied through
the Despachador as its worker applies them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.database import Database

from comun import reloj
from comun import servicio as servicio_comun
from comun.consumo import Despachador
from comun.eventos import Contacto, ReclamoRegistrado, nuevo_evento
from comun.metricas import Metricas
from servicios.derivacion.manejadores import manejadores
from tests.integracion.ciudadano import hoja
from tests.integracion.servicios import app_de_servicio, como

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

UNA_LINEA = "No puede contener saltos de línea ni caracteres de control"
MOTIVO = "Queja 123-2027 de la Defensoría del Pueblo"
ENTIDAD = como("entidad", "minsa")
SUPERVISOR = como("supervisor", **{"X-Request-Id": "sol-42", "X-Credencial": "pdr_AbCdEf"})
MINSA = {
    "id": "minsa",
    "nombre": "Ministerio de Salud",
    "tipo": "ministerio",
    "unidades": [
        {
            "id": "ogc",
            "nombre": "Oficina de Gestión del Ciudadano",
            "responsable": {"nombre": "Titular", "email": "ogc@ejemplo.pe"},
        },
        {
            "id": "farmacia",
            "nombre": "Dirección de Farmacia",
            "responsable": {"nombre": "Titular", "email": "farmacia@ejemplo.pe"},
        },
    ],
    "unidad_por_defecto": "ogc",
}
CIUDADANOS = {
    "R-AAAA-2345-BBBB": Contacto(
        tipo_documento="dni",
        numero_documento="45678912",
        nombres="Rosa María",
        apellidos="Quispe Huamán",
        email="maria@gmail.com",
        telefono="+51987654321",
    ),
    "R-CCCC-2345-DDDD": Contacto(
        tipo_documento="ruc",
        numero_documento="20100070970",
        nombres="Empresa",
        apellidos="Andina",
        email=None,
        telefono="987654321",
    ),
}
ENMASCARADOS = {
    "R-AAAA-2345-BBBB": {
        "tipo_documento": "dni",
        "numero_documento": "4567****",
        "nombres": "R. M.",
        "apellidos": "Q. H.",
        "email": "m****@gmail.com",
        "telefono": "+********321",
    },
    "R-CCCC-2345-DDDD": {
        "tipo_documento": "ruc",
        "numero_documento": "2010*******",
        "nombres": "E.",
        "apellidos": "A.",
        "email": None,
        "telefono": "******321",
    },
}


class Derivacion:
    def __init__(self, db: Database, cliente) -> None:
        self.db = db
        self.cliente = cliente
        self.despachador = Despachador(db, "derivacion", manejadores(db), Metricas("derivacion"))

    def get(self, ruta: str, quien: dict, **params):
        return self.cliente.get(ruta, headers=quien, query_string=params)

    def registrar(self, codigo: str, contacto: Contacto) -> None:
        datos = ReclamoRegistrado(
            entidad_id="minsa",
            canal="virtual",
            motivo="trato",
            ocurrido_en=reloj.ahora() - timedelta(days=1),
            registrado_en=reloj.ahora(),
            descripcion="Me atendieron mal en ventanilla.",
            pedido="Que me atiendan bien.",
            medio_respuesta="telefono",
            contacto=contacto,
        )
        evento = nuevo_evento("reclamo.registrado", datos, fuente="registro", codigo=codigo)
        assert self.despachador.aplicar(evento, datos)

    def accesos(self) -> list[dict]:
        return list(self.db.accesos.find({}, {"_id": 0}).sort("en", 1))


@pytest.fixture
def derivacion(mongo_url, db: Database, amqp_url, monkeypatch) -> Derivacion:
    monkeypatch.setattr(servicio_comun, "configurar_logs", lambda *a, **k: None)
    app = app_de_servicio(monkeypatch, "derivacion", db, mongo_url, amqp_url, RELOJ_ARCHIVO=None)
    servicio = Derivacion(db, app.test_client())
    r = servicio.cliente.put("/catalogo/entidades/minsa", json=MINSA, headers=como("operador"))
    assert r.status_code == 200, r.get_json()
    for codigo, contacto in CIUDADANOS.items():
        servicio.registrar(codigo, contacto)
    return servicio


def contactos(items: list[dict]) -> dict[str, dict]:
    return {i["codigo"]: i["contacto"] for i in items}


# --- finding 6: the supervisor's view -------------------------------------------------------------


def test_supervisor_ve_la_identidad_enmascarada(derivacion):
    r = derivacion.get("/bandeja", SUPERVISOR)
    assert r.status_code == 200, r.get_json()
    assert contactos(r.get_json()["items"]) == ENMASCARADOS
    for codigo, enmascarado in ENMASCARADOS.items():
        r = derivacion.get(f"/bandeja/{codigo}", SUPERVISOR)
        assert r.status_code == 200 and r.get_json()["contacto"] == enmascarado
    # The rest of the reclamo is there: the supervisor can follow it.
    assert r.get_json()["descripcion"] == "Me atendieron mal en ventanilla."
    assert derivacion.accesos() == []


def test_la_entidad_ve_a_sus_ciudadanos(derivacion):
    completos = {c: contacto.model_dump() for c, contacto in CIUDADANOS.items()}
    assert contactos(derivacion.get("/bandeja", ENTIDAD).get_json()["items"]) == completos
    r = derivacion.get("/bandeja/R-AAAA-2345-BBBB", ENTIDAD)
    assert r.get_json()["contacto"] == completos["R-AAAA-2345-BBBB"]
    assert derivacion.accesos() == []


def test_con_motivo_el_supervisor_ve_la_identidad_y_queda_registrado(derivacion):
    antes = datetime.now(UTC)
    r = derivacion.get("/bandeja/R-AAAA-2345-BBBB", SUPERVISOR, motivo_acceso=MOTIVO)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["contacto"] == CIUDADANOS["R-AAAA-2345-BBBB"].model_dump()
    pagina = derivacion.get("/bandeja", SUPERVISOR, motivo_acceso=MOTIVO, limite=1)
    mostrados = [i["codigo"] for i in pagina.get_json()["items"]]
    assert len(mostrados) == 1
    assert pagina.get_json()["items"][0]["contacto"] == CIUDADANOS[mostrados[0]].model_dump()
    despues = datetime.now(UTC)

    accesos = derivacion.accesos()
    for acceso in accesos:
        assert antes - timedelta(seconds=1) <= acceso.pop("en") <= despues
    quien = {"rol": "supervisor", "credencial": "pdr_AbCdEf", "solicitud": "sol-42"}
    assert accesos == [
        {
            **quien,
            "ruta": "/bandeja/<codigo>",
            "codigos": ["R-AAAA-2345-BBBB"],
            "motivo": MOTIVO,
        },
        {**quien, "ruta": "/bandeja", "codigos": mostrados, "motivo": MOTIVO},
    ]


@pytest.mark.parametrize(
    ("motivo", "mensaje"),
    [
        ("corto", "Debe tener al menos 10 caracteres"),
        ("Queja de la\nDefensoría", UNA_LINEA),
        ("x" * 501, "Debe tener como máximo 500 caracteres"),
    ],
)
@pytest.mark.parametrize("ruta", ["/bandeja", "/bandeja/R-AAAA-2345-BBBB"])
def test_motivo_invalido_422_sin_mostrar_nada(derivacion, ruta, motivo, mensaje):
    r = derivacion.get(ruta, SUPERVISOR, motivo_acceso=motivo)
    assert r.status_code == 422
    assert r.get_json() == {
        "error": "datos_invalidos",
        "mensaje": "Hay datos inválidos.",
        "detalle": [{"campo": "motivo_acceso", "mensaje": mensaje}],
    }
    assert derivacion.accesos() == []


def test_sin_reclamo_no_hay_acceso_registrado(derivacion):
    r = derivacion.get("/bandeja/R-ZZZZ-2345-ZZZZ", SUPERVISOR, motivo_acceso=MOTIVO)
    assert r.status_code == 404
    assert derivacion.accesos() == []


def test_cabeceras_de_forma_extrana_no_se_guardan(derivacion):
    raro = como("supervisor", **{"X-Request-Id": "a b\tc", "X-Credencial": "x" * 101})
    r = derivacion.get("/bandeja/R-AAAA-2345-BBBB", raro, motivo_acceso=MOTIVO)
    assert r.status_code == 200
    [acceso] = derivacion.accesos()
    assert acceso["credencial"] is None and acceso["solicitud"] is None


# --- finding 7: line breaks in names and single-line fields ---------------------------------------


def test_hoja_con_salto_de_linea_en_el_nombre_422(registro):
    cuerpo = hoja()
    cuerpo["ciudadano"]["nombres"] = "Rosa\nBcc: todos@ejemplo.pe"
    cuerpo["sede"] = "Sede\r\ncentral"
    r = registro.post("/reclamos", cuerpo)
    assert r.status_code == 422
    assert r.get_json() == {
        "error": "datos_invalidos",
        "mensaje": "Hay datos inválidos.",
        "detalle": [
            {"campo": "ciudadano.nombres", "mensaje": UNA_LINEA},
            {"campo": "sede", "mensaje": UNA_LINEA},
        ],
    }
    assert registro.db.reclamos.count_documents({}) == 0
    assert registro.db.outbox.count_documents({}) == 0


def test_hoja_con_descripcion_de_varias_lineas_se_registra(registro):
    cuerpo = hoja()
    cuerpo["descripcion"] = "Esperé tres horas.\r\nNadie me dio información."
    r = registro.post("/reclamos", cuerpo)
    assert r.status_code == 201, r.get_json()
    guardado = registro.db.reclamos.find_one({"_id": r.get_json()["codigo"]})
    assert guardado["hoja"]["descripcion"] == "Esperé tres horas.\nNadie me dio información."


def test_razon_de_reasignacion_con_salto_de_linea_422(derivacion):
    r = derivacion.cliente.post(
        "/bandeja/R-AAAA-2345-BBBB/reasignacion",
        json={"unidad_id": "farmacia", "razon": "Le toca\na farmacia"},
        headers=ENTIDAD,
    )
    assert r.status_code == 422
    assert r.get_json()["detalle"] == [{"campo": "razon", "mensaje": UNA_LINEA}]
    assert derivacion.db.bandeja.find_one({"_id": "R-AAAA-2345-BBBB"})["unidad_id"] == "ogc"


def test_catalogo_con_salto_de_linea_en_un_nombre_422(derivacion):
    entidad = {**MINSA, "nombre": "Ministerio\nde Salud"}
    r = derivacion.cliente.put("/catalogo/entidades/minsa", json=entidad, headers=como("operador"))
    assert r.status_code == 422
    assert r.get_json()["detalle"] == [{"campo": "nombre", "mensaje": UNA_LINEA}]
    assert derivacion.db.entidades.find_one({"_id": "minsa"})["entidad"]["nombre"] == (
        "Ministerio de Salud"
    )
