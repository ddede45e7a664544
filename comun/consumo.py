"""Idempotent event handling (DESIGN.md §3).

The event id is recorded in `procesados` (its `_id`, so unique) in the same transaction as the
handler's effect and the events it emits. A redelivered or duplicated event finds its id there and
does nothing twice.

Under load the consumer hands over several events at once (`aplicar_lote`): one transaction, one
insert of their ids, one outbox insert and one commit for all of them (issue 10: the store's
round-trips are the platform's cost). If anything in it fails, nothing of it was written, and
the events are applied one by one, each with its own outcome (ack, retry, parking).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from comun import almacen, outbox
from comun.eventos import Datos, Evento
from comun.logs import con_correlacion, correlacion_actual, id_seguro
from comun.metricas import Metricas

log = logging.getLogger(__name__)

# A handler writes its effect with the session and returns the events it implies (maybe none).
Manejador = Callable[[Evento, Datos, ClientSession], Iterable[Evento] | None]


class _YaProcesado(Exception):
    pass


def _causado_por(causa: Evento, evento: Evento) -> Evento:
    """An event a handler emits carries the correlation of its cause's chain; a cause without one
    (a sweep's warning, a direct call) lends its own id, so the chain can still be followed."""
    if evento.correlacion:
        return evento
    return evento.model_copy(update={"correlacion": causa.correlacion or causa.id})


class Despachador:
    """Routes each event to its handler and applies it exactly once in effect."""

    def __init__(
        self, db: Database, servicio: str, manejadores: dict[str, Manejador], metricas: Metricas
    ) -> None:
        self.db = db
        self.servicio = servicio
        self.manejadores = manejadores
        self.metricas = metricas

    @property
    def claves(self) -> list[str]:
        return sorted(self.manejadores)

    def __call__(self, evento: Evento, datos: Datos) -> None:
        inicio = time.perf_counter()
        resultado = "error"
        try:
            resultado = "aplicado" if self.aplicar(evento, datos) else "duplicado"
        finally:
            self.metricas.evento_procesado(evento.tipo, resultado, time.perf_counter() - inicio)

    def aplicar(self, evento: Evento, datos: Datos) -> bool:
        if evento.tipo not in self.manejadores:
            return False

        # No read first: the id's insert is the check (a repeat is rare; a read per event is not).
        def trabajo(sesion: ClientSession) -> None:
            try:
                self.db.procesados.insert_one(
                    {"_id": evento.id, "tipo": evento.tipo, "en": datetime.now(UTC)},
                    session=sesion,
                )
            except DuplicateKeyError as exc:  # another worker applied it meanwhile
                raise _YaProcesado from exc
            self._manejar([(evento, datos)], sesion)

        try:
            almacen.en_transaccion(self.db, trabajo)
        except _YaProcesado:
            return False
        _registrar_aplicado(evento)
        return True

    def aplicar_lote(self, lote: Sequence[tuple[Evento, Datos]]) -> None:
        """Applies every event of `lote`, in order, in one transaction, or none of them: raises
        what the transaction raised (a repeated id as BulkWriteError); the caller then goes one
        by one."""
        inicio = time.perf_counter()
        propios = [(e, d) for e, d in lote if e.tipo in self.manejadores]

        def trabajo(sesion: ClientSession) -> None:
            if not propios:
                return
            ahora = datetime.now(UTC)
            # A repeat (DuplicateKeyError) aborts the whole batch: rare, and then each event
            # finds out alone whether it was applied.
            self.db.procesados.insert_many(
                [{"_id": e.id, "tipo": e.tipo, "en": ahora} for e, _ in propios],
                session=sesion,
            )
            self._manejar(propios, sesion)

        almacen.en_transaccion(self.db, trabajo)
        parte = (time.perf_counter() - inicio) / max(1, len(lote))
        for evento, _ in lote:
            aplicado = evento.tipo in self.manejadores
            self.metricas.evento_procesado(
                evento.tipo, "aplicado" if aplicado else "duplicado", parte
            )
            if aplicado:
                with con_correlacion(_correlacion(evento)):
                    _registrar_aplicado(evento)

    def _manejar(self, pares: Sequence[tuple[Evento, Datos]], sesion: ClientSession) -> None:
        """Each event's handler, in order, then the events they imply into the outbox, all in
        `sesion`'s transaction."""
        emitidos: list[Evento] = []
        for evento, datos in pares:
            with con_correlacion(_correlacion(evento)):
                hechos = self.manejadores[evento.tipo](evento, datos, sesion) or ()
            emitidos.extend(_causado_por(evento, e) for e in hechos)
        outbox.encolar(self.db, emitidos, sesion)


def _correlacion(evento: Evento) -> str | None:
    """The chain an event's log lines carry, as the consumer sets it for one message: the
    event's own, else the message's, else its id (a batch has no message of its own)."""
    return id_seguro(evento.correlacion) or correlacion_actual() or id_seguro(evento.id)


def _registrar_aplicado(evento: Evento) -> None:
    log.info(
        "evento aplicado",
        extra={"tipo": evento.tipo, "evento": evento.id, "codigo": evento.codigo},
    )
