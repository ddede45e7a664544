"""Scaling a service's workers from its queue depth, between a minimum and a maximum.

    python -m herramientas.escalado --carpeta var --max 4                 # local platform
    python -m herramientas.escalado --docker --proyecto reclamos --max 4  # compose on an engine

One policy (`decidir`, pure) and two backends that apply it:
- local: the launcher's supervisord (`python -m herramientas.local --workers-max N` declares
  `{servicio}-worker-2..N` stopped); workers are started and stopped through supervisord's XML-RPC,
  a stop lets the worker finish the message in hand, and the platform's Prometheus targets follow.
- Docker: the compose project's containers, through the Docker SDK for Python. A new replica is a
  copy of a running one (same image, command, settings, limits, networks, the compose labels with
  the next container number), so `docker compose ps` and Prometheus' DNS discovery see it as one
  more replica of the service; removing stops the highest-numbered first. Compose's own
  `docker compose up --scale` does the same; the SDK is used so the tool needs no compose CLI.

Depth is read from the real broker: a passive declare of the service's queue gives its ready
messages and its consumers (one per worker).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import pika
from pika.exceptions import AMQPError

from comun.bus import Topologia

SERVICIOS = ("registro", "derivacion", "plazos", "notificaciones", "encuestas")
AMQP_URL_POR_DEFECTO = "amqp://guest:guest@127.0.0.1:5672/%2F"


@dataclass(frozen=True)
class Politica:
    """How many workers a queue needs: one per `mensajes_por_worker` ready messages (rounded
    up), never fewer than `minimo` nor more than `maximo`. Up at once (a backlog is what citizens
    wait on); down only after the lower need has lasted `enfriamiento_s` (hysteresis: a queue
    that empties between two bursts does not stop and restart workers each time)."""

    minimo: int = 1
    maximo: int = 4
    mensajes_por_worker: int = 100
    enfriamiento_s: float = 120.0

    def __post_init__(self) -> None:
        if not 0 <= self.minimo <= self.maximo or self.maximo < 1:
            raise ValueError("se necesita 0 ≤ mínimo ≤ máximo y máximo ≥ 1")
        if self.mensajes_por_worker < 1 or self.enfriamiento_s < 0:
            raise ValueError("mensajes por worker ≥ 1 y enfriamiento ≥ 0")


@dataclass(frozen=True)
class Lectura:
    """One reading of a service's queue: messages waiting (ready) and consumers attached."""

    mensajes: int
    consumidores: int


@dataclass(frozen=True)
class Memoria:
    """What the policy carries from one step to the next: since when fewer workers have been
    enough (None: not now), and the most needed since then."""

    menos_desde: float | None = None
    necesarios_max: int = 0


@dataclass(frozen=True)
class Decision:
    workers: int
    motivo: str
    memoria: Memoria


def necesarios(politica: Politica, lectura: Lectura) -> int:
    """Workers the reading calls for, within [minimo, maximo]."""
    n = math.ceil(lectura.mensajes / politica.mensajes_por_worker)
    return min(politica.maximo, max(politica.minimo, n))


def decidir(
    politica: Politica, lectura: Lectura, actuales: int, ahora: float, memoria: Memoria
) -> Decision:
    """The workers to run now, given the reading, how many run (`actuales`) and the time
    (`ahora`, seconds on any steady clock). The cool-down only counts while every worker
    consumes: with fewer consumers than workers (just started, or failing), the depth says
    nothing yet about what the whole pool drains, and stopping some then would flap."""
    objetivo = necesarios(politica, lectura)
    if objetivo >= actuales:
        motivo = "sube" if objetivo > actuales else "igual"
        return Decision(objetivo, motivo, Memoria())
    if lectura.consumidores < actuales:
        return Decision(actuales, "espera consumidores", Memoria())
    # Fewer would do: wait out the cool-down, then go to the most needed during it.
    if memoria.menos_desde is None:
        return Decision(actuales, "espera", Memoria(ahora, objetivo))
    pico = max(memoria.necesarios_max, objetivo)
    if ahora - memoria.menos_desde >= politica.enfriamiento_s:
        return Decision(pico, "baja", Memoria())
    return Decision(actuales, "espera", replace(memoria, necesarios_max=pico))


class LectorColas:
    """Depth and consumers of each service's queue on the real broker (passive declare: it
    reads, never creates)."""

    def __init__(self, amqp_url: str, bus: str = "pdr") -> None:
        self.amqp_url = amqp_url
        self.topologia = Topologia(bus)

    def leer(self, servicios: list[str]) -> dict[str, Lectura]:
        parametros = pika.URLParameters(self.amqp_url)
        parametros.connection_attempts = 1
        parametros.socket_timeout = 5
        conexion = pika.BlockingConnection(parametros)
        try:
            lecturas = {}
            for servicio in servicios:
                canal = conexion.channel()
                metodo = canal.queue_declare(self.topologia.cola(servicio), passive=True).method
                lecturas[servicio] = Lectura(metodo.message_count, metodo.consumer_count)
                canal.close()
            return lecturas
        finally:
            conexion.close()


