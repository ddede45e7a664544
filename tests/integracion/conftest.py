"""Fixtures shared by the integration tests: the bus, the domain clock, and the services' apps
(tests/integracion/servicios.py builds them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from pymongo.database import Database

from comun.bus import Topologia
from tests.integracion.ciudadano import Ciudadano
from tests.integracion.plazos import despachador, preparar_almacen
from tests.integracion.servicios import app_de_servicio


@pytest.fixture
def topo(bus_nombre) -> Topologia:
    # Short retry delay: the tests wait for retries, they do not measure them.
    return Topologia(bus_nombre, retraso_reintento_ms=200)


@pytest.fixture
def canal(amqp_url: str) -> Iterator:
    """A channel with publisher confirms: a test's publish has reached its queue when it returns
    (and an unroutable `mandatory` one raises), so what the test sets up is there."""
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    canal = conexion.channel()
    canal.confirm_delivery()
    yield canal
    if conexion.is_open:
        conexion.close()


@pytest.fixture
def reloj_archivo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The domain clock's file (RELOJ_ARCHIVO) for this process and the apps it builds: no offset
    yet; `comun.reloj.adelantar` or `plazos.poner_reloj` move it."""
    archivo = tmp_path / "reloj"
    archivo.write_text("0")
    monkeypatch.setenv("RELOJ_ARCHIVO", str(archivo))
    return archivo


@pytest.fixture
def registro(mongo_url, db: Database, amqp_url, bus_nombre, reloj_archivo, monkeypatch):
    """registro's web app on the test's database, called as for an anonymous citizen."""
    app = app_de_servicio(
        monkeypatch,
        "registro",
        db,
        mongo_url,
        amqp_url,
        bus_nombre,
        URL_PORTAL="https://reclamos.example.pe/",
    )
    return Ciudadano(app.test_client(), db)


@pytest.fixture
def plazos_db(db: Database) -> Database:
    """The test's database prepared as the plazos worker prepares its own."""
    preparar_almacen(db)
    return db


@pytest.fixture
def despachar(plazos_db: Database):
    """Applies one event with plazos' handlers (the default policy); False if already applied."""
    return despachador(plazos_db)
