"""plazos' handlers, events into a real store (STYLE.md: one event in, the projection checked, out
of order and twice), and what each event costs the store: a reclamo's clock is read once and
written once per event (issue 10; it was read three times, then written twice). Dates
hand-counted in tests/integracion/plazos.py: received Tue 24 Nov 2026 → due Mon 11 Jan 2027;
answered Fri 4 Dec 2026 → Nov 25, 26, 27, 30, Dec 1, 2, 3, 4 = 8 business days, within the
term."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.database import Database

from comun.eventos import Evento
from tests.integracion import plazos
from tests.integracion.pedidos import vigilada
from tests.integracion.test_bus import derivado

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]

RESPONDIDO = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # Friday 4 Dec 2026, 10:00 Lima


@pytest.fixture
def vigilado(mongo_url, plazos_db: Database):
    """plazos' handlers on a client whose every command is kept."""
    with vigilada(mongo_url, plazos_db.name) as (db, pedidos):
        yield plazos.despachador(db), pedidos


def _reloj(db: Database, codigo: str) -> dict:
    doc = db.plazos.find_one({"_id": codigo})
    assert doc is not None
    return doc


def test_cada_evento_lee_el_reloj_una_vez(vigilado, plazos_db: Database):
    despachar, pedidos = vigilado
    codigo = plazos.codigo(1)

    despachar(plazos.registrado(codigo))
    # The fact and what follows from it, in one write (comun.en_mano; it was two updates).
    assert pedidos.nombres("plazos") == ["find", "update"]

    pedidos.olvidar()
    despachar(derivado(codigo))
    assert pedidos.nombres("plazos") == ["find", "update"]

    pedidos.olvidar()
    despachar(plazos.respondido(codigo, RESPONDIDO))
    assert pedidos.nombres("plazos").count("find") == 1

    reloj = _reloj(plazos_db, codigo)
    assert reloj["fecha_recepcion"] == "2026-11-24"
    assert reloj["vence_en"] == plazos.VENCE
    assert reloj["unidad"]["id"] == "ogc"
    assert (reloj["estado"], reloj["dias_habiles_usados"], reloj["dentro_del_plazo"]) == (
        "detenido",
        8,
        True,
    )
    # The figures moved with the answer (read from the clock in hand, not from the store).
    assert _cifras_de_la_unidad(plazos_db) == [
        ("minsa", "2026-12", {"respondidos": 1, "a_tiempo": 1, "dias_suma": 8, "dias:8": 1})
    ]


@pytest.mark.parametrize("orden", ["en_orden", "al_reves", "dos_veces"])
def test_el_reloj_es_el_mismo_en_cualquier_orden_y_dos_veces(orden, plazos_db: Database):
    codigo = plazos.codigo(2)
    eventos: list[Evento] = [
        plazos.registrado(codigo),
        derivado(codigo),
        plazos.respondido(codigo, RESPONDIDO),
    ]
    if orden == "al_reves":
        eventos.reverse()
    if orden == "dos_veces":
        eventos = [e for e in eventos for _ in range(2)]
    despachar = plazos.despachador(plazos_db)
    for evento in eventos:
        despachar(evento)

    reloj = _reloj(plazos_db, codigo)
    assert reloj["vence_en"] == plazos.VENCE
    assert reloj["unidad"]["id"] == "ogc"
    assert (reloj["estado"], reloj["dias_habiles_usados"], reloj["dentro_del_plazo"]) == (
        "detenido",
        8,
        True,
    )
    calculados = plazos.eventos_en_outbox(plazos_db, "plazo.calculado")
    detenidos = plazos.eventos_en_outbox(plazos_db, "plazo.detenido")
    assert [e["datos"]["vence_en"] for e in calculados] == ["2027-01-12T04:59:59Z"]
    assert [e["datos"]["dias_habiles_usados"] for e in detenidos] == [8]
    # Counted once in the figures, whatever the order.
    cambios = _cifras_de_la_unidad(plazos_db)
    assert sum(inc.get("respondidos", 0) for _, _, inc in cambios) == 1
    assert sum(inc.get("dias_suma", 0) for _, _, inc in cambios) == 8


def _cifras_de_la_unidad(db: Database) -> list[tuple[str, str, dict]]:
    """The pending changes of the unit's figures (entity, month, increments), oldest first."""
    return [
        (entidad, mes, inc)
        for doc in db.cifras_pendientes.find().sort("_id", 1)
        for entidad, unidad, mes, inc in doc["c"]
        if unidad == "ogc"
    ]
