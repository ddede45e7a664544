"""Access to the service's own MongoDB database, and its atomic units of work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database

T = TypeVar("T")


def conectar(url: str, base: str) -> Database:
    # tz_aware: every datetime read back is UTC-aware, as it was written.
    cliente: MongoClient = MongoClient(
        url, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000
    )
    return cliente[base]


def en_transaccion(db: Database, trabajo: Callable[[ClientSession], T]) -> T:
    """Runs `trabajo` in one multi-document transaction; transient conflicts are retried."""
    with db.client.start_session() as sesion:
        return sesion.with_transaction(trabajo)


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
