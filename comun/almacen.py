"""Access to the service's own MongoDB database, and its atomic units of work.

Durable by default (DESIGN.md §3): every write may precede an acknowledgement (a 201 to a citizen,
an ack to the broker, an outbox mark), so the client's write concern journals it (`j: true`) and,
on a replica set, waits for a majority. Every operation has a time limit (pymongo's client-side
operation timeout), and so does a transaction: a lock left by a dead worker's open transaction
must cost one message a later retry, not stall the service until the store reaps it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

import pymongo
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    CollectionInvalid,
    ConnectionFailure,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)

T = TypeVar("T")

# How long a transaction may keep retrying write conflicts before it gives up (seconds). One
# store per process: the process's settings set it (Ajustes.almacen).
ESPERA_TRANSACCION = 3.0


class AlmacenOcupado(Exception):
    """The store answered, but what we need is held by another transaction (a write conflict or
    a lock wait past its limit). Not the request's nor the message's fault: try again later."""


def conectar(
    url: str,
    base: str,
    *,
    w: int | str = "majority",
    j: bool = True,
    timeout_ms: int = 10_000,
) -> Database:
    """The database `base` on `url`, with a durable write concern and bounded operations."""
    # tz_aware: every datetime read back is UTC-aware, as it was written.
    cliente: MongoClient = MongoClient(
        url,
        tz_aware=True,
        w=int(w) if str(w).isdigit() else w,
        journal=j,
        timeoutMS=timeout_ms,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
    )
    return cliente[base]


def en_transaccion(
    db: Database, trabajo: Callable[[ClientSession], T], espera: float | None = None
) -> T:
    """Runs `trabajo` in one multi-document transaction. Transient conflicts are retried for at
    most `espera` seconds (pymongo's own loop would insist for two minutes); then
    `AlmacenOcupado`. A store that does not answer raises `ConnectionFailure` as before."""

    def intento(sesion: ClientSession) -> T:
        setattr(sesion, _MEMORIA, {})  # a retried transaction reads afresh (memoria)
        setattr(sesion, _POR_INSERTAR, {})  # and writes afresh
        setattr(sesion, _ANTES_DE_CONFIRMAR, {})
        resultado = trabajo(sesion)
        for accion in getattr(sesion, _ANTES_DE_CONFIRMAR).values():
            accion()
        for coleccion, documentos in getattr(sesion, _POR_INSERTAR).items():
            coleccion.insert_many(documentos, ordered=True, session=sesion)
        return resultado

    try:
        with pymongo.timeout(espera or ESPERA_TRANSACCION), db.client.start_session() as sesion:
            resultado = sesion.with_transaction(intento)
    except PyMongoError as exc:
        if _es_espera(exc):
            if not db.client.topology_description.has_writable_server():
                # Not a lock: the store did not answer (a timeout under pymongo.timeout says so
                # as ExecutionTimeout). The caller pauses, as for any ConnectionFailure.
                raise ServerSelectionTimeoutError(f"el almacén no responde: {exc}"[:300]) from exc
            raise AlmacenOcupado(f"{type(exc).__name__}: {exc}"[:300]) from exc
        raise
    for accion in dict.fromkeys(getattr(sesion, _AL_CONFIRMAR, ())):  # once each
        accion()
    return resultado


_AL_CONFIRMAR = "_pdr_al_confirmar"
_MEMORIA = "_pdr_memoria"
_POR_INSERTAR = "_pdr_por_insertar"
_ANTES_DE_CONFIRMAR = "_pdr_antes_de_confirmar"


def insertar_al_confirmar(
    coleccion: Collection, documento: dict, sesion: ClientSession | None
) -> None:
    """Inserts `documento` into `coleccion` as part of `sesion`'s transaction, together with the
    other documents the transaction inserts this way into the same collection: one request
    for a batch of events instead of one per event (issue 10). They go in, in order, when the
    transaction's work is done, so its own reads do not see them; a duplicate key fails the
    transaction then, as it would have at once. Without a transaction: inserted at once."""
    pendientes = getattr(sesion, _POR_INSERTAR, None) if sesion is not None else None
    if pendientes is None or not sesion.in_transaction:
        coleccion.insert_one(documento, session=sesion)
        return
    pendientes.setdefault(coleccion, []).append(documento)


def antes_de_confirmar(sesion: ClientSession, clave: str, accion: Callable[[], None]) -> bool:
    """Runs `accion` in `sesion`'s transaction once its work is done, once per `clave` (the
    first one given stays): how writes kept back during the work go in (`comun.en_mano`).
    False without a transaction: nothing is kept for later, the caller writes at once."""
    acciones = getattr(sesion, _ANTES_DE_CONFIRMAR, None)
    if acciones is None or not sesion.in_transaction:
        return False
    acciones.setdefault(clave, accion)
    return True


def memoria(sesion: ClientSession | None) -> dict | None:
    """A scratch dict for this attempt of `sesion`'s transaction (None without one): what a
    transaction keeps in hand between its reads and writes. A retried transaction starts with
    an empty one, as it reads afresh."""
    return getattr(sesion, _MEMORIA, None) if sesion is not None else None


def leido_en_la_transaccion(sesion: ClientSession | None, clave: str, leer: Callable[[], T]) -> T:
    """`leer()`, asked of the store once per transaction of `sesion` (every time without one):
    for data a transaction reads but does not write, such as the list a batch of events looks
    up for each event. The transaction reads one snapshot, so the answer is the same each
    time; what the transaction writes itself must not be read through here."""
    leidos = memoria(sesion)
    if leidos is None:
        return leer()
    if clave not in leidos:
        leidos[clave] = leer()
    return leidos[clave]


def olvidar_lo_leido(sesion: ClientSession | None, clave: str) -> None:
    """The transaction wrote what `clave` read: the next `leido_en_la_transaccion` asks again."""
    if (leidos := memoria(sesion)) is not None:
        leidos.pop(clave, None)


def al_confirmar(sesion: ClientSession | None, accion: Callable[[], None]) -> None:
    """Runs `accion` once the transaction of `sesion` has committed (at once, without one): how
    a writer wakes the loop that handles what it wrote (the relay, the mail sender), never
    before the loop could see it."""
    if sesion is None or not sesion.in_transaction:
        accion()
        return
    acciones = getattr(sesion, _AL_CONFIRMAR, None)
    if acciones is None:
        acciones = []
        setattr(sesion, _AL_CONFIRMAR, acciones)
    acciones.append(accion)


def _es_espera(exc: PyMongoError) -> bool:
    if isinstance(exc, ConnectionFailure) and not isinstance(exc, NetworkTimeout):
        return False  # the store is down: the caller pauses rather than retrying one by one
    return exc.has_error_label("TransientTransactionError") or exc.timeout


def asegurar_colecciones(db: Database, *nombres: str) -> None:
    """Creates the collections at start. Created implicitly inside a transaction, a collection
    stays locked whole until that transaction ends: one stuck transaction would block every
    writer of the collection, not just of its documents."""
    existentes = set(db.list_collection_names())
    for nombre in nombres:
        if nombre not in existentes:
            with contextlib.suppress(CollectionInvalid):  # another process created it meanwhile
                db.create_collection(nombre)


def esperar(db: Database, segundos: float = 60) -> None:
    """Waits for the store at start-up (it may start with us); fails loudly after `segundos`."""
    limite = time.monotonic() + segundos
    while not responde(db):
        if time.monotonic() > limite:
            raise RuntimeError(f"MongoDB no responde ({db.name}) tras {segundos:.0f} s")
        time.sleep(0.5)


def responde(db: Database) -> bool:
    try:
        db.command("ping")
    except Exception:
        return False
    return True
