"""Idle AMQP connections (issue 7, finding 11): after a quiet spell the relay's first publish is
as fast as any, not a failure, a traceback and a reconnection.

Between the relay and the real broker runs a TCP link the test controls (`Enlace`). It drops a
connection whose client has sent nothing for 3 s, as RabbitMQ does for missed heartbeats (and as a
NAT or firewall drops an idle flow); it can also cut every connection at once, as a broker restart
does. The relay's URL asks for a 2 s heartbeat, so a connection kept serviced sends a frame every
second and is never idle that long."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import pika
import pytest
from pymongo.database import Database

from comun import almacen, outbox
from comun.bus import Publicador, Topologia, declarar
from comun.metricas import Metricas
from comun.outbox import Relay
from tests.integracion.test_bus import cerrado, esperar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]

SILENCIO = 3.0  # seconds without a byte from the client before the link drops the connection


class Enlace:
    """A TCP link to the broker that drops a connection silent for `silencio` seconds and cuts
    every connection at once with `cortar()`. Counts the connections it carried and dropped."""

    def __init__(self, destino: tuple[str, int], silencio: float) -> None:
        self.destino = destino
        self.silencio = silencio
        self.conexiones = 0
        self.caidas = 0
        self._generacion = 0
        self._parar = threading.Event()
        self._servidor = socket.create_server(("127.0.0.1", 0))
        self._servidor.settimeout(0.2)
        self.puerto = self._servidor.getsockname()[1]
        threading.Thread(target=self._aceptar, daemon=True).start()

    def cortar(self) -> None:
        self._generacion += 1

    def cerrar(self) -> None:
        self._parar.set()
        self._servidor.close()

    def _aceptar(self) -> None:
        while not self._parar.is_set():
            try:
                cliente, _ = self._servidor.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.conexiones += 1
            broker = socket.create_connection(self.destino)
            hilo = threading.Thread(target=self._llevar, args=(cliente, broker), daemon=True)
            hilo.start()

    def _llevar(self, cliente: socket.socket, broker: socket.socket) -> None:
        generacion = self._generacion
        ultimo = time.monotonic()  # last bytes from the client
        with cliente, broker:
            while not self._parar.is_set() and generacion == self._generacion:
                listos, _, _ = select.select([cliente, broker], [], [], 0.05)
                for origen in listos:
                    datos = origen.recv(65536)
                    if not datos:
                        return
                    (broker if origen is cliente else cliente).sendall(datos)
                    if origen is cliente:
                        ultimo = time.monotonic()
                if time.monotonic() - ultimo > self.silencio:
                    self.caidas += 1
                    return


@pytest.fixture
def enlace(amqp_url: str) -> Iterator[Enlace]:
    parametros = pika.URLParameters(amqp_url)
    e = Enlace((parametros.host, parametros.port), SILENCIO)
    yield e
    e.cerrar()


def por_el_enlace(amqp_url: str, enlace: Enlace, consulta: str = "") -> str:
    """The broker's URL through the link (same credentials and vhost)."""
    p = pika.URLParameters(amqp_url)
    usuario, clave = (quote(x, safe="") for x in (p.credentials.username, p.credentials.password))
    credencial = f"{usuario}:{clave}"
    vhost = quote(p.virtual_host, safe="")
    return f"amqp://{credencial}@127.0.0.1:{enlace.puerto}/{vhost}{consulta}"


@contextlib.contextmanager
def relay_corriendo(db: Database, publicador: Publicador) -> Iterator[None]:
    parar = threading.Event()
    relay = Relay(db, publicador, Metricas("silencio"))
    hilo = threading.Thread(target=relay.correr, args=(parar,), daemon=True)
    hilo.start()
    try:
        yield
    finally:
        parar.set()
        hilo.join(timeout=10)
        publicador.cerrar()


def escribir_y_esperar(db: Database, codigo: str, plazo: float) -> None:
    """Writes one event to the outbox and waits until the relay marked it sent."""
    evento = cerrado(codigo)
    almacen.en_transaccion(db, lambda s: outbox.encolar(db, [evento], s))
    esperar(
        lambda: db.outbox.find_one({"_id": evento.id, "pendiente": False}),
        f"el relay publica {codigo}",
        plazo,
    )


@pytest.fixture
def preparado(amqp_url: str, bus_nombre, db: Database) -> Topologia:
    """The test's exchange, with a queue bound to what the relay publishes."""
    topo = Topologia(bus_nombre)
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declarar(conexion.channel(), topo, bus_nombre.servicio("silencio"), ["reclamo.cerrado"])
    finally:
        conexion.close()
    outbox.preparar(db)
    return topo


def test_tras_un_silencio_el_primer_evento_sale_por_la_misma_conexion(
    amqp_url, enlace, preparado, db: Database, caplog
):
    publicador = Publicador(por_el_enlace(amqp_url, enlace, "?heartbeat=2"), preparado)
    with relay_corriendo(db, publicador):
        escribir_y_esperar(db, "R-SLNC-AAAA-0001", plazo=10)
        time.sleep(2 * SILENCIO)  # a quiet platform: nothing to publish
        escribir_y_esperar(db, "R-SLNC-AAAA-0002", plazo=10)

    assert enlace.caidas == 0, "la conexión inactiva no se atendió y se cayó"
    assert enlace.conexiones == 1, "el relay tuvo que reconectarse"
    assert not [r for r in caplog.records if r.name == "comun.outbox"]  # no failed publish


def test_una_conexion_cortada_en_silencio_se_repone_antes_de_publicar(
    amqp_url, enlace, preparado, db: Database, caplog
):
    publicador = Publicador(por_el_enlace(amqp_url, enlace), preparado)
    with relay_corriendo(db, publicador):
        escribir_y_esperar(db, "R-SLNC-AAAA-0003", plazo=10)
        enlace.cortar()  # the broker restarts, or the network drops the connection
        time.sleep(1.0)
        escribir_y_esperar(db, "R-SLNC-AAAA-0004", plazo=10)

    assert enlace.conexiones == 2  # a new connection, opened before publishing
    assert not [r for r in caplog.records if r.name == "comun.outbox"]  # no failed publish
