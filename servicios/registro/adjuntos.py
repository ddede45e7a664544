"""A reclamo's files (issue 8): checked by their content, kept in registro's own store (GridFS),
each with its SHA-256.

pymongo's GridFS refuses multi-document transactions, so a file is written in two steps: its
chunks first, marked `confirmado: false`; then the transaction that records the reclamo (or the
new files) flips the mark with the rest of the effect. A failed request deletes what it wrote; a
crash in between leaves unconfirmed files that nobody can download and that `barrer` deletes.
"""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import filetype
from bson import ObjectId
from bson.errors import InvalidId
from gridfs import GridFSBucket
from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.errores import ErrorDeDominio
from servicios.registro.schemas import MAX_ADJUNTOS, MAX_BYTES_ADJUNTOS

BUCKET = "adjuntos"
# What the content may be (by its magic bytes, not the name): mime → what the citizen reads.
TIPOS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/vnd.oasis.opendocument.text": "OpenDocument (odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument (ods)",
    "application/msword": "Word (doc)",
    "application/vnd.ms-excel": "Excel (xls)",
}
PERMITIDOS = "PDF, JPEG, PNG, Word, Excel, PowerPoint u OpenDocument"
MAX_NOMBRE = 200
# Unconfirmed files older than this were left by a request that died: they are deleted.
VIDA_PENDIENTE = timedelta(hours=1)
TROZO = 255 * 1024


@dataclass(frozen=True)
class Archivo:
    """One file received, checked: its name as given (cleaned), its type by content, its bytes."""

    nombre: str
    tipo_mime: str
    contenido: bytes
    sha256: str

    @property
    def bytes(self) -> int:
        return len(self.contenido)


class ErrorDeAdjunto(ErrorDeDominio):
    """A refused file: the 4xx names the field (`archivos.3`)."""

    def __init__(self, estado: int, error: str, mensaje: str, campo: str) -> None:
        super().__init__(estado, error, mensaje)
        self.detalle = [{"campo": campo, "mensaje": mensaje}]


def _error(estado: int, error: str, mensaje: str, campo: str) -> ErrorDeAdjunto:
    return ErrorDeAdjunto(estado, error, mensaje, campo)


def _en_una_linea(caracter: str) -> bool:
    # Not a control or format character, nor a line or paragraph separator (U+2028, U+2029):
    # the name travels in reclamo.adjuntado, whose schema accepts one line only.
    categoria = unicodedata.category(caracter)
    return categoria[0] != "C" and categoria not in ("Zl", "Zp")


def nombre_limpio(nombre: str | None, posicion: int) -> str:
    """The file's name without folders, control characters or line breaks (it is shown in the
    timeline and in a Content-Disposition header)."""
    base = (nombre or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if _en_una_linea(c)).strip()
    return base[:MAX_NOMBRE] or f"adjunto-{posicion + 1}"


def tipo_por_contenido(contenido: bytes) -> str | None:
    """The allowed mime type the bytes really are, or None."""
    tipo = filetype.guess_mime(contenido[:8192])
    return tipo if tipo in TIPOS else None


def revisar(
    recibidos: list[tuple[str | None, bytes]], ya_hay: int = 0, bytes_previos: int = 0
) -> list[Archivo]:
    """Checks the files of one request against what the reclamo already has: at most 10 files
    and 20 MB in all, none empty, each of an allowed type by content. Raises a Spanish 4xx."""
    if not recibidos:
        raise _error(422, "sin_archivos", "Adjunte al menos un archivo.", "archivos")
    cabe(len(recibidos), sum(len(c) for _, c in recibidos), ya_hay, bytes_previos)
    archivos = []
    for k, (nombre, contenido) in enumerate(recibidos):
        limpio = nombre_limpio(nombre, k)
        if not contenido:
            raise _error(422, "archivo_vacio", f"El archivo {limpio} está vacío.", f"archivos.{k}")
        tipo = tipo_por_contenido(contenido)
        if tipo is None:
            raise _error(
                422,
                "tipo_no_permitido",
                f"El archivo {limpio} no es de un tipo permitido ({PERMITIDOS}); el tipo se "
                "reconoce por su contenido, no por su nombre.",
                f"archivos.{k}",
            )
        archivos.append(Archivo(limpio, tipo, contenido, hashlib.sha256(contenido).hexdigest()))
    return archivos


