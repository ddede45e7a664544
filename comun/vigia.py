"""Waiting for another process's writes without polling (issue 10).

A loop of the worker (the outbox relay, the figures' folder) is woken at once by the writes of its
own process (`comun.despertador`), but a service's web is another process: its filings reach the
relay only when the relay looks. While busy the loop looks often; once quiet it waits here
instead, on a change stream of the inserts into its collection — the store answers when one is
committed, or after `espera_s` with nothing. One request every few seconds instead of one a
second, and the first write after a quiet spell is handled at once.

The stream is open only while the loop is quiet: under load the loop looks on its own and the
store does not feed a stream nobody needs. A store without change streams (a standalone mongod)
makes the loop poll as before; the platform's stores (SecantusDB, the replica set in
compose.yaml) have them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger(__name__)
# Only the fact that something was inserted matters, not the document.
_INSERCIONES = [{"$match": {"operationType": "insert"}}, {"$project": {"_id": 1}}]


class Vigia:
    def __init__(self, db: Database, coleccion: str, espera_s: float = 5.0) -> None:
        self.db = db
        self.coleccion = coleccion
        # One request per `espera_s` while quiet; also how late a stop is seen.
        self.espera_s = espera_s
        self.con_flujo = True  # False once the store said it has no change streams

    def vigilar(
        self,
        parar: threading.Event,
        mirar: Callable[[], int],
        hasta_s: float,
        sin_flujo_s: float,
        atender: Callable[[], None] | None = None,
    ) -> None:
        """Returns once a document is inserted into the collection, `mirar` found work,
        `hasta_s` passed (the loop then looks on its own, whatever the stream said) or `parar`.
        `mirar` runs once the stream is open, so a write just before it is not missed;
        `atender` runs between the store's answers (a broker connection's heartbeats)."""
        if not self.con_flujo:
            parar.wait(sin_flujo_s)
            return
        try:
            with self.db[self.coleccion].watch(
                _INSERCIONES, max_await_time_ms=int(self.espera_s * 1000)
            ) as flujo:
                if mirar() > 0:
                    return
                limite = time.monotonic() + hasta_s
                while not parar.is_set() and time.monotonic() < limite:
                    if flujo.try_next() is not None:
                        return
                    if atender is not None:
                        atender()
        except OperationFailure as exc:
            if exc.code != 40573:  # "only supported on replica sets"; anything else is passing
                parar.wait(sin_flujo_s)
                return
            log.warning(
                "vigía: el almacén no ofrece change streams; %s se revisa cada %.1f s",
                self.coleccion,
                sin_flujo_s,
            )
            self.con_flujo = False
        except PyMongoError:
            # The store is away: the loop's own look finds out and waits as it does today.
            parar.wait(sin_flujo_s)
