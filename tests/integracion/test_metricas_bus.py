"""The bus's metrics on the real broker and store: a message that fails every time is counted as
retried then parked; one that is not an event, as parked at once; a lock wait, as a retry. The
outbox backlog is read from the store when Prometheus scrapes a worker's /metrics, so it grows
while the broker is down (no relay can publish) and drops to 0 once one can."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pymongo.database import Database

from comun import almacen, metricas, outbox
from comun.ajustes import Ajustes
from comun.almacen import AlmacenOcupado
from comun.bus import Consumidor, Publicador, declarar
from comun.consumo import Despachador
from comun.metricas import Metricas
from comun.outbox import Relay
from comun.worker import correr_worker
from tests.conftest import _puerto_libre
from tests.esperas import esperar
from tests.integracion.test_bus import cerrado, corriendo, tomar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]


def _valor(nombre: str, **etiquetas: str) -> float:
    return REGISTRY.get_sample_value(nombre, etiquetas) or 0.0


def _cuenta_mensajes(canal, cola: str) -> int:
    return canal.queue_declare(cola, passive=True).method.message_count


def test_un_mensaje_que_siempre_falla_cuenta_sus_reintentos_y_su_aparcamiento(
    amqp_url, canal, topo, bus_nombre, db: Database
):
    servicio = bus_nombre.servicio("metricas")
    limite = 3
    topo = replace(topo, limite_intentos=limite)
    declarar(canal, topo, servicio, ["reclamo.cerrado"])

    def manejar(evento, datos, sesion):
        raise ValueError("siempre falla")

    despachador = Despachador(db, servicio, {"reclamo.cerrado": manejar}, Metricas(servicio))
    consumidor = Consumidor(
        amqp_url, topo, servicio, despachador.claves, despachador, metricas=Metricas(servicio)
    )
    # Every series exists from the start, at 0: a dashboard's rate() is 0, not "no data".
    for causa in metricas.CAUSAS_APARCADO:
        assert REGISTRY.get_sample_value(
            "mensajes_aparcados_total", {"servicio": servicio, "causa": causa}
        ) == pytest.approx(0)
    antes_fallo = _valor("mensajes_aparcados_total", servicio=servicio, causa="fallo")
    antes_invalido = _valor("mensajes_aparcados_total", servicio=servicio, causa="invalido")
    antes_reintentos = _valor("mensajes_reintentados_total", servicio=servicio, causa="fallo")

    canal.basic_publish(
        topo.intercambio, "reclamo.cerrado", cerrado().model_dump_json().encode(), mandatory=True
    )
    canal.basic_publish(
        topo.intercambio, "reclamo.cerrado", b'{"esto": "no es un evento"}', mandatory=True
    )
    with corriendo(consumidor):
        esperar(
            lambda: _cuenta_mensajes(canal, topo.cola_parking(servicio)) == 2,
            "los dos mensajes llegan al parking",
        )
        # The counter moves right after the confirmed copy; let the ack go out too.
        esperar(
            lambda: (
                _valor("mensajes_aparcados_total", servicio=servicio, causa="fallo")
                == antes_fallo + 1
            ),
            "el aparcado por fallo contado",
        )

    # limite attempts: the first and limite - 1 retries, then the parking queue.
    assert _valor("mensajes_reintentados_total", servicio=servicio, causa="fallo") == (
        antes_reintentos + limite - 1
    )
    assert _valor("mensajes_aparcados_total", servicio=servicio, causa="fallo") == antes_fallo + 1
    assert (
        _valor("mensajes_aparcados_total", servicio=servicio, causa="invalido")
        == antes_invalido + 1
    )
    assert _cuenta_mensajes(canal, topo.cola_parking(servicio)) == 2


def test_una_espera_por_bloqueo_cuenta_como_reintento_no_como_fallo(
    amqp_url, canal, topo, bus_nombre, db: Database
):
    servicio = bus_nombre.servicio("bloqueo")
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    quedan = {"bloqueos": 2}

    def manejar(evento, datos, sesion):
        if quedan["bloqueos"]:
            quedan["bloqueos"] -= 1
            raise AlmacenOcupado("otra transacción lo tiene")
        db.cierres.insert_one({"evento": evento.id}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": manejar}, Metricas(servicio))
    consumidor = Consumidor(
        amqp_url, topo, servicio, despachador.claves, despachador, metricas=Metricas(servicio)
    )
    antes = {
        causa: _valor("mensajes_reintentados_total", servicio=servicio, causa=causa)
        for causa in metricas.CAUSAS_REINTENTO
    }
    canal.basic_publish(
        topo.intercambio, "reclamo.cerrado", cerrado().model_dump_json().encode(), mandatory=True
    )
    with corriendo(consumidor):
        esperar(lambda: db.cierres.count_documents({}) == 1, "el evento aplicado")

    assert _valor("mensajes_reintentados_total", servicio=servicio, causa="bloqueo") == (
        antes["bloqueo"] + 2
    )
    assert (
        _valor("mensajes_reintentados_total", servicio=servicio, causa="fallo") == (antes["fallo"])
    )
    assert tomar(canal, topo.cola_parking(servicio)) is None


# --- the outbox backlog, read at scrape time ------------------------------------------------------


def _leer_metricas(puerto: int) -> dict[tuple[str, tuple], float]:
    texto = httpx.get(f"http://127.0.0.1:{puerto}/metrics", timeout=10).text
    return {
        (m.name, tuple(sorted(m.labels.items()))): m.value
        for familia in text_string_to_metric_families(texto)
        for m in familia.samples
    }


def _muestra(puerto: int, nombre: str, servicio: str) -> float | None:
    return _leer_metricas(puerto).get((nombre, (("servicio", servicio),)))


def _escribir(db: Database, n: int) -> None:
    eventos = [cerrado(codigo=f"PDR-2026-{i:06d}") for i in range(n)]
    almacen.en_transaccion(db, lambda sesion: outbox.encolar(db, eventos, sesion))


def test_el_atraso_del_outbox_crece_con_el_broker_caido_y_baja_cuando_vuelve(
    amqp_url, canal, topo, bus_nombre, db: Database
):
    servicio = bus_nombre.servicio("outbox")
    almacen.asegurar_colecciones(db, "procesados", "outbox", "relay")
    outbox.preparar(db)
    puerto = _puerto_libre()
    # A broker that is down for this worker: nothing listens on that port.
    muerto = f"amqp://guest:guest@127.0.0.1:{_puerto_libre()}/%2F"
    ajustes = Ajustes(
        token_interno="x" * 32, amqp_url=muerto, puerto_metricas=puerto, bus_nombre=bus_nombre
    )
    parar = threading.Event()
    hilo = threading.Thread(
        target=correr_worker, args=(servicio, ajustes, db, {}, None, parar), daemon=True
    )
    hilo.start()
    try:
        esperar(lambda: _muestra(puerto, "outbox_pendientes", servicio) == 0, "outbox vacío")
        escrito_desde = time.time()
        _escribir(db, 3)
        escrito_hasta = time.time()
        esperar(lambda: _muestra(puerto, "outbox_pendientes", servicio) == 3, "3 pendientes")
        _escribir(db, 4)
        esperar(lambda: _muestra(puerto, "outbox_pendientes", servicio) == 7, "7 pendientes")
        leido_desde = time.time()
        edad = _muestra(puerto, "outbox_antiguedad_segundos", servicio)
        leido_hasta = time.time()
        # The oldest was written between escrito_desde and escrito_hasta (its ObjectId has
        # whole seconds, and the value may be up to the reading's cache old: 5 s).
        assert edad is not None
        assert leido_desde - escrito_hasta - 5 - 1 <= edad <= leido_hasta - escrito_desde + 1
        assert edad >= 4  # the second write was seen at least one cached reading later
        correcta = _leer_metricas(puerto)[
            ("medicion_correcta", (("medicion", "outbox"), ("servicio", servicio)))
        ]
        assert correcta == 1
        assert db.outbox.count_documents({"pendiente": True}) == 7  # nothing was published
    finally:
        parar.set()
        hilo.join(timeout=20)
    assert not hilo.is_alive()

    # The broker answers again (a relay on the real one): the backlog drains, the gauges say so.
    destino = bus_nombre.servicio("destino")
    declarar(canal, topo, destino, ["reclamo.cerrado"])
    relay = Relay(db, Publicador(amqp_url, topo), Metricas(servicio))
    parar_relay = threading.Event()
    hilo_relay = threading.Thread(target=relay.correr, args=(parar_relay,), daemon=True)
    hilo_relay.start()
    try:
        esperar(lambda: _cuenta_mensajes(canal, topo.cola(destino)) == 7, "los 7 publicados")
        esperar(lambda: _valor("outbox_pendientes", servicio=servicio) == 0, "backlog en 0")
        assert _valor("outbox_antiguedad_segundos", servicio=servicio) == 0
    finally:
        parar_relay.set()
        hilo_relay.join(timeout=20)
        metricas.dejar_de_medir(servicio, "outbox")
