"""A filing with an Idempotency-Key (issue 10): the first time, the key is not looked up before
the work; its insert in the filing's transaction is the check. A retry still gets the first
response and files nothing; another body with the key is still a 422. What the store served is
read from its own `top` (per collection), not from the code under test."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from tests.integracion.ciudadano import Ciudadano, hoja

pytestmark = pytest.mark.integracion


def _pedidos(db: Database, tipo: str) -> int:
    totales = db.client.admin.command("top")["totals"]
    return int(totales.get(f"{db.name}.idempotencia", {}).get(tipo, {}).get("count", 0))


def test_la_clave_no_se_lee_antes_de_registrar_y_el_reintento_da_la_misma_respuesta(
    registro: Ciudadano, db: Database
):
    leidas, insertadas = _pedidos(db, "queries"), _pedidos(db, "insert")
    cuerpo = hoja()  # its ocurrido_en moves with the clock: the same body, kept

    primera = registro.post("/reclamos", cuerpo, clave="8c0e5c0a-primera")
    assert primera.status_code == 201, primera.get_json()
    assert _pedidos(db, "queries") == leidas  # the filing did not look the key up
    assert _pedidos(db, "insert") == insertadas + 1

    otra_vez = registro.post("/reclamos", cuerpo, clave="8c0e5c0a-primera")
    assert otra_vez.status_code == 201, otra_vez.get_json()
    assert otra_vez.get_json() == primera.get_json()
    assert db.reclamos.count_documents({}) == 1

    distinta = {**cuerpo, "descripcion": "Otra descripción, con otro contenido del todo."}
    conflicto = registro.post("/reclamos", distinta, clave="8c0e5c0a-primera")
    assert conflicto.status_code == 422
    assert conflicto.get_json()["error"] == "idempotencia_conflicto"
    assert db.reclamos.count_documents({}) == 1
    assert db.seguimiento.count_documents({}) == 1
    assert db.outbox.count_documents({}) == 1
