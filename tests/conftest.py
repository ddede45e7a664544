"""Shared fixtures for the integration and end-to-end suites (DESIGN.md §6).

Every test gets its own bus names (`bus_nombre`) and its own database (`db`), so runs do not
disturb each other. The broker is never started here: it must be running (`AMQP_URL`). The store is
`MONGO_URL` if given, otherwise an embedded `secantusd-py` started for the session.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from pika.exceptions import AMQPError, ChannelClosed
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from comun.bus import Topologia

AMQP_URL_POR_DEFECTO = "amqp://guest:guest@127.0.0.1:5672/%2F"
ESPERA_MONGO = 30.0

# The platform's consuming services: their queues are deleted for every test prefix, used or not.
SERVICIOS_CONOCIDOS = ("registro", "derivacion", "plazos", "notificaciones", "encuestas")


def _conectar_amqp(url: str) -> pika.BlockingConnection:
    parametros = pika.URLParameters(url)
    parametros.connection_attempts = 1
    parametros.socket_timeout = 5
    parametros.blocked_connection_timeout = 30
    return pika.BlockingConnection(parametros)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    url = os.environ.get("AMQP_URL", AMQP_URL_POR_DEFECTO)
    error = None
    try:
        _conectar_amqp(url).close()
    except (AMQPError, OSError) as exc:
        error = repr(exc)
    if error is not None:  # failed outside the `except`: no chained pika traceback
        pytest.fail(
            f"RabbitMQ no responde en {url} ({error}). Inícielo antes de las "
            "pruebas, p. ej. `docker run -d --name rabbitmq -p 5672:5672 rabbitmq:3.13` o "
            "`rabbitmq-server -detached` (o `docker compose up -d rabbitmq`), o defina AMQP_URL "
            "con la dirección de un broker disponible.",
            pytrace=False,
        )
    return url


def _puerto_libre() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mongo_responde(url: str) -> bool:
    cliente: MongoClient = MongoClient(
        url, serverSelectionTimeoutMS=500, connectTimeoutMS=500, directConnection=True
    )
    try:
        cliente.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        cliente.close()
    return True


def _parar(proceso: subprocess.Popen) -> None:
    if proceso.poll() is None:
        proceso.terminate()
        try:
            proceso.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proceso.kill()
            proceso.wait(timeout=10)


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    ejecutable = Path(sys.executable).parent / "secantusd-py"
    if not ejecutable.exists():
        pytest.fail(
            f"No hay MONGO_URL ni {ejecutable}: instale el extra `local` "
            '(`pip install -e ".[dev]"`) o defina MONGO_URL.',
            pytrace=False,
        )
    directorio = tmp_path_factory.mktemp("secantus")
    registro = directorio / "secantusd.log"
    # A free port can be taken between choosing it and binding it: a server that dies at once is
    # retried on another port.
    for intento in range(3):
        puerto = _puerto_libre()
        url = f"mongodb://127.0.0.1:{puerto}"
        with registro.open("ab") as salida:
            proceso = subprocess.Popen(
                [
                    str(ejecutable),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(puerto),
                    "--storage-path",
                    str(directorio / f"datos-{intento}"),
                ],
                stdout=salida,
                stderr=subprocess.STDOUT,
                cwd=directorio,  # no ./secantusd.toml from the working tree is picked up
            )
        limite = time.monotonic() + ESPERA_MONGO
        while proceso.poll() is None and time.monotonic() < limite:
            if _mongo_responde(url):
                break
            time.sleep(0.2)
        else:
            if proceso.poll() is not None:
                continue  # died (port taken?): try another port
            _parar(proceso)
            pytest.fail(
                f"secantusd-py no respondió a ping en {ESPERA_MONGO:.0f} s en {url}; "
                f"registro en {registro}:\n{registro.read_text(errors='replace')[-2000:]}",
                pytrace=False,
            )
        break
    else:
        pytest.fail(
            f"secantusd-py terminó al arrancar; registro en {registro}:\n"
            f"{registro.read_text(errors='replace')[-2000:]}",
            pytrace=False,
        )
    try:
        yield url
    finally:
        _parar(proceso)


class NombreBus(str):
    """The test's bus prefix (a plain `str` for Topologia). Services and extra queues a test uses
    beyond the platform's own are recorded with `servicio()` / `cola()` so teardown deletes them."""

    servicios: set[str]
    colas: set[str]

    def __new__(cls, valor: str) -> NombreBus:
        objeto = super().__new__(cls, valor)
        objeto.servicios = set(SERVICIOS_CONOCIDOS)
        objeto.colas = set()
        return objeto

    def servicio(self, nombre: str) -> str:
        self.servicios.add(nombre)
        return nombre

    def cola(self, nombre: str) -> str:
        self.colas.add(nombre)
        return nombre


def _borrar_topologia(url: str, prefijo: NombreBus) -> None:
    topo = Topologia(prefijo)
    colas = [c for s in sorted(prefijo.servicios) for c in topo.colas(s)]
    colas += sorted(prefijo.colas)
    intercambios = [f"{prefijo}.eventos", f"{prefijo}.dlx"]
    conexion = _conectar_amqp(url)
    try:
        canal = conexion.channel()
        for metodo, nombres in (
            (lambda c, n: c.queue_delete(n), colas),
            (lambda c, n: c.exchange_delete(n), intercambios),
        ):
            for nombre in nombres:
                try:
                    metodo(canal, nombre)  # deleting what does not exist is a no-op
                except ChannelClosed:
                    canal = conexion.channel()
    finally:
        with contextlib.suppress(AMQPError):
            conexion.close()


@pytest.fixture
def bus_nombre(amqp_url: str) -> Iterator[NombreBus]:
    prefijo = NombreBus(f"test-{uuid.uuid4().hex[:8]}")
    yield prefijo
    _borrar_topologia(amqp_url, prefijo)


@pytest.fixture(scope="session")
def _cliente_mongo(mongo_url: str) -> Iterator[MongoClient]:
    cliente: MongoClient = MongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000
    )
    yield cliente
    cliente.close()


@pytest.fixture
def db(_cliente_mongo: MongoClient) -> Iterator[Database]:
    base = _cliente_mongo[f"test_{uuid.uuid4().hex[:8]}"]
    yield base
    _cliente_mongo.drop_database(base.name)
