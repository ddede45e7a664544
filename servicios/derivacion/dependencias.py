"""derivacion's adapters: its own MongoDB collections."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from comun.almacen import asegurar_colecciones


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "bandeja", "entidades")
    db.bandeja.create_index([("entidad_id", ASCENDING), ("registrado_en", DESCENDING)])
    db.bandeja.create_index([("entidad_id", ASCENDING), ("estado", ASCENDING)])
