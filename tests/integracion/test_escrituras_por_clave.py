"""registro's conditional writes find their reclamo by its key (issue 10).

The local store (SecantusDB) looks a written document up by `_id` only when the filter has no
operator at its top ($or, $and...); with one it scanned the whole `reclamos` collection for every
state change and deadline: ~29 ms instead of ~2 ms per write at 2,000 reclamos, and more with
every reclamo filed. What the handlers send is read off the wire (pymongo's command monitoring);
what they mean is checked on the documents, with events in and out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient, monitoring
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from comun.consumo import Despachador
from comun.eventos import (
    PlazoCalculado,
    ReclamoCerrado,
    ReclamoDerivado,
    ReclamoRespondido,
    nuevo_evento,
)
from comun.metricas import Metricas
from servicios.registro import dependencias
from servicios.registro.manejadores import SERVICIO, manejadores
from tests.integracion.pedidos import vigilada

pytestmark = pytest.mark.integracion

COD = "R-7K2M-9XPQ-4TWA"
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


class _Escrituras(monitoring.CommandListener):
    def __init__(self) -> None:
        self.filtros: list[dict] = []

    def started(self, event) -> None:
        if event.command_name == "update" and event.command.get("update") == "reclamos":
            self.filtros.extend(u["q"] for u in event.command["updates"])

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def _ev(tipo: str, datos, minutos: float):
    evento = nuevo_evento(
        tipo, datos, fuente="prueba", codigo=COD, ocurrido_en=T0 + timedelta(minutes=minutos)
    )
    return evento, datos


def _derivado(minutos: float):
    return _ev(
        "reclamo.derivado",
        ReclamoDerivado(
            entidad_id="minsa", unidad_id="ogc", unidad_nombre="Atención", por_regla=True
        ),
        minutos,
    )


def _respuesta() -> ReclamoRespondido:
    return ReclamoRespondido(
        entidad_id="minsa", respuesta="x" * 30, respondido_en=T0 + timedelta(hours=1)
    )


def _plazo(vence: datetime, minutos: float):
    datos = PlazoCalculado(
        entidad_id="minsa", fecha_recepcion=T0.date(), vence_en=vence, dias_habiles=30
    )
    return _ev("plazo.calculado", datos, minutos)


@pytest.fixture
def registro(mongo_url: str, db: Database):
    """registro's handlers on a client whose every command is watched, one reclamo filed."""
    dependencias.preparar(db)
    db.reclamos.insert_one(
        {"_id": COD, "entidad_id": "minsa", "estado": "registrado", "estado_en": T0}
    )
    escrituras = _Escrituras()
    cliente = MongoClient(mongo_url, tz_aware=True, event_listeners=[escrituras])
    vigilada = cliente[db.name]
    despachador = Despachador(vigilada, SERVICIO, manejadores(vigilada), Metricas("prueba"))
    yield despachador, escrituras
    cliente.close()


def test_cada_escritura_condicional_va_por_la_clave_del_reclamo(registro, db: Database):
    despachador, escrituras = registro
    vence = datetime(2027, 1, 8, 4, 59, 59, tzinfo=UTC)
    for evento, datos in (
        _derivado(1),
        _plazo(vence, 2),
        _ev("reclamo.respondido", _respuesta(), 60),
        _ev("reclamo.cerrado", ReclamoCerrado(entidad_id="minsa", motivo="x"), 90),
    ):
        despachador.aplicar(evento, datos)

    assert escrituras.filtros, "no se vio ninguna escritura"
    for filtro in escrituras.filtros:
        assert filtro.get("_id") == COD, filtro
        assert not [k for k in filtro if k.startswith("$")], filtro
    doc = db.reclamos.find_one({"_id": COD})
    assert doc["estado"] == "cerrado"
    assert doc["vence_en"] == vence
    assert doc["fecha_recepcion"] == "2026-11-23"
    assert doc["acceso"] == {"entidad_id": "minsa", "unidad_id": "ogc"}


