"""The worker entrypoint every service shares: its consumers, the outbox relay, and any periodic
loop of its own, each in its own thread with its own broker connection; metrics on a port of
HOST_METRICAS (loopback by default)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from prometheus_client import start_http_server
from pymongo.database import Database

from comun import almacen, outbox
from comun.ajustes import Ajustes
from comun.bus import Consumidor, Publicador
from comun.consumo import Despachador, Manejador
from comun.metricas import Metricas
from comun.outbox import Relay

log = logging.getLogger(__name__)

Bucle = Callable[[threading.Event], None]


def correr_worker(
    servicio: str,
    ajustes: Ajustes,
    db: Database,
    manejadores: dict[str, Manejador],
    bucles: dict[str, Bucle] | None = None,
    parar: threading.Event | None = None,
) -> None:
    """Runs until SIGTERM/SIGINT (or `parar` is set)."""
    parar = parar or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: parar.set())
        signal.signal(signal.SIGINT, lambda *_: parar.set())
    metricas = Metricas(servicio)
    # Loopback unless HOST_METRICAS says otherwise: the counters are for Prometheus, not the world.
    servidor_metricas, _ = start_http_server(ajustes.puerto_metricas, addr=ajustes.host_metricas)
    topo = ajustes.topologia()
    # The outbox's backlog, counted in the store when Prometheus scrapes: visible whatever the
    # relay is doing (the broker down, another worker holding the turn).
    outbox.medir(db, servicio)
    despachador = Despachador(db, servicio, manejadores, metricas)
    tareas: dict[str, Bucle] = {
        "relay": Relay(db, Publicador(ajustes.amqp_url, topo), metricas).correr,
        **(bucles or {}),
    }
    if manejadores:
        consumidor = Consumidor(
            ajustes.amqp_url,
            topo,
            servicio,
            despachador.claves,
            despachador,
            prefetch=ajustes.prefetch,
            hilos=ajustes.hilos_consumo,
            disponible=lambda: almacen.responde(db),
            metricas=metricas,
            procesar_lote=despachador.aplicar_lote,
            lote=ajustes.lote_consumo,
        )
        tareas["consumidor"] = consumidor.correr
    hilos = [
        threading.Thread(target=_vigilado(nombre, tarea, parar), name=nombre, daemon=True)
        for nombre, tarea in tareas.items()
    ]
    for hilo in hilos:
        hilo.start()
    log.info("worker listo", extra={"claves": despachador.claves, "hilos": list(tareas)})
    parar.wait()
    for hilo in hilos:
        hilo.join(timeout=10)
    servidor_metricas.shutdown()
    servidor_metricas.server_close()
    log.info("worker detenido")


def _vigilado(nombre: str, tarea: Bucle, parar: threading.Event) -> Callable[[], None]:
    """Keeps a loop alive: an unexpected error is logged and the loop restarts."""

    def correr() -> None:
        while not parar.is_set():
            try:
                tarea(parar)
            except Exception:
                log.exception("hilo %s falló; se reinicia", nombre)
                parar.wait(1.0)

    return correr
