"""registro's adapters: the hojas de reclamación, the append-only timeline, the entity copy."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import asegurar_colecciones, insertar_al_confirmar
from servicios.registro import adjuntos
from servicios.registro.dominio import TERMINALES

# registro writes these itself when the citizen asks; derivacion, which owns the state machine,
# may have ended the reclamo meanwhile and then ignores them.
PROVISIONALES = ("subsanado", "desistido")
# What derivacion only emits once the reclamo is past any subsanación or desistimiento.
DEFINITIVOS = frozenset({"respondido", "archivado", "cerrado"})


def preparar(db: Database) -> None:
    asegurar_colecciones(
        db,
        "reclamos",
        "entidades",
        "seguimiento",
        f"{adjuntos.BUCKET}.files",
        f"{adjuntos.BUCKET}.chunks",
    )
    db.seguimiento.create_index([("codigo", ASCENDING), ("fecha", ASCENDING)])
    adjuntos.preparar(db)
    # GridFS stamps uploads with the real clock, not the domain's (comun.reloj).
    adjuntos.barrer(db, datetime.now(UTC))


def entrada(
    db: Database,
    s: ClientSession,
    evento_id: str,
    codigo: str,
    fecha: datetime,
    texto: str,
    estado: str | None = None,
    archivos: list[dict] | None = None,
) -> None:
    """Adds a timeline entry. Entries are inserted, never edited or removed (DESIGN.md §2); the
    event id is the entry's id, so one event is one entry. `archivos`: the files it added, each
    with its SHA-256. The entries of a transaction go in together when its work is done (one
    request for a batch of events)."""
    doc = {"_id": evento_id, "codigo": codigo, "fecha": fecha, "estado": estado, "texto": texto}
    if archivos:
        doc["adjuntos"] = archivos
    insertar_al_confirmar(db.seguimiento, doc, s)


def anotar(
    db: Database,
    s: ClientSession,
    evento_id: str,
    codigo: str,
    fecha: datetime,
    texto: str,
    estado: str | None = None,
    proyectado: str | None = None,
) -> None:
    """A timeline entry and, if the event changed the state, the state the citizen sees
    (`proyectado` when it differs from the entry's step, as a traslado leaves it derivado)."""
    entrada(db, s, evento_id, codigo, fecha, texto, estado)
    if nuevo := proyectado or estado:
        proyectar(db, s, codigo, fecha, nuevo)


# A conditional write names its reclamo by `_id` and never puts an operator ($or) at the top of
# its filter: the local store (SecantusDB) then finds the document by its key, but with one it
# scans the whole collection (issue 10: 29 ms instead of 2 ms per write at 2,000 reclamos, and
# growing with every reclamo). Same meaning on mongod.


def proyectar(db: Database, s: ClientSession, codigo: str, fecha: datetime, estado: str) -> None:
    # Events may arrive out of order: the state is that of the latest event, not the last read,
    # and an ended reclamo stays ended.
    cambio = {"$set": {"estado": estado, "estado_en": fecha}}
    hecho = db.reclamos.update_one(
        {"_id": codigo, "estado_en": {"$lte": fecha}, "estado": {"$nin": sorted(TERMINALES)}},
        cambio,
        session=s,
    )
    if hecho.matched_count == 0 and estado in DEFINITIVOS:
        # derivacion answered, archived or closed it: it ignored registro's subsanado/desistido.
        db.reclamos.update_one({"_id": codigo, "estado": {"$in": PROVISIONALES}}, cambio, session=s)


def proyectar_y_fijar(
    db: Database,
    s: ClientSession,
    codigo: str,
    fecha: datetime,
    estado: str,
    marca: str,
    cambios: dict,
) -> None:
    """`proyectar` and `si_es_mas_reciente` together: in the usual order of events both hold and
    go in one write (issue 10: the store pays for each document written); when either does not,
    each is applied by its own rule."""
    hecho = db.reclamos.update_one(
        {
            "_id": codigo,
            "estado_en": {"$lte": fecha},
            "estado": {"$nin": sorted(TERMINALES)},
            marca: {"$not": {"$gt": fecha}},
        },
        {"$set": {"estado": estado, "estado_en": fecha, **cambios, marca: fecha}},
        session=s,
    )
    if hecho.matched_count == 0:
        si_es_mas_reciente(db, s, codigo, marca, fecha, cambios)
        proyectar(db, s, codigo, fecha, estado)


def si_es_mas_reciente(
    db: Database, s: ClientSession, codigo: str, marca: str, fecha: datetime, cambios: dict
) -> bool:
    """Sets `cambios` only if no later event already set them (`marca` keeps that event's time;
    `$not: {$gt}` also matches a reclamo without one). True if it did."""
    hecho = db.reclamos.update_one(
        {"_id": codigo, marca: {"$not": {"$gt": fecha}}},
        {"$set": {**cambios, marca: fecha}},
        session=s,
    )
    return hecho.matched_count == 1
