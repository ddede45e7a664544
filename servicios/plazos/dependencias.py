"""plazos' adapters: its collections and the calendar as the operator configured it."""

from __future__ import annotations

from datetime import date

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import asegurar_colecciones
from servicios.plazos.dominio import Calendario


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "plazos", "dias_no_laborables")
    db.plazos.create_index([("estado", 1), ("vence_en", 1)])


def calendario(db: Database, s: ClientSession | None = None) -> Calendario:
    """Peru's holidays plus the non-working days decreed for the public sector (operator data)."""
    dias = [date.fromisoformat(d["_id"]) for d in db.dias_no_laborables.find({}, session=s)]
    return Calendario(dias)
