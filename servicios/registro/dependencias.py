"""registro's adapters: the hojas de reclamación, the append-only timeline, the entity copy."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import asegurar_colecciones


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "reclamos", "entidades", "seguimiento")
    db.seguimiento.create_index([("codigo", ASCENDING), ("fecha", ASCENDING)])


def anotar(
    db: Database,
    s: ClientSession,
    evento_id: str,
    codigo: str,
    fecha: datetime,
    texto: str,
    estado: str | None = None,
) -> None:
    """Adds a timeline entry. Entries are inserted, never edited or removed (DESIGN.md §2); the
    event id is the entry's id, so one event is one entry."""
    db.seguimiento.insert_one(
        {"_id": evento_id, "codigo": codigo, "fecha": fecha, "estado": estado, "texto": texto},
        session=s,
    )
    if estado is not None:
        # Events may arrive out of order: the state is that of the latest event, not the last read.
        db.reclamos.update_one(
            {"_id": codigo, "estado_en": {"$lte": fecha}},
            {"$set": {"estado": estado, "estado_en": fecha}},
            session=s,
        )
