"""Issue 10, idle: a quiet worker does not poll its store every second. What another process
writes (a service's web) reaches the relay and the figures' folder through the store's change
stream at once; the mail sender sleeps until its next delivery falls due. Real store (its change
streams), real broker, real SMTP; the writes come from another process, which cannot touch this
process's wake-ups."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from comun import almacen, cifras, outbox
from comun.bus import Publicador, declarar
from comun.metricas import Metricas
from comun.outbox import Relay
from herramientas.buzon import Buzon
from servicios.notificaciones import dependencias
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from tests import esperas
from tests.conftest import _puerto_libre
from tests.integracion.test_bus import cerrado, tomar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(90)]

# Written by another process: its commit touches that process's wake-ups, not this one's.
_OTRO_PROCESO = """
import sys
from pymongo import MongoClient
from comun import almacen, cifras, outbox
from comun.eventos import Evento
url, base, que, dato = sys.argv[1:5]
db = MongoClient(url, tz_aware=True)[base]
if que == "evento":
    evento = Evento.model_validate_json(dato)
    almacen.en_transaccion(db, lambda s: outbox.encolar(db, [evento], s))
else:
    despues = cifras.Aporte("minsa", "ogc", "2026-11", {"recibidos": 1})
    almacen.en_transaccion(db, lambda s: cifras.mover(db, None, despues, s))
"""


def _escribir_desde_otro_proceso(mongo_url: str, db: Database, que: str, dato: str = "") -> None:
    subprocess.run(
        [sys.executable, "-c", _OTRO_PROCESO, mongo_url, db.name, que, dato],
        check=True,
        timeout=60,
    )


class _Comandos(monitoring.CommandListener):
    def __init__(self) -> None:
        self.nombres: list[str] = []

    def started(self, event) -> None:
        self.nombres.append(event.command_name)

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


@pytest.fixture
def hilos():
    parar = threading.Event()
    lanzados: list[threading.Thread] = []

    def lanzar(objetivo) -> None:
        hilo = threading.Thread(target=objetivo, args=(parar,), daemon=True)
        hilo.start()
        lanzados.append(hilo)

    yield lanzar
    parar.set()
    for hilo in lanzados:
        hilo.join(15)
        assert not hilo.is_alive(), "el bucle no vio la orden de detenerse"


def test_un_evento_que_escribe_otro_proceso_despierta_al_relay_en_reposo(
    canal, topo, mongo_url, amqp_url, db: Database, hilos
):
    """The relay is quiet at once (`reposo_tras=0`) and looks on its own only every minute; an
    event another process commits is published within seconds (the old relay: a minute)."""
    declarar(canal, topo, "vigia", ["reclamo.cerrado"])
    outbox.preparar(db)
    relay = Relay(
        db,
        Publicador(amqp_url, topo),
        Metricas("vigia"),
        pausa=60.0,
        pausa_en_reposo=60.0,
        reposo_tras=0.0,
    )
    hilos(relay.correr)
    time.sleep(2.0)  # it found nothing and is waiting
    evento = cerrado("PDR-OTRO-PROCESO")
    _escribir_desde_otro_proceso(mongo_url, db, "evento", evento.model_dump_json())
    _, propiedades, _ = esperas.esperar(
        lambda: tomar(canal, topo.cola("vigia")), "el relay publica lo que escribió otro", 15
    )
    assert propiedades.message_id == evento.id
    assert esperas.esperar(
        lambda: db.outbox.find_one({"_id": evento.id, "pendiente": False}), "marcado enviado", 15
    )


def test_un_relay_en_reposo_no_pregunta_cada_segundo(canal, topo, mongo_url, amqp_url, hilos):
    """Counted on the wire: over 8 quiet seconds the relay sends the store a handful of
    requests (a change stream's waits, five seconds each), not one look a second."""
    comandos = _Comandos()
    cliente = MongoClient(mongo_url, tz_aware=True, event_listeners=[comandos])
    db = cliente[f"test_vigia_{time.monotonic_ns()}"]
    try:
        declarar(canal, topo, "vigia", ["reclamo.cerrado"])
        outbox.preparar(db)
        relay = Relay(db, Publicador(amqp_url, topo), Metricas("vigia"), reposo_tras=0.0)
        hilos(relay.correr)
        time.sleep(2.0)
        antes = len(comandos.nombres)
        time.sleep(8.0)
        en_reposo = comandos.nombres[antes:]
        # Old relay: a find (and its turn's renewal) every second, ≥ 8. Now ≤ 3 waits of 5 s.
        assert len(en_reposo) <= 4, en_reposo
        assert "find" not in en_reposo, en_reposo
    finally:
        cliente.drop_database(db.name)
        cliente.close()


def test_un_cambio_de_cifras_de_otro_proceso_se_pliega_sin_esperar_la_vuelta(
    mongo_url, db: Database, hilos
):
    """The folder, quiet, looks on its own only every minute; a change the web commits is
    folded within seconds."""
    cifras.preparar(db)
    plegador = cifras.Plegador(db, pausa=60.0, reposo_tras=0.0, pausa_en_reposo=60.0)
    hilos(plegador.correr)
    time.sleep(2.0)
    _escribir_desde_otro_proceso(mongo_url, db, "cifras")
    cubeta = esperas.esperar(
        lambda: db.cifras.find_one({"entidad": "minsa", "unidad": "ogc", "mes": "2026-11"}),
        "el cambio plegado",
        15,
    )
    assert cubeta["v"] == {"recibidos": 1}
    assert db.cifras_pendientes.count_documents({}) == 0


def test_el_cartero_duerme_hasta_que_vence_el_proximo_intento(db: Database, tmp_path, hilos):
    """A retry due in 3 s is sent when it falls due, though the cartero looks on its own only
    every minute (the old cartero: at its next look)."""
    puerto = _puerto_libre()
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    dependencias.preparar(db)
    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    try:

        def encolar(sesion) -> None:
            dependencias.encolar_entrega(
                db,
                sesion,
                "R-1111-2222-3333:acuse",
                "R-1111-2222-3333",
                "acuse",
                "ciudadano",
                "ana@prueba.pe",
                ("Reclamo R-1111-2222-3333 registrado", "Cuerpo"),
            )

        almacen.en_transaccion(db, encolar)
        # As a failed attempt leaves it: due again in 3 s.
        db.entregas.update_one(
            {"_id": "R-1111-2222-3333:acuse"},
            {"$set": {"proximo_intento": datetime.now(UTC) + timedelta(seconds=3)}},
        )
        hilos(Cartero(db, dependencias.Correo(ajustes), max_intentos=3, pausa=60.0).correr)
        esperas.esperar(
            lambda: db.entregas.find_one({"_id": "R-1111-2222-3333:acuse", "estado": "enviada"}),
            "el reintento enviado",
            20,
        )
        assert len(list((tmp_path / "correo").glob("*.eml"))) == 1
    finally:
        controlador.stop()
