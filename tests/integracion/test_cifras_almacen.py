"""The report buckets on the real store (comun.cifras): a contribution moved between units, and
the decoded "every entity" months a process keeps, read again as soon as a month changes."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from comun import cifras

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
    antes = cifras.leer(db, "2026-01", "2026-02", agrupar="entidad")["entidad"]
    assert antes == {"minsa": {"recibidos": 1}, "munilima": {"recibidos": 1}}

    # Another process changes January: the next report sees it, not the month kept in memory.
    cifras.mover(db, None, cifras.Aporte("minsa", "u2", "2026-01", {"recibidos": 1}), None)
    despues = cifras.leer(db, "2026-01", "2026-02", agrupar="entidad")["entidad"]
    assert despues == {"minsa": {"recibidos": 2}, "munilima": {"recibidos": 1}}

    # A month that did not change is served from memory: the store's copy is not read again.
    db[cifras.COLECCION].update_one(
        {"_id": "*|*|2026-02"},
        {"$set": {"e.munilima.recibidos": 99}},  # version unchanged
    )
    quieto = cifras.leer(db, "2026-02", "2026-02", agrupar="entidad")["entidad"]
    assert quieto == {"munilima": {"recibidos": 1}}
