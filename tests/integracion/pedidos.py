"""What a client sends to the store, read off the wire (pymongo's command monitoring): the tests
of issue 10 count requests this way, never by timing them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pymongo import MongoClient, monitoring
from pymongo.database import Database


class Pedidos(monitoring.CommandListener):
    """Every command started, in order: (name, collection or None, the command)."""

    def __init__(self) -> None:
        self.vistos: list[tuple[str, str | None, dict]] = []

    def started(self, event) -> None:
        objetivo = event.command.get(event.command_name)
        coleccion = objetivo if isinstance(objetivo, str) else None
        self.vistos.append((event.command_name, coleccion, event.command))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def nombres(self, coleccion: str) -> list[str]:
        """The commands sent to `coleccion`, by name, in order."""
        return [nombre for nombre, c, _ in self.vistos if c == coleccion]

    def de(self, nombre: str, coleccion: str | None = None) -> list[dict]:
        """The commands called `nombre` (sent to `coleccion`, if given)."""
        return [
            cmd
            for n, c, cmd in self.vistos
            if n == nombre and (coleccion is None or c == coleccion)
        ]

    def olvidar(self) -> None:
        self.vistos.clear()


@contextlib.contextmanager
def vigilada(mongo_url: str, base: str) -> Iterator[tuple[Database, Pedidos]]:
    """The database `base` on a client of its own whose every command is kept."""
    pedidos = Pedidos()
    cliente = MongoClient(mongo_url, tz_aware=True, event_listeners=[pedidos])
    try:
        yield cliente[base], pedidos
    finally:
        cliente.close()
