"""derivacion's adapters: its own MongoDB collections.

`bandeja` holds one document per reclamo (its `_id` is the código). Every write goes through
`escribir`, which keeps the document's `urgencia` (the bandeja's sort key) consistent with its
state and deadline; callers read and write inside one transaction, so the key never goes stale.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import cifras
from comun.almacen import asegurar_colecciones
from comun.en_mano import EnMano
from servicios.derivacion.cifras import aporte
from servicios.derivacion.dominio import clave_urgencia


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "bandeja", "entidades", "accesos")
    cifras.preparar(db)
    # Most urgent first, per entity, per unit, per state, and across entities (supervisor).
    db.bandeja.create_index([("entidad_id", ASCENDING), ("urgencia", ASCENDING)])
    db.bandeja.create_index(
        [("entidad_id", ASCENDING), ("unidad_id", ASCENDING), ("urgencia", ASCENDING)]
    )
    db.bandeja.create_index(
        [("entidad_id", ASCENDING), ("estado", ASCENDING), ("urgencia", ASCENDING)]
    )
    db.bandeja.create_index([("urgencia", ASCENDING)])
    # Who saw a citizen's identity: by reclamo, and by time.
    db.accesos.create_index([("codigos", ASCENDING), ("en", ASCENDING)])
    db.accesos.create_index([("en", ASCENDING)])
    # Reclamos stored before the key existed would be missing from every page: give them one.
    for doc in db.bandeja.find({"urgencia": {"$exists": False}}):
        db.bandeja.update_one(
            {"_id": doc["_id"], "urgencia": {"$exists": False}},
            {"$set": {"urgencia": urgencia(doc)}},
        )


def urgencia(doc: dict) -> str:
    return clave_urgencia(
        doc["_id"], doc.get("estado"), doc.get("vence_en"), bool(doc.get("reloj_pausado"))
    )


def leer(db: Database, codigo: str, sesion: ClientSession) -> dict | None:
    """The reclamo as this transaction left it: read once per transaction (comun.en_mano)."""
    return EnMano(db, "bandeja").leer(codigo, sesion)


def escribir(
    db: Database,
    anterior: dict | None,
    codigo: str,
    cambios: dict,
    sesion: ClientSession,
    *,
    pasos: list[dict] | None = None,
    filtro: dict | None = None,
    quitar: tuple[str, ...] = (),
) -> dict | None:
    """Applies `cambios` to the reclamo read as `anterior` (None: not stored yet, so inserted),
    appends `pasos` to its historial, and returns the document as it is now; None when `filtro`
    (e.g. the state it was read in) no longer matches.

    Without `filtro` (the handlers) the change is made in hand, after `leer`: a batch's events
    of one reclamo write its document once. With one (the entity's actions, one per
    transaction) it goes to the store at once, conditional on the filter."""
    actual = {k: v for k, v in (anterior or {"_id": codigo}).items() if k not in quitar}
    nuevo = {**actual, **cambios}
    operacion: dict[str, Any] = {"$set": {**cambios, "urgencia": urgencia(nuevo)}}
    if quitar:
        operacion["$unset"] = dict.fromkeys(quitar, "")
    if pasos:
        nuevo["historial"] = [*nuevo.get("historial", []), *pasos]
    if filtro is None:
        bandeja = EnMano(db, "bandeja")
        bandeja.cambiar(codigo, sesion, operacion, upsert=anterior is None)
        for p in pasos or []:  # one value per change in hand; they go in as one $push
            bandeja.cambiar(codigo, sesion, {"$push": {"historial": p}})
        cifras.mover(db, aporte(anterior) if anterior else None, aporte(nuevo), sesion)
        return nuevo
    if pasos:
        operacion["$push"] = {"historial": {"$each": pasos}}
    if anterior is None:
        # Upsert on the _id only: a document created meanwhile is a conflict of the transaction.
        db.bandeja.update_one({"_id": codigo}, operacion, upsert=True, session=sesion)
        cifras.mover(db, None, aporte(nuevo), sesion)
        return nuevo
    hecho = db.bandeja.update_one({"_id": codigo, **(filtro or {})}, operacion, session=sesion)
    if hecho.matched_count != 1:
        return None
    # The report figures follow the document, in the same transaction (comun.cifras).
    cifras.mover(db, aporte(anterior), aporte(nuevo), sesion)
    return nuevo


def paso(fecha, estado: str, texto: str) -> dict:
    """One line of the reclamo's history as the entity sees it."""
    return {"fecha": fecha, "estado": estado, "texto": texto}


def anotar_acceso(
    db: Database,
    quien: dict[str, str | None],
    codigos: list[str],
    motivo: str,
    ruta: str,
) -> None:
    """Records that `quien` (role, credential, request id) saw the identity of the citizens of
    `codigos` (in the order shown) for `motivo`: written before the data leaves the service."""
    db.accesos.insert_one(
        {
            "_id": str(uuid.uuid4()),
            "en": datetime.now(UTC),
            **quien,
            "ruta": ruta,
            "codigos": codigos,
            "motivo": motivo,
        }
    )
