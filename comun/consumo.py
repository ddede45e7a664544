"""Idempotent event handling (DESIGN.md §3).

The event id is recorded in `procesados` (its `_id`, so unique) in the same transaction as the
handler's effect and the events it emits. A redelivered or duplicated event finds its id there and
does nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from comun import almacen, outbox
from comun.eventos import Datos, Evento
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
        manejador = self.manejadores.get(evento.tipo)
        if manejador is None:
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
            emitidos = manejador(evento, datos, sesion) or ()
            outbox.encolar(self.db, [_causado_por(evento, e) for e in emitidos], sesion)

        try:
            almacen.en_transaccion(self.db, trabajo)
        except _YaProcesado:
            return False
        log.info(
            "evento aplicado",
            extra={"tipo": evento.tipo, "evento": evento.id, "codigo": evento.codigo},
        )
        return True
