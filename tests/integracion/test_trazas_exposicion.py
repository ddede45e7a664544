"""What a process exposes (issue 7, findings 8a and 12b): a worker's /metrics listens on
HOST_METRICAS (loopback unless told otherwise), and each gunicorn runs without a control socket,
so the services' gunicorns do not share (and fight over) one `~/.gunicorn/gunicorn.ctl`."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo.database import Database

from comun.ajustes import Ajustes
from comun.worker import correr_worker
from tests.conftest import _parar, _puerto_libre
from tests.integracion.test_bus import esperar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(90)]

RAIZ = Path(__file__).resolve().parents[2]
# Any loopback address but 127.0.0.1: a socket bound to 127.0.0.1 does not answer there, one
# bound to every interface does.
OTRA_DIRECCION = "127.0.0.2"


def _responde(host: str, puerto: int) -> bool:
    try:
        with socket.create_connection((host, puerto), timeout=1):
            return True
    except OSError:
        return False


def _sirve(puerto: int) -> bool:
    """A worker of that gunicorn answers (not only its master's listening socket)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{puerto}/", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def otra_direccion() -> str:
    """Skips where 127.0.0.2 is not a local address (only 127.0.0.1 on some systems)."""
    try:
        with socket.create_server((OTRA_DIRECCION, 0)):
            pass
    except OSError:
        pytest.skip(f"{OTRA_DIRECCION} no es una dirección local en esta máquina")
    return OTRA_DIRECCION


@contextlib.contextmanager
def worker(db: Database, amqp_url: str, bus_nombre: str, **ajustes: str) -> Iterator[int]:
    """A worker with no handlers (its relay only) running in a thread; yields its metrics port."""
    puerto = _puerto_libre()
    config = Ajustes(
        token_interno="x" * 32,
        amqp_url=amqp_url,
        bus_nombre=bus_nombre,
        puerto_metricas=puerto,
        **ajustes,
    )
    parar = threading.Event()
    hilo = threading.Thread(
        target=correr_worker, args=("prueba", config, db, {}), kwargs={"parar": parar}, daemon=True
    )
    hilo.start()
    try:
        esperar(lambda: _responde("127.0.0.1", puerto), "el worker sirve /metrics", 10)
        yield puerto
    finally:
        parar.set()
        hilo.join(timeout=15)


def test_las_metricas_del_worker_escuchan_solo_en_loopback_salvo_que_se_diga(
    db, amqp_url, bus_nombre, otra_direccion, monkeypatch
):
    monkeypatch.delenv("HOST_METRICAS", raising=False)
    with worker(db, amqp_url, bus_nombre) as puerto:
        with urllib.request.urlopen(f"http://127.0.0.1:{puerto}/metrics", timeout=5) as r:
            assert b"outbox_publicados" in r.read()
        assert not _responde(otra_direccion, puerto)

    # Inside compose's network: HOST_METRICAS=0.0.0.0 (and the probe above can tell them apart).
    with worker(db, amqp_url, bus_nombre, host_metricas="0.0.0.0") as puerto:
        assert _responde(otra_direccion, puerto)


APP_MINIMA = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_cada_gunicorn_arranca_sin_socket_de_control_compartido(tmp_path: Path):
    """Three services' gunicorns of one user, started together as the launcher does."""
    casa = tmp_path / "casa"
    casa.mkdir()
    (tmp_path / "app_minima.py").write_text(APP_MINIMA)
    entorno = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    entorno |= {"HOME": str(casa), "HOST": "127.0.0.1", "PYTHONPATH": f"{RAIZ}:{tmp_path}"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    procesos: list[tuple[int, subprocess.Popen, Path]] = []
    try:
        for i in range(3):
            puerto = _puerto_libre()
            registro = tmp_path / f"gunicorn-{i}.log"
            with registro.open("wb") as salida:
                proceso = subprocess.Popen(
                    [str(gunicorn), "-c", "python:comun.gunicorn_conf", "app_minima:app"],
                    env=entorno | {"PUERTO": str(puerto)},
                    cwd=tmp_path,
                    stdout=salida,
                    stderr=subprocess.STDOUT,
                )
            procesos.append((puerto, proceso, registro))
        for puerto, _, _ in procesos:
            esperar(lambda p=puerto: _sirve(p), f"gunicorn atiende en {puerto}", 30)
        # gunicorn starts its control socket in a thread right after booting its workers.
        time.sleep(2)

        assert not (casa / ".gunicorn").exists()
        assert list(tmp_path.rglob("*.ctl")) == []
        for _, _, registro in procesos:
            texto = registro.read_text()
            assert "Control socket" not in texto and "Control server" not in texto, texto
            assert "ERROR" not in texto, texto
    finally:
        for _, proceso, _ in procesos:
            _parar(proceso)
