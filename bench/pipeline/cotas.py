"""The machine's bound, measured in the same run: how many single-client round-trips a durable
store serves per second (one insert each, as the launcher starts it), and how many persistent,
confirmed publishes the broker takes per second from one publisher."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pika
from pymongo import MongoClient

SEGUNDOS = 4.0


def _puerto() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def inserciones_por_segundo(segundos: float = SEGUNDOS) -> float:
    """Single-client durable inserts per second on a fresh store of the launcher's kind."""
    with tempfile.TemporaryDirectory(prefix="cota-") as carpeta:
        puerto = _puerto()
        proceso = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "herramientas.almacen",
                "--port",
                str(puerto),
                "--datos",
                str(Path(carpeta) / "datos"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            cliente = MongoClient(f"mongodb://127.0.0.1:{puerto}", serverSelectionTimeoutMS=30000)
            coleccion = cliente.cota.docs
            coleccion.insert_one({"calentar": True})
            n, inicio = 0, time.perf_counter()
            while time.perf_counter() - inicio < segundos:
                coleccion.insert_one({"n": n, "texto": "x" * 200})
                n += 1
            tasa = n / (time.perf_counter() - inicio)
            cliente.close()
            return tasa
        finally:
            proceso.terminate()
            proceso.wait(30)


def publicaciones_por_segundo(amqp_url: str, segundos: float = SEGUNDOS) -> float:
    """Persistent publishes per second, each confirmed before the next, to a queue of its own."""
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    canal = conexion.channel()
    cola = f"cota-{uuid.uuid4().hex[:8]}"
    canal.queue_declare(cola, durable=True, arguments={"x-queue-type": "quorum"})
    canal.confirm_delivery()
    cuerpo = b"{" + b"x" * 600 + b"}"
    propiedades = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
    try:
        n, inicio = 0, time.perf_counter()
        while time.perf_counter() - inicio < segundos:
            canal.basic_publish("", cola, cuerpo, propiedades, mandatory=True)
            n += 1
        return n / (time.perf_counter() - inicio)
    finally:
        canal.queue_delete(cola)
        conexion.close()
