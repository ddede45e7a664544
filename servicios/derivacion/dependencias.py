"""derivacion's adapters: its own MongoDB collections."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database


def preparar(db: Database) -> None:
    db.bandeja.create_index([("entidad_id", ASCENDING), ("registrado_en", DESCENDING)])
    db.bandeja.create_index([("entidad_id", ASCENDING), ("estado", ASCENDING)])