def cabe(nuevos: int, bytes_nuevos: int, ya_hay: int = 0, bytes_previos: int = 0) -> None:
    """The reclamo's limits: at most 10 files and 20 MB in all, counting what it already has."""
    if ya_hay + nuevos > MAX_ADJUNTOS:
        quedan = max(MAX_ADJUNTOS - ya_hay, 0)
        raise _error(
            422,
            "demasiados_archivos",
            f"Un reclamo admite hasta {MAX_ADJUNTOS} archivos; puede adjuntar {quedan} más.",
            "archivos",
        )
    if bytes_previos + bytes_nuevos > MAX_BYTES_ADJUNTOS:
        raise _error(
            413,
            "adjuntos_muy_grandes",
            "Los archivos de un reclamo no pueden sumar más de 20 MB.",
            "archivos",
        )


def preparar(db: Database) -> None:
    db[f"{BUCKET}.files"].create_index(
        [("metadata.confirmado", ASCENDING), ("uploadDate", ASCENDING)]
    )
    db[f"{BUCKET}.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)


def _bucket(db: Database) -> GridFSBucket:
    return GridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=TROZO)


def subir(db: Database, archivos: list[Archivo]) -> list[ObjectId]:
    """Writes the files' chunks, unconfirmed. On a failure, deletes what it wrote and re-raises."""
    bucket, ids = _bucket(db), []
    try:
        for a in archivos:
            ids.append(
                bucket.upload_from_stream(
                    a.nombre,
                    a.contenido,
                    metadata={"confirmado": False, "tipo_mime": a.tipo_mime, "sha256": a.sha256},
                )
            )
    except BaseException:
        descartar(db, ids)
        raise
    return ids


def confirmar(
    db: Database,
    s: ClientSession,
    codigo: str,
    ids: list[ObjectId],
    archivos: list[Archivo],
    origen: str = "ciudadano",
) -> list[dict[str, Any]]:
    """Inside the effect's transaction: the files become the reclamo's. Returns their metadata
    as the reclamo keeps it."""
    hecho = db[f"{BUCKET}.files"].update_many(
        {"_id": {"$in": ids}, "metadata.confirmado": False},
        {"$set": {"metadata.confirmado": True, "metadata.codigo": codigo}},
        session=s,
    )
    if hecho.modified_count != len(ids):  # swept meanwhile (a request stalled for an hour)
        raise ErrorDeDominio(503, "ocupado", "No se pudieron guardar los archivos; reintente.")
    return descritos(ids, archivos, origen)


def descritos(
    ids: list[ObjectId], archivos: list[Archivo], origen: str = "ciudadano"
) -> list[dict]:
    """What the reclamo, its timeline and the answer say of each stored file; `origen`: who
    attached it (the citizen, or the entity with its answer)."""
    return [
        {
            "id": str(i),
            "nombre": a.nombre,
            "tipo_mime": a.tipo_mime,
            "bytes": a.bytes,
            "sha256": a.sha256,
            "origen": origen,
        }
        for i, a in zip(ids, archivos, strict=True)
    ]


def descartar(db: Database, ids: list[ObjectId]) -> None:
    """Deletes files a failed request wrote (never a confirmed one)."""
    bucket = _bucket(db)
    for i in ids:
        # Already gone, or the store is away: then `barrer` deletes it later.
        with contextlib.suppress(Exception):
            if db[f"{BUCKET}.files"].find_one({"_id": i, "metadata.confirmado": True}) is None:
                bucket.delete(i)


def barrer(db: Database, ahora: datetime) -> int:
    """Deletes unconfirmed files older than VIDA_PENDIENTE (left by a request that died)."""
    viejos = db[f"{BUCKET}.files"].find(
        {"metadata.confirmado": False, "uploadDate": {"$lt": ahora - VIDA_PENDIENTE}}, {"_id": 1}
    )
    ids = [d["_id"] for d in viejos]
    descartar(db, ids)
    return len(ids)


def id_valido(texto: str) -> ObjectId | None:
    try:
        return ObjectId(texto)
    except (InvalidId, TypeError):
        return None


def leer(db: Database, adjunto_id: str):
    """A confirmed file's chunks, as an iterator of bytes (None if it is not there)."""
    oid = id_valido(adjunto_id)
    if oid is None:
        return None
    doc = db[f"{BUCKET}.files"].find_one({"_id": oid, "metadata.confirmado": True})
    if doc is None:
        return None
    salida = _bucket(db).open_download_stream(oid)

    def trozos():
        # Not `for line in GridOut`: that reads lines (slow on binary data); chunk by chunk.
        try:
            while trozo := salida.readchunk():
                yield trozo
        finally:
            salida.close()

    return trozos()
