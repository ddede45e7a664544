"""derivacion's bandeja in hand (issue 10): a reclamo's events applied in one transaction (a
batch brings them along, comun.bus.Turnos) read its document once and write it once; the
document and its report figures end as when the events come one by one."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from pymongo.database import Database

from comun.consumo import Despachador
from comun.eventos import Evento
from comun.metricas import Metricas
from servicios.derivacion import dependencias
from servicios.derivacion.manejadores import SERVICIO, manejadores
from tests.integracion.pedidos import vigilada
from tests.integracion.test_derivacion_bandeja import (
    BASE,
    MINSA,
    calculado,
    recalculado,
    registrado,
)

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]


def _eventos(*codigos: str) -> list[list[Evento]]:
    """The same three events for each código: the same times and contents, their own ids."""
    vence = BASE + timedelta(days=40)
    # Their times apart: within one millisecond the recalculation would not be the later one.
    modelo = [
        registrado(codigos[0]),
        calculado(codigos[0], vence, ocurrido_en=BASE + timedelta(minutes=1)),
        recalculado(codigos[0], vence + timedelta(days=3), ocurrido_en=BASE + timedelta(minutes=2)),
    ]
    return [
        [e.model_copy(update={"codigo": c, "id": str(uuid.uuid4())}) for e in modelo]
        for c in codigos
    ]


def _sin_id(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "_id"}


def _cifras(db: Database) -> list:
    filas = [f for d in db.cifras_pendientes.find() for f in d["c"]]
    return sorted(map(repr, filas))


def test_los_eventos_de_un_reclamo_en_un_lote_leen_y_escriben_la_bandeja_una_vez(
    mongo_url, db: Database
):
    dependencias.preparar(db)
    db.entidades.insert_one({"_id": "minsa", "entidad": MINSA})
    # One by one (each in its own transaction): the reference.
    uno_a_uno = Despachador(db, SERVICIO, manejadores(db), Metricas("prueba"))
    eventos_a, eventos_b = _eventos("R-AAAA-BBBB-CCCC", "R-DDDD-EEEE-FFFF")
    for evento in eventos_a:
        uno_a_uno.aplicar(evento, evento.contenido())
    cifras_uno_a_uno = _cifras(db)
    db.cifras_pendientes.delete_many({})

    with vigilada(mongo_url, db.name) as (visto, pedidos):
        lote = Despachador(visto, SERVICIO, manejadores(visto), Metricas("prueba"))
        lote.aplicar_lote([(e, e.contenido()) for e in eventos_b])
        assert pedidos.nombres("bandeja") == ["find", "update"]

    referencia = db.bandeja.find_one({"_id": "R-AAAA-BBBB-CCCC"})
    en_lote = db.bandeja.find_one({"_id": "R-DDDD-EEEE-FFFF"})
    # The urgency key starts with the código's own sort key: compare the rest.
    assert en_lote["urgencia"].replace("R-DDDD-EEEE-FFFF", "") == referencia["urgencia"].replace(
        "R-AAAA-BBBB-CCCC", ""
    )
    assert _sin_id({**en_lote, "urgencia": ""}) == _sin_id({**referencia, "urgencia": ""})
    assert isinstance(en_lote["vence_en"], datetime)
    assert len(en_lote["historial"]) == 4  # registrado, derivado, plazo, nuevo plazo
    assert _cifras(db) == cifras_uno_a_uno