class Backend(Protocol):
    def workers(self, servicio: str) -> int:
        """How many of the service's workers run (or are meant to run)."""
        ...

    def maximo(self, servicio: str) -> int:
        """The most workers this backend can run for the service."""
        ...

    def escalar(self, servicio: str, n: int) -> None:
        """Leaves `n` workers of the service running."""
        ...


class EscaladoLocal:
    """The launcher's supervisord on a run folder (the platform may run in another process)."""

    def __init__(self, carpeta: Path) -> None:
        from herramientas.local import socket_de

        self.carpeta = Path(carpeta).resolve()
        self.socket = socket_de(self.carpeta)

    def _llamar(self, metodo: str, *argumentos: Any) -> Any:
        from herramientas.local import llamar_supervisor

        return llamar_supervisor(self.socket, metodo, *argumentos)

    def programas(self, servicio: str) -> list[dict[str, Any]]:
        """The service's worker programs, first `{s}-worker`, then `-2`, `-3`..."""
        patron = re.compile(rf"{re.escape(servicio)}-worker(?:-(\d+))?")
        encontrados = []
        for info in self._llamar("getAllProcessInfo"):
            coincide = patron.fullmatch(info["name"])
            if info["group"] == "workers" and coincide:
                encontrados.append((int(coincide.group(1) or 1), info))
        return [info for _n, info in sorted(encontrados, key=lambda par: par[0])]

    def workers(self, servicio: str) -> int:
        from herramientas.local import EN_MARCHA

        return sum(info["statename"] in EN_MARCHA for info in self.programas(servicio))

    def maximo(self, servicio: str) -> int:
        return len(self.programas(servicio))

    def escalar(self, servicio: str, n: int) -> None:
        from herramientas.local import EN_MARCHA

        programas = self.programas(servicio)
        if n > len(programas):
            raise ValueError(
                f"{servicio} tiene {len(programas)} workers declarados; arranque la plataforma "
                f"con --workers-max {n} o más"
            )
        for info in programas[:n]:
            if info["statename"] not in EN_MARCHA:
                self._llamar("startProcess", f"workers:{info['name']}", False)
        # Highest first; waits for each to stop (it finishes the message in hand).
        for info in reversed(programas[n:]):
            if info["statename"] in EN_MARCHA:
                self._llamar("stopProcess", f"workers:{info['name']}", True)
        self._actualizar_objetivos()

    def _actualizar_objetivos(self) -> None:
        """The platform's Prometheus scrapes exactly the programs meant to run."""
        from herramientas import monitoreo
        from herramientas.local import EN_MARCHA

        carpeta = self.carpeta / "monitoreo"
        if not (carpeta / "objetivos" / "catalogo.json").exists():
            return  # monitoring off
        activos = {
            info["name"]
            for info in self._llamar("getAllProcessInfo")
            if info["statename"] in EN_MARCHA
        }
        monitoreo.escribir_objetivos(carpeta, activos)


# Compose's labels on every container of a project.
PROYECTO = "com.docker.compose.project"
SERVICIO = "com.docker.compose.service"
NUMERO = "com.docker.compose.container-number"


def replica(inspeccion: dict[str, Any], numero: int) -> tuple[str, dict[str, Any]]:
    """The name and Engine API create body of one more replica of a compose container, from
    that container's inspection (`docker inspect`): same configuration and host settings
    (limits, mounts, restart policy), same networks with the service's name as alias, the compose
    labels with `numero`. Pure, so it is tested without an engine."""
    configuracion = dict(inspeccion["Config"])
    etiquetas = {**configuracion.get("Labels", {}), NUMERO: str(numero)}
    proyecto, servicio = etiquetas[PROYECTO], etiquetas[SERVICIO]
    nombre = f"{proyecto}-{servicio}-{numero}"
    configuracion["Labels"] = etiquetas
    # The copied container's own hostname (its short id) would make both answer to it.
    configuracion.pop("Hostname", None)
    redes = inspeccion.get("NetworkSettings", {}).get("Networks", {}) or {}
    configuracion["HostConfig"] = inspeccion["HostConfig"]
    configuracion["NetworkingConfig"] = {
        "EndpointsConfig": {red: {"Aliases": [nombre, servicio]} for red in redes}
    }
    return nombre, configuracion


class EscaladoDocker:
    """A compose project's worker containers on a Docker engine (`docker.from_env()`: the
    DOCKER_HOST of the environment or the local socket)."""

    def __init__(self, proyecto: str, cliente: Any = None) -> None:
        import docker  # only this backend needs the SDK

        self.proyecto = proyecto
        self.cliente = cliente or docker.from_env()

    def _contenedores(self, servicio: str) -> list[Any]:
        etiquetas = [f"{PROYECTO}={self.proyecto}", f"{SERVICIO}={servicio}-worker"]
        contenedores = self.cliente.containers.list(filters={"label": etiquetas})
        return sorted(contenedores, key=lambda c: int(c.labels.get(NUMERO, "0")))

    def workers(self, servicio: str) -> int:
        return len(self._contenedores(servicio))

    def maximo(self, servicio: str) -> int:
        return sys.maxsize  # the policy's maximum is the limit

    def escalar(self, servicio: str, n: int) -> None:
        contenedores = self._contenedores(servicio)
        if n < 1 or not contenedores:
            # A replica is made from a running one: there must be one to copy.
            raise ValueError(
                f"{servicio}-worker necesita al menos un contenedor en marcha (mínimo 1); "
                f"levántelo con `docker compose up -d {servicio}-worker`"
            )
        siguiente = 1 + max(int(c.labels.get(NUMERO, "0")) for c in contenedores)
        for k in range(n - len(contenedores)):
            nombre, cuerpo = replica(contenedores[0].attrs, siguiente + k)
            creado = self.cliente.api.create_container_from_config(cuerpo, nombre)
            self.cliente.api.start(creado["Id"])
        for contenedor in reversed(contenedores[n:]):
            contenedor.stop(timeout=30)  # SIGTERM: the worker finishes the message in hand
            contenedor.remove()


