"""The report buckets on the real store (comun.cifras): a contribution moved between units, the
decoded "every entity" months a process keeps, read again as soon as a month changes, and the
pending changes that handlers write and a folder folds (issue 10)."""

from __future__ import annotations

import contextlib
import threading

import pytest
from pymongo.database import Database

from comun import almacen, cifras

pytestmark = pytest.mark.integracion


def test_mover_saca_lo_anterior_y_pone_lo_nuevo_en_la_unidad_y_el_total(db: Database):
    a = cifras.Aporte("minsa", "u1", "2026-01", {"recibidos": 1, "estado:derivado": 1})
    b = cifras.Aporte("minsa", "u2", "2026-01", {"recibidos": 1, "estado:respondido": 1})
    cifras.mover(db, None, a, None)
    cifras.mover(db, a, b, None)
    total = cifras.leer(db, "2026-01", "2026-01", agrupar="entidad,mes")
    assert total["entidad"] == {"minsa": {"recibidos": 1, "estado:respondido": 1}}
    una = cifras.leer(db, "2026-01", "2026-02", ["minsa"], agrupar="entidad_mes")
    assert una["entidad_mes"] == {"minsa|2026-01": {"recibidos": 1, "estado:respondido": 1}}
    assert cifras.leer(db, "2026-01", "2026-01", ["otra", "mas"])["entidad"] == {}
    assert cifras.leer(db, "2026-01", "2026-01", ["minsa"], "u1")["mes"] == {"2026-01": {}}
    assert cifras.leer(db, "2026-01", "2026-01", ["minsa"], "u2")["mes"]["2026-01"] == {
        "recibidos": 1,
        "estado:respondido": 1,
    }


def test_un_mes_cambiado_se_lee_de_nuevo_y_uno_quieto_no(db: Database):
    enero = cifras.Aporte("minsa", "u1", "2026-01", {"recibidos": 1})
    febrero = cifras.Aporte("munilima", "u1", "2026-02", {"recibidos": 1})
    cifras.mover(db, None, enero, None)
    cifras.mover(db, None, febrero, None)
    cifras.plegar(db)
    antes = cifras.leer(db, "2026-01", "2026-02", agrupar="entidad")["entidad"]
    assert antes == {"minsa": {"recibidos": 1}, "munilima": {"recibidos": 1}}

    # Another process changes January: the next report sees it, not the month kept in memory.
    cifras.mover(db, None, cifras.Aporte("minsa", "u2", "2026-01", {"recibidos": 1}), None)
    cifras.plegar(db)
    despues = cifras.leer(db, "2026-01", "2026-02", agrupar="entidad")["entidad"]
    assert despues == {"minsa": {"recibidos": 2}, "munilima": {"recibidos": 1}}

    # A month that did not change is served from memory: the store's copy is not read again.
    db[cifras.COLECCION].update_one(
        {"_id": "*|*|2026-02"},
        {"$set": {"e.munilima.recibidos": 99}},  # version unchanged
    )
    quieto = cifras.leer(db, "2026-02", "2026-02", agrupar="entidad")["entidad"]
    assert quieto == {"munilima": {"recibidos": 1}}


def _todo(db: Database) -> list[dict]:
    """Every way a report reads: all entities, some, one entity, one unit."""
    return [
        cifras.leer(db, "2026-01", "2026-03", agrupar="entidad,mes,entidad_mes"),
        cifras.leer(db, "2026-01", "2026-03", ["minsa", "munilima"], agrupar="entidad_mes"),
        cifras.leer(db, "2026-02", "2026-02", ["minsa"], agrupar="entidad,mes"),
        cifras.leer(db, "2026-01", "2026-03", ["minsa"], "u1", agrupar="mes"),
    ]


def test_un_reporte_es_igual_antes_y_despues_de_plegar(db: Database):
    cifras.preparar(db)
    cambios = [
        (None, cifras.Aporte("minsa", "u1", "2026-01", {"recibidos": 1, "estado:derivado": 1})),
        (None, cifras.Aporte("minsa", "u2", "2026-02", {"recibidos": 1, "dias:3": 1})),
        (None, cifras.Aporte("munilima", "u1", "2026-02", {"recibidos": 1})),
        (None, cifras.Aporte("consulado-es", "u1", "2026-03", {"recibidos": 1})),
    ]
    cambios.append((cambios[0][1], cifras.Aporte("minsa", "u1", "2026-01", {"recibidos": 1})))
    for antes, despues in cambios[:3]:
        cifras.mover(db, antes, despues, None)
    cifras.plegar(db)  # part folded, part pending
    for antes, despues in cambios[3:]:
        cifras.mover(db, antes, despues, None)
    assert db[cifras.PENDIENTES].count_documents({}) == 2
    vistos = _todo(db)
    # Counted by hand from the changes above.
    assert vistos[0]["entidad"] == {
        "minsa": {"recibidos": 2, "dias:3": 1},
        "munilima": {"recibidos": 1},
        "consulado-es": {"recibidos": 1},
    }
    assert vistos[2]["entidad"] == {"minsa": {"recibidos": 1, "dias:3": 1}}
    assert vistos[3]["mes"] == {"2026-01": {"recibidos": 1}}

    assert cifras.plegar(db) == 2
    assert db[cifras.PENDIENTES].count_documents({}) == 0
    assert _todo(db) == vistos