def test_un_plazo_o_un_estado_que_llega_tarde_no_pisa_al_mas_reciente(registro, db: Database):
    despachador, _ = registro
    nuevo = datetime(2027, 1, 8, 4, 59, 59, tzinfo=UTC)
    viejo = nuevo - timedelta(days=7)
    for evento, datos in (
        _plazo(nuevo, 5),
        _plazo(viejo, 2),  # older, arrives later: its date is no longer true
        _ev("reclamo.respondido", _respuesta(), 60),
        _derivado(1),  # older than the answer: the state stays respondido
    ):
        despachador.aplicar(evento, datos)

    doc = db.reclamos.find_one({"_id": COD})
    assert doc["vence_en"] == nuevo
    assert doc["vence_en_de"] == T0 + timedelta(minutes=5)
    assert doc["fecha_recepcion"] == "2026-11-23"  # written by the late one too
    assert doc["estado"] == "respondido"
    assert doc["acceso"] == {"entidad_id": "minsa", "unidad_id": "ogc"}  # first it had


def test_la_respuesta_de_la_entidad_prevalece_sobre_un_desistimiento_que_ignoro(
    registro, db: Database
):
    """registro applies the citizen's desistimiento itself; derivacion, which answered first,
    ignored it: its definitive state wins even over a later, ended one."""
    despachador, _ = registro
    db.reclamos.update_one(
        {"_id": COD}, {"$set": {"estado": "desistido", "estado_en": T0 + timedelta(hours=2)}}
    )
    evento, datos = _ev("reclamo.respondido", _respuesta(), 60)
    despachador.aplicar(evento, datos)

    assert db.reclamos.find_one({"_id": COD})["estado"] == "respondido"


def test_un_lote_de_eventos_anota_el_historial_en_un_solo_pedido(mongo_url, db: Database):
    """A batch of events writes its timeline entries together (issue 10: one request per
    batch, not one per event); each entry is there once, and a failed batch leaves none."""
    dependencias.preparar(db)
    codigos = [f"R-7K2M-9XPQ-4TW{c}" for c in "BCDE"]
    db.reclamos.insert_many(
        [
            {"_id": c, "entidad_id": "minsa", "estado": "registrado", "estado_en": T0}
            for c in codigos
        ]
    )
    with vigilada(mongo_url, db.name) as (vista, pedidos):
        despachador = Despachador(vista, SERVICIO, manejadores(vista), Metricas("prueba"))
        datos = ReclamoDerivado(
            entidad_id="minsa", unidad_id="ogc", unidad_nombre="Atención", por_regla=True
        )
        lote = [
            (nuevo_evento("reclamo.derivado", datos, fuente="prueba", codigo=c), datos)
            for c in codigos
        ]
        despachador.aplicar_lote(lote)
        assert [len(cmd["documents"]) for cmd in pedidos.de("insert", "seguimiento")] == [4]

        # A batch that fails (its last event was applied already) leaves no entry behind.
        otro = nuevo_evento("reclamo.derivado", datos, fuente="prueba", codigo=codigos[0])
        with pytest.raises(BulkWriteError):
            despachador.aplicar_lote([(otro, datos), lote[1]])

    entradas = list(db.seguimiento.find({}, {"codigo": 1, "estado": 1}))
    assert sorted(e["_id"] for e in entradas) == sorted(e.id for e, _ in lote)
    assert {e["codigo"] for e in entradas} == set(codigos)
    assert {e["estado"] for e in entradas} == {"derivado"}
    assert db.seguimiento.count_documents({"_id": otro.id}) == 0


def test_una_derivacion_en_orden_escribe_el_reclamo_una_vez(registro, db: Database):
    """derivado sets who may read the files and the state: in the usual order of events both
    go in one write (issue 10: each document written costs the store); out of order, each by its
    own rule (the tests above)."""
    despachador, escrituras = registro
    despachador.aplicar(*_derivado(1))

    assert len(escrituras.filtros) == 1, escrituras.filtros
    doc = db.reclamos.find_one({"_id": COD})
    assert doc["estado"] == "derivado"
    assert doc["estado_en"] == T0 + timedelta(minutes=1)
    assert doc["acceso"] == {"entidad_id": "minsa", "unidad_id": "ogc"}
    assert doc["acceso_en"] == T0 + timedelta(minutes=1)


def test_una_derivacion_tardia_da_el_acceso_y_no_toca_el_estado(registro, db: Database):
    """The state moved on (respondido) but no later derivation set the access: the access is
    the late one's, the state stays."""
    despachador, _ = registro
    despachador.aplicar(*_ev("reclamo.respondido", _respuesta(), 60))
    despachador.aplicar(*_derivado(1))

    doc = db.reclamos.find_one({"_id": COD})
    assert doc["estado"] == "respondido"
    assert doc["acceso"] == {"entidad_id": "minsa", "unidad_id": "ogc"}
