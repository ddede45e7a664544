"""What the platform's processes spend: CPU seconds and RSS per supervised program (its whole
process tree: gunicorn's workers count for their web), RabbitMQ's too, and each store's
round-trips (its `serverStatus.network.numRequests`)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import psutil
from pymongo import MongoClient

from herramientas.local import SERVICIOS, Plataforma


@dataclass(frozen=True)
class Foto:
    """CPU seconds and RSS bytes per program at one moment."""

    en: float
    cpu: dict[str, float]
    rss: dict[str, int]

    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    def rss_total(self) -> int:
        return sum(self.rss.values())


def _arbol(pid: int) -> list[psutil.Process]:
    try:
        raiz = psutil.Process(pid)
        return [raiz, *raiz.children(recursive=True)]
    except psutil.Error:
        return []


def _rabbitmq() -> list[psutil.Process]:
    """The broker's processes (beam.smp and its helpers), if it runs on this machine."""
    encontrados = []
    for p in psutil.process_iter(["name", "cmdline"]):
        nombre = p.info["name"] or ""
        linea = " ".join(p.info["cmdline"] or [])
        if nombre.startswith(("beam", "epmd", "erl_child_setup")) and (
            "rabbit" in linea or nombre.startswith(("epmd", "erl_child_setup"))
        ):
            encontrados.append(p)
    return encontrados


class Medidor:
    def __init__(self, plataforma: Plataforma) -> None:
        self.plataforma = plataforma
        self.programas = [p.nombre for p in plataforma.programas()]

    def foto(self) -> Foto:
        cpu: dict[str, float] = {}
        rss: dict[str, int] = {}
        grupos = {n: _arbol(self.plataforma.pid(n) or -1) for n in self.programas}
        # supervisord relays every program's log lines: part of the platform's cost here.
        supervisor = self.plataforma._supervisor
        grupos["supervisord"] = [psutil.Process(supervisor.pid)] if supervisor else []
        grupos["rabbitmq"] = _rabbitmq()
        for nombre, procesos in grupos.items():
            cpu[nombre], rss[nombre] = 0.0, 0
            for p in procesos:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    cpu[nombre] += t.user + t.system
                    rss[nombre] += p.memory_info().rss
        return Foto(time.monotonic(), cpu, rss)

    def viajes(self) -> dict[str, int]:
        """Round-trips each store has served so far (store name → requests)."""
        resultado = {}
        for i, nombre in enumerate(("gateway", *SERVICIOS)):
            with MongoClient(self.plataforma._mongo(i, nombre), serverSelectionTimeoutMS=5000) as c:
                estado = c.admin.command("serverStatus")
            # Less this very call (and its handshake): only the platform's own requests count.
            resultado[nombre] = int(estado.get("network", {}).get("numRequests", 0))
        return resultado


def diferencia(antes: Foto, despues: Foto) -> dict[str, float]:
    return {n: despues.cpu.get(n, 0.0) - antes.cpu.get(n, 0.0) for n in despues.cpu}


def clase(programa: str) -> str:
    """gateway, web, worker, almacen, buzon or rabbitmq: the kinds the report groups by."""
    if programa.startswith("almacen-"):
        return "almacen"
    for sufijo in ("-web", "-worker"):
        if sufijo in programa:
            return sufijo[1:]
    return programa
