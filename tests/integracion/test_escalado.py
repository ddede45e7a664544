"""The scaler on real queue depths from the real broker: with the local backend on a platform
started by the launcher (workers started and stopped through its supervisord, Prometheus'
targets following), and with the Docker backend where an engine answers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pika
import pytest

from comun.bus import Topologia
from herramientas.escalado import (
    EscaladoDocker,
    EscaladoLocal,
    Escalador,
    LectorColas,
    Lectura,
    Politica,
)
from herramientas.local import Plataforma
from tests.esperas import esperar
from tests.plataforma import plataforma_de_prueba

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

SERVICIO = "derivacion"
WORKERS = ["derivacion-worker", "derivacion-worker-2", "derivacion-worker-3"]
MENSAJES = 250  # one worker per 100 → ceil(2.5) = 3 workers
UNO = {
    "derivacion-worker": "RUNNING",
    "derivacion-worker-2": "STOPPED",
    "derivacion-worker-3": "STOPPED",
}


@pytest.fixture(scope="module")
def plataforma(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plataforma]:
    with plataforma_de_prueba(
        amqp_url,
        tmp_path_factory.mktemp("escalado"),
        "escalado",
        sembrar=False,
        monitoreo=True,
        workers_max={SERVICIO: len(WORKERS)},
    ) as p:
        yield p


def _publicar(amqp_url: str, cola: str, cuantos: int) -> None:
    """Messages no handler can apply (not an event envelope): each worker parks what it takes,
    so the queue drains without touching any store."""
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        canal = conexion.channel()
        canal.confirm_delivery()
        for n in range(cuantos):
            canal.basic_publish(
                "",
                cola,
                json.dumps({"prueba_escalado": n}).encode(),
                pika.BasicProperties(delivery_mode=2),
                mandatory=True,
            )
    finally:
        conexion.close()


def _estados(p: Plataforma) -> dict[str, str]:
    estado = p.estado()
    return {nombre: estado[nombre] for nombre in WORKERS}


def _objetivos_worker(p: Plataforma) -> list[str]:
    archivo = p.carpeta_monitoreo / "objetivos" / "servicios-worker.json"
    grupos = json.loads(archivo.read_text())
    return sorted(
        g["targets"][0] for g in grupos if g["labels"]["componente"] == f"{SERVICIO}-worker"
    )


def _scrapeados(p: Plataforma) -> list[str]:
    """derivacion-worker targets Prometheus scrapes and finds up."""
    objetivos = httpx.get(p.url_prometheus + "/api/v1/targets", timeout=5).json()
    return sorted(
        o["labels"]["instance"]
        for o in objetivos["data"]["activeTargets"]
        if o["labels"].get("componente") == f"{SERVICIO}-worker" and o["health"] == "up"
    )


def test_escala_los_workers_locales_segun_la_cola_real(
    plataforma: Plataforma, amqp_url: str
) -> None:
    topo = Topologia(plataforma.bus_nombre)
    lector = LectorColas(amqp_url, plataforma.bus_nombre)
    backend = EscaladoLocal(plataforma.carpeta)
    puertos = [f"127.0.0.1:{plataforma.puertos.metricas_worker(2, n)}" for n in (1, 2, 3)]
    assert backend.maximo(SERVICIO) == 3 and backend.workers(SERVICIO) == 1
    assert _estados(plataforma) == UNO
    assert _objetivos_worker(plataforma) == puertos[:1]

    # Every derivacion worker stopped, then its queue filled.
    backend.escalar(SERVICIO, 0)
    assert _estados(plataforma) == dict.fromkeys(WORKERS, "STOPPED")
    esperar(lambda: lector.leer([SERVICIO])[SERVICIO].consumidores == 0, "sin consumidores")
    _publicar(amqp_url, topo.cola(SERVICIO), MENSAJES)
    assert lector.leer([SERVICIO])[SERVICIO] == Lectura(MENSAJES, 0)
    assert _objetivos_worker(plataforma) == []

    politica = Politica(minimo=1, maximo=3, mensajes_por_worker=100, enfriamiento_s=30)
    escalador = Escalador(politica, lector, backend)
    decision = escalador.paso([SERVICIO], ahora=1000.0)[SERVICIO]
    assert (decision.workers, decision.motivo) == (3, "sube")
    esperar(
        lambda: _estados(plataforma) == dict.fromkeys(WORKERS, "RUNNING"),
        "los tres workers en marcha",
        plazo=60,
    )
    assert _objetivos_worker(plataforma) == puertos
    esperar(lambda: _scrapeados(plataforma) == puertos, "Prometheus mide los tres", plazo=60)

    # They drain it: every message parked with its reason, none lost.
    esperar(
        lambda: lector.leer([SERVICIO])[SERVICIO] == Lectura(0, 3),
        "la cola vacía con tres consumidores",
        plazo=120,
    )
    parking = lector.topologia.cola_parking(SERVICIO)
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        aparcados = conexion.channel().queue_declare(parking, passive=True).method.message_count
    finally:
        conexion.close()
    assert aparcados == MENSAJES

    # Empty: nothing stops before the cool-down (30 s from the first empty reading)...
    decision = escalador.paso([SERVICIO], ahora=1010.0)[SERVICIO]
    assert (decision.workers, decision.motivo) == (3, "espera")
    decision = escalador.paso([SERVICIO], ahora=1039.0)[SERVICIO]
    assert (decision.workers, decision.motivo) == (3, "espera")
    assert _estados(plataforma) == dict.fromkeys(WORKERS, "RUNNING")
    # ...and after it, back to the minimum: the highest-numbered stopped.
    decision = escalador.paso([SERVICIO], ahora=1040.0)[SERVICIO]
    assert (decision.workers, decision.motivo) == (1, "baja")
    assert _estados(plataforma) == UNO
    esperar(lambda: lector.leer([SERVICIO])[SERVICIO] == Lectura(0, 1), "un consumidor")
    assert _objetivos_worker(plataforma) == puertos[:1]
    esperar(lambda: _scrapeados(plataforma) == puertos[:1], "Prometheus mide uno", plazo=60)
    # The stop was a stop, not a death: supervisord did not restart them.
    registro = plataforma.registro_de_procesos.read_text(errors="replace")
    assert "stopped: derivacion-worker-3 (exit status 0)" in registro
    assert "stopped: derivacion-worker-2 (exit status 0)" in registro


def test_el_backend_docker_escala_un_proyecto_de_compose() -> None:
    docker = pytest.importorskip("docker", reason="falta el paquete docker (SDK de Python)")
    try:
        cliente = docker.from_env()
        cliente.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no hay un motor Docker al que conectarse: {exc}")
    proyecto = "reclamos"
    backend = EscaladoDocker(proyecto, cliente)
    if backend.workers(SERVICIO) == 0:
        pytest.skip(f"no hay un proyecto compose «{proyecto}» con {SERVICIO}-worker en marcha")
    antes = backend.workers(SERVICIO)
    backend.escalar(SERVICIO, antes + 1)
    assert backend.workers(SERVICIO) == antes + 1
    backend.escalar(SERVICIO, antes)
    assert backend.workers(SERVICIO) == antes
