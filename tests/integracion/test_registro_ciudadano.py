"""What the citizen does on a reclamo with código + document (issue 6): subsanación and
desistimiento, in registro against the real store, their events relayed to the real broker.

registro's web app runs in-process (Flask test client) on the test's database; the events other
services would send are applied with registro's own handlers through a real Despachador."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pika
import pytest
from pymongo.database import Database

from comun import reloj
from comun.bus import Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.eventos import (
    Datos,
    EntidadActualizada,
    Evento,
    ReclamoDerivado,
    ReclamoEnAtencion,
    ReclamoObservado,
    ReclamoRespondido,
    SubsanacionAbierta,
    nuevo_evento,
)
from comun.metricas import Metricas
from comun.outbox import Relay
from servicios.registro.manejadores import manejadores
from tests import esperas

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

TOKEN = "token-interno-de-prueba-0123456789"
DNI = "45678912"
ENTIDAD = {
    "id": "sunat",
    "nombre": "Superintendencia Nacional de Aduanas y de Administración Tributaria",
    "tipo": "organismo",
    "unidades": [
        {
            "id": "atencion",
            "nombre": "Atención al Contribuyente",
            "responsable": {"nombre": "Ana Torres", "email": "ana@sunat.example"},
        }
    ],
    "unidad_por_defecto": "atencion",
}


def hoja() -> dict:
    return {
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": DNI},
            "nombres": "Rosa María",
            "apellidos": "Quispe Huamán",
            "telefono": "987654321",
        },
        "entidad_id": "sunat",
        "ocurrido_en": (reloj.ahora() - timedelta(days=2)).isoformat(),
        "motivo": "tiempo",
        "descripcion": "Esperé tres horas para ser atendida y nadie me dio información.",
        "pedido": "Que mejoren el sistema de turnos.",
        "medio_respuesta": "telefono",
        "acepta_privacidad": True,
    }


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def reloj_archivo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    archivo = tmp_path / "reloj"
    archivo.write_text("0")
    monkeypatch.setenv("RELOJ_ARCHIVO", str(archivo))
    return archivo


@pytest.fixture
def registro(mongo_url, db: Database, amqp_url, bus_nombre, reloj_archivo, monkeypatch):
    """registro's web app on the test's database."""
    from servicios.registro.service import crear_app

    for nombre, valor in {
        "MONGO_URL": mongo_url,
        "MONGO_DB": db.name,
        "TOKEN_INTERNO": TOKEN,
        "AMQP_URL": amqp_url,
        "BUS_NOMBRE": bus_nombre,
        "URL_PORTAL": "https://reclamos.example.pe/",
    }.items():
        monkeypatch.setenv(nombre, valor)
    return Ciudadano(crear_app().test_client(), db)


class Ciudadano:
    """Calls registro as the gateway does for an anonymous citizen, and plays the other services."""

    def __init__(self, cliente, db: Database) -> None:
        self.cliente = cliente
        self.db = db
        self.despachador = Despachador(db, "registro", manejadores(db), Metricas("registro"))
        self.recibir(
            "catalogo.entidad_actualizada", EntidadActualizada.model_validate({"entidad": ENTIDAD})
        )

    def post(self, ruta: str, cuerpo: dict, clave: str | None = None):
        cabeceras = {"X-Token-Interno": TOKEN, "X-Rol": "ciudadano", "X-Request-Id": "prueba"}
        if clave:
            cabeceras["Idempotency-Key"] = clave
        return self.cliente.post(ruta, json=cuerpo, headers=cabeceras)

    def presentar(self) -> str:
        r = self.post("/reclamos", hoja())
        assert r.status_code == 201, r.get_json()
        codigo = r.get_json()["codigo"]
        self.recibir("reclamo.derivado", self.derivado(), codigo)
        return codigo

    @staticmethod
    def derivado() -> ReclamoDerivado:
        return ReclamoDerivado(
            entidad_id="sunat", unidad_id="atencion", unidad_nombre="Atención", por_regla=False
        )

    def recibir(self, tipo: str, datos: Datos, codigo: str | None = None, **kw) -> Evento:
        evento = nuevo_evento(tipo, datos, fuente="prueba", codigo=codigo, **kw)
        self.despachador(evento, datos)
        return evento

    def observar(self, codigo: str, dias: float = 2) -> Evento:
        observado = self.recibir(
            "reclamo.observado",
            ReclamoObservado(
                entidad_id="sunat",
                unidad_id="atencion",
                observacion="Adjunte copia del ticket de atención que le entregaron.",
            ),
            codigo,
        )
        self.recibir(
            "plazo.subsanacion_abierta",
            SubsanacionAbierta(
                entidad_id="sunat",
                observacion_id=observado.id,
                subsanar_hasta=reloj.ahora() + timedelta(days=dias),
                dias_habiles=2,
                reloj_pausado=True,
            ),
            codigo,
        )
        return observado

    def seguir(self, codigo: str, documento: str = DNI):
        return self.post("/seguimiento", {"codigo": codigo, "numero_documento": documento})

    def subsanar(self, codigo: str, documento: str = DNI, clave: str | None = None, **extra):
        cuerpo = {
            "numero_documento": documento,
            "texto": "Adjunto el ticket número 1234 que me entregaron.",
            "adjuntos": [{"nombre": "ticket.jpg", "tipo_mime": "image/jpeg", "tamano_bytes": 9000}],
            **extra,
        }
        return self.post(f"/reclamos/{codigo}/subsanacion", cuerpo, clave)

    def desistir(self, codigo: str, documento: str = DNI, clave: str | None = None):
        cuerpo = {"numero_documento": documento, "razon": "Ya me atendieron en otra sede."}
        return self.post(f"/reclamos/{codigo}/desistimiento", cuerpo, clave)

    def emitidos(self, tipo: str) -> list[dict]:
        return [d["evento"] for d in self.db.outbox.find({"evento.tipo": tipo})]


@pytest.fixture
def canal(amqp_url: str) -> Iterator:
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    yield conexion.channel()
    if conexion.is_open:
        conexion.close()


# --- subsanación --------------------------------------------------------------------------------


def test_subsanacion_en_plazo_pasa_a_subsanado_y_publica_el_evento(
    registro: Ciudadano, canal, amqp_url, bus_nombre
):
    codigo = registro.presentar()
    registro.observar(codigo)
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "observado"
    assert visto["observacion"] == "Adjunte copia del ticket de atención que le entregaron."
    assert visto["subsanar_hasta"] is not None
    assert visto["reloj_pausado"] is True

    r = registro.subsanar(codigo, clave="subsanar-1")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["codigo"] == codigo
    assert r.get_json()["estado"] == "subsanado"
    assert "Recibimos la información" in r.get_json()["mensaje"]
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "subsanado"
    assert visto["observacion"] is None and visto["subsanar_hasta"] is None
    assert visto["reloj_pausado"] is False
    ultimo = visto["historial"][-1]
    assert ultimo["estado"] == "subsanado"
    assert "Usted envió la información que pidió la entidad" in ultimo["texto"]

    # The same request retried with its key gets the first answer; nothing happens twice.
    otra = registro.subsanar(codigo, clave="subsanar-1")
    assert otra.status_code == 200 and otra.get_json() == r.get_json()
    [evento] = registro.emitidos("reclamo.subsanado")
    assert evento["codigo"] == codigo
    assert evento["datos"]["entidad_id"] == "sunat"
    assert evento["datos"]["adjuntos"] == [
        {"nombre": "ticket.jpg", "tipo_mime": "image/jpeg", "bytes": 9000}
    ]
    assert evento["correlacion"] == "prueba"

    # The outbox reaches the broker.
    topo = Topologia(bus_nombre)
    declarar(canal, topo, bus_nombre.servicio("derivacion"), ["reclamo.subsanado"])
    publicador = Publicador(amqp_url, topo)
    try:
        relay = Relay(registro.db, publicador, Metricas("registro"))
        esperas.esperar(lambda: relay.una_vuelta() or None, "el relay publica")
    finally:
        publicador.cerrar()
    metodo, propiedades, _ = esperas.esperar(
        lambda: (lambda r: r if r[0] else None)(
            canal.basic_get(topo.cola("derivacion"), auto_ack=True)
        ),
        "reclamo.subsanado llega a la cola de derivacion",
    )
    assert metodo.routing_key == "reclamo.subsanado"
    assert propiedades.message_id == evento["id"]


def test_subsanacion_fuera_de_plazo_es_409_y_no_cambia_nada(
    registro: Ciudadano, reloj_archivo: Path
):
    codigo = registro.presentar()
    registro.observar(codigo, dias=2)
    reloj.adelantar(reloj_archivo, dias=3)

    r = registro.subsanar(codigo)

    assert r.status_code == 409
    assert r.get_json()["error"] == "plazo_vencido"
    assert "venció" in r.get_json()["mensaje"]
    assert registro.seguir(codigo).get_json()["estado"] == "observado"
    assert registro.emitidos("reclamo.subsanado") == []


def test_subsanacion_sin_observacion_es_409_con_el_estado(registro: Ciudadano):
    codigo = registro.presentar()

    r = registro.subsanar(codigo)

    assert r.status_code == 409
    assert r.get_json()["error"] == "transicion_invalida"
    assert "Un reclamo en estado derivado no puede subsanarse" in r.get_json()["mensaje"]
    assert registro.emitidos("reclamo.subsanado") == []


def test_subsanacion_antes_de_conocer_el_plazo_se_acepta(registro: Ciudadano):
    # plazos' subsanacion_abierta is still on its way: the observación is only moments old.
    codigo = registro.presentar()
    registro.recibir(
        "reclamo.observado",
        ReclamoObservado(entidad_id="sunat", unidad_id="atencion", observacion="Falta el DNI."),
        codigo,
    )
    assert registro.subsanar(codigo).status_code == 200


def test_documento_o_codigo_equivocado_da_el_mismo_404(registro: Ciudadano):
    codigo = registro.presentar()
    registro.observar(codigo)
    seguimiento = registro.seguir(codigo, "87654321")
    otro_codigo = "R-2222-3333-4444"

    respuestas = [
        registro.subsanar(codigo, "87654321"),
        registro.subsanar(otro_codigo),
        registro.desistir(codigo, "87654321"),
        registro.desistir(otro_codigo),
    ]

    assert seguimiento.status_code == 404
    for r in respuestas:
        assert r.status_code == 404
        assert r.get_json() == seguimiento.get_json()
    assert registro.seguir(codigo).get_json()["estado"] == "observado"
    assert registro.db.outbox.count_documents({"evento.tipo": {"$ne": "reclamo.registrado"}}) == 0


def test_subsanacion_valida_el_cuerpo(registro: Ciudadano):
    codigo = registro.presentar()
    registro.observar(codigo)
    grande = {"nombre": "a.pdf", "tipo_mime": "application/pdf", "tamano_bytes": 15 * 1024 * 1024}

    corto = registro.subsanar(codigo, texto="poco")
    pesado = registro.subsanar(codigo, adjuntos=[grande, grande])

    assert corto.status_code == 422
    assert corto.get_json()["detalle"][0]["campo"] == "texto"
    assert pesado.status_code == 422
    assert pesado.get_json()["detalle"][0]["campo"] == "adjuntos"


# --- desistimiento ------------------------------------------------------------------------------


@pytest.mark.parametrize("estado", ["derivado", "en_atencion", "observado"])
def test_desistimiento_antes_de_la_respuesta(registro: Ciudadano, estado: str):
    codigo = registro.presentar()
    if estado == "en_atencion":
        registro.recibir(
            "reclamo.en_atencion",
            ReclamoEnAtencion(entidad_id="sunat", unidad_id="atencion"),
            codigo,
        )
    elif estado == "observado":
        registro.observar(codigo)
    assert registro.seguir(codigo).get_json()["estado"] == estado

    r = registro.desistir(codigo, clave="desistir-1")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["estado"] == "desistido"
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "desistido"
    assert visto["historial"][-1]["estado"] == "desistido"
    assert "Usted desistió de su reclamo" in visto["historial"][-1]["texto"]
    [evento] = registro.emitidos("reclamo.desistido")
    assert evento["datos"] == {"entidad_id": "sunat", "razon": "Ya me atendieron en otra sede."}
    assert registro.desistir(codigo, clave="desistir-1").get_json() == r.get_json()

    otra = registro.desistir(codigo)  # a new request, not a retry

    assert otra.status_code == 409
    assert "Un reclamo en estado desistido no puede desistirse" in otra.get_json()["mensaje"]
    assert len(registro.emitidos("reclamo.desistido")) == 1


def test_desistimiento_tras_la_respuesta_es_409_con_el_estado(registro: Ciudadano):
    codigo = registro.presentar()
    registro.recibir(
        "reclamo.respondido",
        ReclamoRespondido(
            entidad_id="sunat", respuesta="Se reforzó el personal.", respondido_en=reloj.ahora()
        ),
        codigo,
    )

    r = registro.desistir(codigo)

    assert r.status_code == 409
    assert r.get_json()["error"] == "transicion_invalida"
    assert "Un reclamo en estado respondido no puede desistirse" in r.get_json()["mensaje"]
    assert registro.emitidos("reclamo.desistido") == []


def test_desistimiento_usa_la_entidad_actual_tras_un_traslado(registro: Ciudadano):
    from comun.eventos import ReclamoTrasladado

    codigo = registro.presentar()
    registro.recibir(
        "reclamo.trasladado",
        ReclamoTrasladado(
            entidad_anterior_id="sunat",
            entidad_id="minsa",
            entidad_nombre="Ministerio de Salud",
            razon="El hecho ocurrió en un hospital.",
        ),
        codigo,
    )

    assert registro.desistir(codigo).status_code == 200
    [evento] = registro.emitidos("reclamo.desistido")
    assert evento["datos"]["entidad_id"] == "minsa"


def test_desistido_no_lo_cambia_un_evento_de_antes_pero_si_la_respuesta(registro: Ciudadano):
    """registro's desistido is provisional: derivacion, which owns the states, ignores it once it
    answered; any other event that was already on its way does not reopen it."""
    codigo = registro.presentar()
    antes = reloj.ahora()
    assert registro.desistir(codigo).status_code == 200

    registro.recibir(
        "reclamo.en_atencion",
        ReclamoEnAtencion(entidad_id="sunat", unidad_id="atencion"),
        codigo,
        ocurrido_en=reloj.ahora(),  # in flight when derivacion had not yet seen the desistimiento
    )
    assert registro.seguir(codigo).get_json()["estado"] == "desistido"

    registro.recibir(
        "reclamo.respondido",
        ReclamoRespondido(entidad_id="sunat", respuesta="Atendido.", respondido_en=antes),
        codigo,
        ocurrido_en=antes,  # answered before the desistimiento reached derivacion
    )
    assert registro.seguir(codigo).get_json()["estado"] == "respondido"
