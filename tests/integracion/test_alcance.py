"""Unit scope in the services themselves (issue 7, finding 5): a key limited to one unit of an
entity reads the plazo and the satisfaction indices of the reclamos that unit holds now, and no
other's, whatever the gateway does. plazos and encuestas learn the current unit from
reclamo.derivado and reclamo.reasignado, applied in any order and more than once.

Real store; each service's Flask app called as the gateway calls it (tests/integracion/servicios),
its handlers applied through the Despachador as its worker applies them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from pymongo.database import Database

from comun import almacen, outbox
from comun import servicio as servicio_comun
from comun.consumo import Despachador
from comun.eventos import (
    Evento,
    ReclamoDerivado,
    ReclamoReasignado,
    ReclamoRespondido,
    ReclamoTrasladado,
    nuevo_evento,
)
from comun.metricas import Metricas
from servicios.encuestas import dependencias as dependencias_encuestas
from servicios.encuestas.manejadores import manejadores as manejadores_encuestas
from tests.integracion.plazos import RECIBIDO, cliente_plazos, codigo, registrado
from tests.integracion.servicios import app_de_servicio, como

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

ENTIDAD = como("entidad", "minsa")
OGC = como("entidad", "minsa", "ogc")
FARMACIA = como("entidad", "minsa", "farmacia")
SUPERVISOR = como("supervisor")


def derivado(cod: str, unidad: str, en=RECIBIDO, entidad: str = "minsa") -> Evento:
    datos = ReclamoDerivado(
        entidad_id=entidad, unidad_id=unidad, unidad_nombre=unidad.title(), por_regla=False
    )
    return nuevo_evento("reclamo.derivado", datos, fuente="derivacion", codigo=cod, ocurrido_en=en)


def reasignado(cod: str, de: str, a: str, en) -> Evento:
    datos = ReclamoReasignado(
        entidad_id="minsa",
        unidad_anterior_id=de,
        unidad_id=a,
        unidad_nombre=a.title(),
        razon="Le corresponde",
    )
    return nuevo_evento(
        "reclamo.reasignado", datos, fuente="derivacion", codigo=cod, ocurrido_en=en
    )


def trasladado(cod: str, en) -> Evento:
    datos = ReclamoTrasladado(
        entidad_anterior_id="minsa", entidad_id="sunat", entidad_nombre="SUNAT", razon="Compete"
    )
    return nuevo_evento(
        "reclamo.trasladado", datos, fuente="derivacion", codigo=cod, ocurrido_en=en
    )


# --- plazos: GET /plazos/{codigo} ---------------------------------------------------------------


@pytest.fixture
def api(plazos_db, monkeypatch, mongo_url, amqp_url) -> FlaskClient:
    return cliente_plazos(monkeypatch, mongo_url, plazos_db, amqp_url)


def estados(api: FlaskClient, cod: str, *quienes: dict) -> list[int]:
    return [api.get(f"/plazos/{cod}", headers=quien).status_code for quien in quienes]


def test_plazo_solo_para_la_unidad_que_lo_tiene(despachar, api):
    en_ogc, en_farmacia = codigo(300), codigo(301)
    for cod, unidad in ((en_ogc, "ogc"), (en_farmacia, "farmacia")):
        assert despachar(registrado(cod))
        assert despachar(derivado(cod, unidad))
    assert estados(api, en_ogc, OGC, FARMACIA, ENTIDAD, SUPERVISOR) == [200, 404, 200, 200]
    assert estados(api, en_farmacia, OGC, FARMACIA, ENTIDAD, SUPERVISOR) == [404, 200, 200, 200]
    # Another entity's key with the same unit name sees nothing of minsa's.
    assert estados(api, en_ogc, como("entidad", "sunat", "ogc")) == [404]


def test_plazo_sigue_a_la_reasignacion(despachar, api):
    cod = codigo(302)
    assert despachar(registrado(cod))
    assert despachar(derivado(cod, "ogc"))
    assert despachar(reasignado(cod, "ogc", "farmacia", RECIBIDO + timedelta(hours=2)))
    assert estados(api, cod, OGC, FARMACIA) == [404, 200]
    assert despachar(reasignado(cod, "farmacia", "ogc", RECIBIDO + timedelta(hours=3)))
    assert estados(api, cod, OGC, FARMACIA) == [200, 404]


def test_unidad_en_cualquier_orden_y_dos_veces(despachar, api):
    """The latest by when it happened wins, whatever the arrival; a repeat changes nothing."""
    cod = codigo(303)
    primero = derivado(cod, "ogc")
    despues = reasignado(cod, "ogc", "farmacia", RECIBIDO + timedelta(hours=2))
    assert despachar(despues)  # the reasignación arrives first, before even the registration
    assert despachar(primero)
    assert despachar(registrado(cod))
    assert estados(api, cod, OGC, FARMACIA) == [404, 200]
    assert not despachar(primero)
    assert not despachar(despues)
    # The same facts again under new event ids (a re-publication): still the same unit.
    assert despachar(primero.model_copy(update={"id": "otro-derivado"}))
    assert estados(api, cod, OGC, FARMACIA) == [404, 200]


def test_unidad_sin_derivacion_conocida_no_ve_nada(despachar, api):
    cod = codigo(304)
    assert despachar(registrado(cod))
    assert estados(api, cod, OGC, FARMACIA, ENTIDAD) == [404, 404, 200]


def test_traslado_la_unidad_anterior_deja_de_verlo(despachar, api):
    cod = codigo(305)
    assert despachar(registrado(cod))
    assert despachar(derivado(cod, "ogc"))
    momento = RECIBIDO + timedelta(days=1)
    assert despachar(trasladado(cod, momento))
    mesa = como("entidad", "sunat", "mesa")
    # Before the new entity's derivado arrives: neither the old unit nor a unit of the new one.
    assert estados(api, cod, OGC, mesa, como("entidad", "sunat")) == [404, 404, 200]
    nuevo = derivado(cod, "mesa", momento + timedelta(milliseconds=1), entidad="sunat")
    assert despachar(nuevo)
    assert estados(api, cod, OGC, mesa, como("entidad", "sunat", "ogc")) == [404, 200, 404]


# --- encuestas: GET /indices ----------------------------------------------------------------------

RESPUESTA = {
    "satisfaccion": 2,
    "resuelto": False,
    "impulsores": {
        "tiempo": 1,
        "trato": 2,
        "informacion": 3,
        "acceso": 4,
        "resultado": 5,
        "confianza": 2,
    },
}


class Encuestas:
    def __init__(self, db: Database, cliente: FlaskClient) -> None:
        self.db = db
        self.cliente = cliente
        tabla = manejadores_encuestas(db)
        self.despachador = Despachador(db, "encuestas", tabla, Metricas("encuestas"))

    def recibir(self, evento: Evento) -> bool:
        return self.despachador.aplicar(evento, evento.contenido())

    def responder(self, cod: str, satisfaccion: int) -> None:
        """reclamo.respondido to the handlers; then the citizen answers with the mailed token."""
        datos = ReclamoRespondido(
            entidad_id="minsa", respuesta="Atendido.", respondido_en=RECIBIDO + timedelta(days=3)
        )
        assert self.recibir(nuevo_evento("reclamo.respondido", datos, fuente="x", codigo=cod))
        creada = self.db.outbox.find_one({"evento.tipo": "encuesta.creada", "evento.codigo": cod})
        token = creada["evento"]["datos"]["token"]
        cuerpo = {**RESPUESTA, "satisfaccion": satisfaccion}
        r = self.cliente.post(f"/encuestas/{token}", json=cuerpo, headers=como("ciudadano"))
        assert r.status_code == 200, r.get_json()

    def indices(self, quien: dict, **params) -> list[dict]:
        r = self.cliente.get("/indices", headers=quien, query_string=params)
        assert r.status_code == 200, r.get_json()
        campos = ("entidad_id", "respuestas", "satisfaccion")
        return [{c: fila[c] for c in campos} for fila in r.get_json()]


@pytest.fixture
def encuestas(mongo_url, db: Database, amqp_url, reloj_archivo, monkeypatch) -> Encuestas:
    monkeypatch.setattr(servicio_comun, "configurar_logs", lambda *a, **k: None)
    almacen.asegurar_colecciones(db, "procesados", "outbox", "relay", "idempotencia")
    outbox.preparar(db)
    dependencias_encuestas.preparar(db)
    app = app_de_servicio(monkeypatch, "encuestas", db, mongo_url, amqp_url)
    return Encuestas(db, app.test_client())


def test_indices_de_la_unidad(encuestas):
    # ogc: 5 and 3 (avg 4.0); farmacia: 1; both derived before the answer.
    for cod, unidad, nota in ((codigo(310), "ogc", 5), (codigo(311), "ogc", 3)):
        assert encuestas.recibir(derivado(cod, unidad))
        encuestas.responder(cod, nota)
    assert encuestas.recibir(derivado(codigo(312), "farmacia"))
    encuestas.responder(codigo(312), 1)
    ogc = [{"entidad_id": "minsa", "respuestas": 2, "satisfaccion": 4.0}]
    farmacia = [{"entidad_id": "minsa", "respuestas": 1, "satisfaccion": 1.0}]
    toda = [{"entidad_id": "minsa", "respuestas": 3, "satisfaccion": 3.0}]
    assert encuestas.indices(OGC) == ogc
    assert encuestas.indices(FARMACIA) == farmacia
    assert encuestas.indices(ENTIDAD) == toda
    assert encuestas.indices(SUPERVISOR, entidad="minsa") == toda
    # A unit key cannot widen its scope with the query.
    assert encuestas.indices(OGC, entidad="minsa", unidad="farmacia") == ogc
    assert encuestas.indices(como("entidad", "minsa", "rrhh")) == []


def test_indices_unidad_en_cualquier_orden(encuestas):
    cod = codigo(313)
    tarde = reasignado(cod, "ogc", "farmacia", RECIBIDO + timedelta(hours=2))
    temprano = derivado(cod, "ogc")
    encuestas.responder(cod, 5)  # the answer first: its survey has no unit yet
    assert encuestas.indices(OGC) == []
    assert encuestas.recibir(tarde)
    assert encuestas.recibir(temprano)  # older: does not take it back to ogc
    assert encuestas.recibir(temprano.model_copy(update={"id": "repetido"}))
    farmacia = [{"entidad_id": "minsa", "respuestas": 1, "satisfaccion": 5.0}]
    assert encuestas.indices(FARMACIA) == farmacia
    assert encuestas.indices(OGC) == []


def test_indices_sin_entidad_no_son_de_todas(encuestas):
    assert encuestas.recibir(derivado(codigo(314), "ogc"))
    encuestas.responder(codigo(314), 4)
    r = encuestas.cliente.get("/indices", headers=como("entidad"))
    assert r.status_code == 403
    assert r.get_json()["error"] == "prohibido"