def test_dos_transacciones_que_tocan_el_mismo_mes_no_chocan(db: Database):
    """The defect: every handler's transaction incremented the same "*|*|mes" document, so two at
    once conflicted (and the message waited for the retry queue, seconds). Now each writes its own
    pending change: both commit."""
    cifras.preparar(db)
    cliente = db.client
    uno, otro = cliente.start_session(), cliente.start_session()
    try:
        uno.start_transaction()
        otro.start_transaction()
        for sesion, unidad in ((uno, "u1"), (otro, "u2")):
            aporte = cifras.Aporte("minsa", unidad, "2026-01", {"recibidos": 1})
            cifras.mover(db, None, aporte, sesion)
        uno.commit_transaction()
        otro.commit_transaction()
    finally:
        uno.end_session()
        otro.end_session()
    assert cifras.leer(db, "2026-01", "2026-01")["entidad"] == {"minsa": {"recibidos": 2}}


def test_dos_plegadores_a_la_vez_pliegan_cada_cambio_una_vez(db: Database):
    cifras.preparar(db)
    total = 1200
    for n in range(total):
        aporte = cifras.Aporte(f"e{n % 7}", f"u{n % 3}", f"2026-0{1 + n % 2}", {"recibidos": 1})
        cifras.mover(db, None, aporte, None)

    def plegar_hasta_vaciar() -> None:
        while db[cifras.PENDIENTES].count_documents({}):
            # AlmacenOcupado: the other folder holds this batch; take the next one.
            with contextlib.suppress(almacen.AlmacenOcupado):
                cifras.plegar(db, lote=100)

    hilos = [threading.Thread(target=plegar_hasta_vaciar) for _ in range(2)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(120)
    assert db[cifras.PENDIENTES].count_documents({}) == 0
    por_entidad = cifras.leer(db, "2026-01", "2026-02")["entidad"]
    assert sum(v["recibidos"] for v in por_entidad.values()) == total
    assert por_entidad["e0"]["recibidos"] == len(range(0, total, 7))


def test_la_huella_nombra_el_estado_leido_y_sin_cambios_no_se_suma(db: Database):
    """The ETag of the months of every entity: the same while nothing changes (and then nothing
    is summed), another after a change not folded yet, and another after it is folded — the
    figures being the ones counted by hand each time."""
    cifras.preparar(db)
    cifras.mover(db, None, cifras.Aporte("minsa", "u1", "2026-01", {"recibidos": 2}), None)
    cifras.plegar(db)
    huella, grupos = cifras.leer_si_cambio(db, "2026-01", "2026-02", agrupar="entidad")
    assert huella and grupos == {"entidad": {"minsa": {"recibidos": 2}}}
    assert cifras.leer_si_cambio(db, "2026-01", "2026-02", agrupar="entidad", previa=huella) == (
        huella,
        None,
    )
    # Another question of the same state has another fingerprint.
    otra, _ = cifras.leer_si_cambio(db, "2026-01", "2026-02", agrupar="mes")
    assert otra != huella

    cifras.mover(db, None, cifras.Aporte("minsa", "u2", "2026-02", {"recibidos": 1}), None)
    pendiente, grupos = cifras.leer_si_cambio(
        db, "2026-01", "2026-02", agrupar="entidad", previa=huella
    )
    assert pendiente != huella and grupos == {"entidad": {"minsa": {"recibidos": 3}}}

    assert cifras.plegar(db) == 1
    plegada, grupos = cifras.leer_si_cambio(
        db, "2026-01", "2026-02", agrupar="entidad", previa=pendiente
    )
    assert plegada not in (huella, pendiente) and grupos == {"entidad": {"minsa": {"recibidos": 3}}}

    # One entity's (or a unit's) buckets carry no version: no fingerprint, always read.
    assert cifras.leer_si_cambio(db, "2026-01", "2026-02", ["minsa"], agrupar="entidad") == (
        None,
        {"entidad": {"minsa": {"recibidos": 3}}},
    )


def test_solo_los_contadores_pedidos(db: Database):
    cifras.preparar(db)
    valores = {"recibidos": 1, "motivo:trato": 1, "dias:3": 1, "dias:12": 1, "dias_suma": 15}
    cifras.mover(db, None, cifras.Aporte("minsa", "u1", "2026-01", valores), None)
    cifras.plegar(db)
    cifras.mover(db, None, cifras.Aporte("minsa", "u1", "2026-02", {"dias:3": 1}), None)
    for entidades in (None, ["minsa"]):  # the months of every entity, one entity's buckets
        leido = cifras.leer(
            db,
            "2026-01",
            "2026-02",
            entidades,
            agrupar="entidad,mes",
            campos=["dias_suma", "dias:"],
        )
        assert leido["entidad"] == {"minsa": {"dias:3": 2, "dias:12": 1, "dias_suma": 15}}
        assert leido["mes"] == {
            "2026-01": {"dias:3": 1, "dias:12": 1, "dias_suma": 15},
            "2026-02": {"dias:3": 1},
        }
        solo = cifras.leer(db, "2026-01", "2026-02", entidades, agrupar="mes", campos=["recibidos"])
        assert solo["mes"] == {"2026-01": {"recibidos": 1}, "2026-02": {}}
