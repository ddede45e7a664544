"""Transactional outbox (DESIGN.md §3).

A service writes its state change and the events it implies in the same transaction (`encolar`);
the relay publishes what is pending, with publisher confirms, and only then marks it sent. A crash
between the two only delays: the event is published again and consumers drop the duplicate.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pika.exceptions import UnroutableError
from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from comun.almacen import al_confirmar
from comun.despertador import Despertador
from comun.eventos import Evento
from comun.logs import con_correlacion, id_seguro
from comun.metricas import Metricas, Muestra, medir_al_leer
from comun.vigia import Vigia

log = logging.getLogger(__name__)
COLECCION = "outbox"
# Touched when a transaction of this process wrote events: its relay publishes them at once.
hay_eventos = Despertador()


def preparar(db: Database) -> None:
    db[COLECCION].create_index(
        [("orden", ASCENDING)],
        name="pendientes_por_orden",
        partialFilterExpression={"pendiente": True},
    )
    # Sent events are kept a week for audit, then dropped (they may carry contact data).
    db[COLECCION].create_index("enviado_en", name="caducidad", expireAfterSeconds=7 * 86400)


def encolar(db: Database, eventos: Iterable[Evento], sesion: ClientSession) -> None:
    documentos = [
        {
            "_id": e.id,
            "evento": e.model_dump(mode="json"),
            # Write order (ObjectIds grow within a process); ocurrido_en has only milliseconds
            # in the store and may be set by the caller.
            "orden": ObjectId(),
            "creado_en": e.ocurrido_en,
            "pendiente": True,
        }
        for e in eventos
    ]
    if documentos:
        db[COLECCION].insert_many(documentos, session=sesion, ordered=True)
        al_confirmar(sesion, hay_eventos.tocar)


def pendientes(db: Database) -> int:
    return db[COLECCION].count_documents({"pendiente": True})


def lectura(db: Database) -> list[Muestra]:
    """The outbox's backlog and the age of its oldest pending event (the relay's lag), as a
    scrape reads them: from the store, whatever the relay is doing. The age comes from `orden`
    (an ObjectId: the writer's real clock), not from the event's domain time."""
    primero = db[COLECCION].find_one({"pendiente": True}, {"orden": 1}, sort=[("orden", ASCENDING)])
    edad = 0.0
    if primero is not None and isinstance(primero.get("orden"), ObjectId):
        edad = (datetime.now(UTC) - primero["orden"].generation_time).total_seconds()
    return [
        Muestra("outbox_pendientes", float(pendientes(db))),
        Muestra("outbox_antiguedad_segundos", max(edad, 0.0)),
    ]


def medir(db: Database, servicio: str) -> None:
    """The service's outbox gauges on this process's /metrics (comun.metricas.medir_al_leer)."""
    medir_al_leer(servicio, "outbox", functools.partial(lectura, db))


class Relay:
    """Publishes pending outbox events in the order they were written."""

    def __init__(
        self,
        db: Database,
        publicador,
        metricas: Metricas,
        lote: int = 200,
        # How often it looks on its own while events flow (a service's web writes them from
        # another process, without waking this one). Once quiet for `reposo_tras` it waits on
        # the store's change stream (comun.vigia) and looks on its own only every
        # `pausa_en_reposo`.
        pausa: float = 0.1,
        pausa_en_reposo: float = 30.0,
        reposo_tras: float = 10.0,
        # Short: after a kill -9 the next worker waits at most this long to publish.
        turno: float = 5.0,
    ) -> None:
        self.db = db
        self.publicador = publicador
        self.metricas = metricas
        self.lote = lote
        self.pausa = pausa
        self.pausa_en_reposo = pausa_en_reposo
        self.reposo_tras = reposo_tras
        # Its waits are also how often the quiet publisher's connection is looked at.
        self.vigia = Vigia(
            db, COLECCION, espera_s=min(5.0, getattr(publicador, "atender_cada_s", 5.0))
        )
        self._ultimo_envio = 0.0
        self.turno = turno
        self.yo = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._turno_hasta = 0.0

    def una_vuelta(self) -> int:
        docs = list(
            self.db[COLECCION]
            .find({"pendiente": True}, {"evento": 1})
            .sort("orden", ASCENDING)
            .limit(self.lote)
        )
        enviados: list[str] = []
        try:
            for doc in docs:
                try:
                    self.publicador.publicar(Evento.model_validate(doc["evento"]))
                except UnroutableError:
                    self._sin_ruta(doc)
                    continue
                enviados.append(doc["_id"])
        finally:
            # Mark what the broker confirmed, even if a later publish failed.
            if enviados:
                self.db[COLECCION].update_many(
                    {"_id": {"$in": enviados}},
                    {"$set": {"pendiente": False, "enviado_en": datetime.now(UTC)}},
                )
            self.metricas.outbox_publicados(len(enviados))
        return len(enviados)

    def _sin_ruta(self, doc: dict) -> None:
        """No queue is bound to this tipo: a configuration error, not a reason to hold back every
        later event. It is set aside in the outbox (`sin_ruta`), counted and logged, never
        dropped; an operator re-publishes it by setting `pendiente` again."""
        tipo = doc["evento"]["tipo"]
        self.db[COLECCION].update_one(
            {"_id": doc["_id"]},
            {"$set": {"pendiente": False, "sin_ruta": True, "apartado_en": datetime.now(UTC)}},
        )
        self.metricas.outbox_sin_ruta(tipo)
        correlacion = doc["evento"].get("correlacion")
        with con_correlacion(id_seguro(correlacion)):
            log.error(
                "relay: evento sin cola que lo reciba", extra={"tipo": tipo, "evento": doc["_id"]}
            )

    def tengo_el_turno(self) -> bool:
        """One relay per service publishes at a time, however many workers run: the others would
        only publish the same events again. The turn is a lease in the service's own store; if
        its holder dies, another worker takes over when it expires (a delay, not a loss)."""
        if time.monotonic() < self._turno_hasta - self.turno / 3:
            return True
        ahora = datetime.now(UTC)
        try:
            self.db.relay.update_one(
                {"_id": "turno", "$or": [{"dueno": self.yo}, {"hasta": {"$lt": ahora}}]},
                {"$set": {"dueno": self.yo, "hasta": ahora + timedelta(seconds=self.turno)}},
                upsert=True,
            )
        except DuplicateKeyError:  # another relay holds a valid turn
            return False
        self._turno_hasta = time.monotonic() + self.turno
        return True

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            try:
                # Quiet waits service the broker connection (heartbeats): after a quiet spell
                # the first publish is as fast as any, not a failure and a reconnection.
                if not self.tengo_el_turno():
                    self.publicador.esperar(self.turno / 3, parar)
                    continue
                # A full batch may have more behind it; a partial one emptied the outbox as it
                # was read: what this process writes next wakes it (hay_eventos), what another
                # writes is seen at the next look. No second read that finds nothing (issue 10:
                # half the relay's reads were that one).
                if self._vuelta() >= self.lote:
                    continue
                if time.monotonic() - self._ultimo_envio > self.reposo_tras:
                    # Without renewing the turn: a long wait lets it lapse, and the next look
                    # takes it again (or leaves it to another worker that took it meanwhile).
                    self.vigia.vigilar(
                        parar,
                        self._vuelta,
                        self.pausa_en_reposo,
                        sin_flujo_s=1.0,
                        atender=self.publicador.atender,
                    )
                else:
                    self.publicador.esperar(self.pausa, parar, hay_eventos)
            except Exception:
                log.exception("relay: fallo al publicar, se reintenta")
                self.publicador.cerrar()
                parar.wait(1.0)
        self.soltar_turno()

    def _vuelta(self) -> int:
        enviados = self.una_vuelta()
        if enviados > 0:
            self._ultimo_envio = time.monotonic()
        return enviados

    def soltar_turno(self) -> None:
        """On a clean stop the turn passes at once to another worker (a restarted one too)."""
        self._turno_hasta = 0.0
        # Expired long ago, not "now": the store keeps milliseconds, and a worker asking within
        # the same millisecond would find `hasta < ahora` false and wait a whole lease.
        with contextlib.suppress(PyMongoError):
            self.db.relay.update_one(
                {"_id": "turno", "dueno": self.yo},
                {"$set": {"hasta": datetime.fromtimestamp(0, UTC)}},
            )
