"""A service's web app on the test's store and bus, called as the gateway calls it.

`app_de_servicio` sets the environment a service process reads (store, bus, internal token) and
builds its Flask app; `como` gives the headers of a request the gateway forwards (the internal
token and who is calling); `servido` serves an app over HTTP, for the real gateway in front."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from pymongo.database import Database
from werkzeug.serving import make_server

from tests.conftest import _puerto_libre

TOKEN = "token-interno-de-prueba-0123456789"


def app_de_servicio(
    monkeypatch: pytest.MonkeyPatch,
    servicio: str,
    db: Database,
    mongo_url: str,
    amqp_url: str,
    bus_nombre: str | None = None,
    **entorno_extra: str | None,
) -> Flask:
    """`servicios.<servicio>.service.crear_app()` on `db`, with the token `TOKEN`. `bus_nombre`,
    when given, is the bus prefix; each extra variable is set, or removed when None."""
    entorno: dict[str, str | None] = {
        "MONGO_URL": mongo_url,
        "MONGO_DB": db.name,
        "TOKEN_INTERNO": TOKEN,
        "AMQP_URL": amqp_url,
    }
    if bus_nombre is not None:
        entorno["BUS_NOMBRE"] = str(bus_nombre)
    for nombre, valor in (entorno | entorno_extra).items():
        if valor is None:
            monkeypatch.delenv(nombre, raising=False)
        else:
            monkeypatch.setenv(nombre, valor)
    return importlib.import_module(f"servicios.{servicio}.service").crear_app()


def como(
    rol: str, entidad: str | None = None, unidad: str | None = None, **extra: str
) -> dict[str, str]:
    """The headers of a request the gateway forwards for `rol` (of `entidad`, `unidad`)."""
    cabeceras = {"X-Token-Interno": TOKEN, "X-Rol": rol}
    if entidad:
        cabeceras["X-Entidad"] = entidad
    if unidad:
        cabeceras["X-Unidad"] = unidad
    return cabeceras | extra


@contextmanager
def servido(app: Flask) -> Iterator[str]:
    """`app` served over HTTP on a free local port while inside; yields its base URL."""
    puerto = _puerto_libre()
    servidor = make_server("127.0.0.1", puerto, app, threaded=True)
    hilo = threading.Thread(target=servidor.serve_forever, daemon=True)
    hilo.start()
    try:
        yield f"http://127.0.0.1:{puerto}"
    finally:
        servidor.shutdown()
        hilo.join(timeout=10)