class Escalador:
    """Applies the policy to each service: one `paso` reads the queues and scales."""

    def __init__(self, politica: Politica, lector: LectorColas, backend: Backend) -> None:
        self.politica = politica
        self.lector = lector
        self.backend = backend
        self.memorias: dict[str, Memoria] = {}
        self.detallado = False  # a line for every service at every step

    def paso(self, servicios: list[str], ahora: float | None = None) -> dict[str, Decision]:
        ahora = time.monotonic() if ahora is None else ahora
        lecturas = self.lector.leer(servicios)
        decisiones = {}
        for servicio in servicios:
            politica = self.politica
            tope = self.backend.maximo(servicio)
            if tope < politica.maximo:
                politica = replace(politica, maximo=tope, minimo=min(politica.minimo, tope))
            actuales = self.backend.workers(servicio)
            memoria = self.memorias.get(servicio, Memoria())
            decision = decidir(politica, lecturas[servicio], actuales, ahora, memoria)
            self.memorias[servicio] = decision.memoria
            if decision.workers != actuales:
                self.backend.escalar(servicio, decision.workers)
            decisiones[servicio] = decision
            # A line when something changes or a cool-down starts, not every step (the local
            # scaler writes to the platform's shared log).
            empieza_espera = decision.motivo.startswith("espera") and memoria == Memoria()
            if decision.workers != actuales or empieza_espera or self.detallado:
                lectura = lecturas[servicio]
                print(
                    f"{servicio}: {lectura.mensajes} mensajes, {lectura.consumidores} "
                    f"consumidores, {actuales} → {decision.workers} workers ({decision.motivo})",
                    flush=True,
                )
        return decisiones


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m herramientas.escalado",
        description="Escala los workers de cada servicio según la profundidad de su cola en "
        "RabbitMQ, entre un mínimo y un máximo (sube de inmediato; baja tras el enfriamiento).",
    )
    destino = parser.add_mutually_exclusive_group()
    destino.add_argument(
        "--carpeta",
        type=Path,
        help="carpeta de la plataforma local (por defecto CARPETA_LOCAL o var/)",
    )
    destino.add_argument("--docker", action="store_true", help="un proyecto de docker compose")
    parser.add_argument("--proyecto", default="reclamos", help="proyecto de compose (--docker)")
    parser.add_argument("--servicio", action="append", choices=SERVICIOS, help="(repetible)")
    parser.add_argument("--min", type=int, default=1, dest="minimo")
    parser.add_argument("--max", type=int, default=4, dest="maximo")
    parser.add_argument("--mensajes-por-worker", type=int, default=100)
    parser.add_argument("--enfriamiento-s", type=float, default=120.0)
    parser.add_argument("--intervalo-s", type=float, default=15.0)
    parser.add_argument("--una-vez", action="store_true", help="un solo paso y termina")
    parser.add_argument("--bus", default=os.environ.get("BUS_NOMBRE", "pdr"))
    opciones = parser.parse_args(argv)
    try:
        politica = Politica(
            opciones.minimo, opciones.maximo, opciones.mensajes_por_worker, opciones.enfriamiento_s
        )
        if opciones.docker:
            backend: Backend = EscaladoDocker(opciones.proyecto)
        else:
            raiz = Path(__file__).resolve().parent.parent
            carpeta = opciones.carpeta or Path(os.environ.get("CARPETA_LOCAL", raiz / "var"))
            backend = EscaladoLocal(carpeta)
    except Exception as exc:  # bad settings, no platform, no engine: said plainly
        print(f"No se puede escalar: {exc}", file=sys.stderr)
        return 1
    lector = LectorColas(os.environ.get("AMQP_URL", AMQP_URL_POR_DEFECTO), opciones.bus)
    escalador = Escalador(politica, lector, backend)
    escalador.detallado = opciones.una_vez
    servicios = opciones.servicio or list(SERVICIOS)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            try:
                escalador.paso(servicios)
            except (AMQPError, OSError, ValueError, RuntimeError) as exc:
                # One failed step (broker restarting, a worker that would not stop) is retried.
                print(f"paso fallido: {exc}", file=sys.stderr, flush=True)
                if opciones.una_vez:
                    return 1
            if opciones.una_vez:
                return 0
            time.sleep(opciones.intervalo_s)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
