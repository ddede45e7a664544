"""Faults: the store goes down under a running consumer. Nothing is parked, nothing is lost, and
once the store is back every event is applied exactly once in effect."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pika
import pytest

from comun import almacen
from comun.bus import Consumidor, Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.eventos import ReclamoCerrado, nuevo_evento
from comun.metricas import Metricas
from tests.conftest import _mongo_responde, _parar, _puerto_libre
from tests.esperas import esperar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]


def _arrancar_almacen(puerto: int, datos: Path) -> subprocess.Popen:
    # The launcher's durable store (sync on commit): what a kill -9 in production meets.
    proceso = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "herramientas.almacen",
            "--port",
            str(puerto),
            "--datos",
            str(datos),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        cwd=datos.parent,
    )
    esperar(lambda: _mongo_responde(f"mongodb://127.0.0.1:{puerto}"), "el almacén arranca")
    return proceso


def test_el_consumo_se_pausa_mientras_el_almacen_no_responde(amqp_url, bus_nombre, tmp_path):
    puerto, datos = _puerto_libre(), tmp_path / "datos"
    almacen_proceso = _arrancar_almacen(puerto, datos)
    db = almacen.conectar(f"mongodb://127.0.0.1:{puerto}", "caidas")
    topo = Topologia(bus_nombre, retraso_reintento_ms=200)
    servicio = bus_nombre.servicio("caidas")

    def cerrar(evento, datos_evento, sesion):
        db.cierres.insert_one({"codigo": evento.codigo}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("caidas"))
    consumidor = Consumidor(
        amqp_url,
        topo,
        servicio,
        despachador.claves,
        despachador,
        disponible=lambda: almacen.responde(db),
    )
    parar = threading.Event()
    hilo = threading.Thread(target=consumidor.correr, args=(parar,), daemon=True)
    hilo.start()
    publicador = Publicador(amqp_url, topo)
    canal = pika.BlockingConnection(pika.URLParameters(amqp_url)).channel()
    try:
        declarar(canal, topo, servicio, despachador.claves)

        def cola(nombre: str):
            return canal.queue_declare(nombre, passive=True).method

        def evento(codigo: str):
            datos_evento = ReclamoCerrado(entidad_id="minsa", motivo="prueba")
            return nuevo_evento("reclamo.cerrado", datos_evento, fuente="prueba", codigo=codigo)

        publicador.publicar(evento("R-ANTES"))
        esperar(lambda: db.cierres.find_one({"codigo": "R-ANTES"}), "aplicado antes de la caída")

        _parar(almacen_proceso)  # the store goes down
        for i in range(5):
            publicador.publicar(evento(f"R-DURANTE-{i}"))
        # The consumer met the outage (selection times out in 5 s) and paused: nothing parked.
        esperar(
            lambda: (
                canal.queue_declare(topo.cola(servicio), passive=True).method.consumer_count == 0
            ),
            "el consumidor se pausa",
            plazo=30,
        )
        assert (
            canal.queue_declare(topo.cola_parking(servicio), passive=True).method.message_count == 0
        )

        almacen_proceso = _arrancar_almacen(puerto, datos)  # back, with its data
        esperar(lambda: db.cierres.count_documents({}) == 6, "todo aplicado al volver", plazo=60)
        assert sorted(d["codigo"] for d in db.cierres.find()) == sorted(
            ["R-ANTES", *(f"R-DURANTE-{i}" for i in range(5))]
        )
        assert (
            canal.queue_declare(topo.cola_parking(servicio), passive=True).method.message_count == 0
        )
    finally:
        parar.set()
        hilo.join(timeout=15)
        publicador.cerrar()
        canal.connection.close()
        _parar(almacen_proceso)
