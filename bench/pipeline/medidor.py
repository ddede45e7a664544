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

    def por_coleccion(self) -> dict[str, dict[str, tuple[int, int]]]:
        """What each store has served so far per collection and kind of request (the store's
        `top`: `almacen/coleccion` → kind → (requests, microseconds)); where the round-trips
        of `viajes` go. Requests without a collection (a transaction's commit, a handshake)
        are only in `viajes`."""
        resultado: dict[str, dict[str, tuple[int, int]]] = {}
        for i, nombre in enumerate(("gateway", *SERVICIOS)):
            with MongoClient(self.plataforma._mongo(i, nombre), serverSelectionTimeoutMS=5000) as c:
                totales = c.admin.command("top").get("totals", {})
            for espacio, secciones in totales.items():
                if not isinstance(secciones, dict) or espacio.startswith(("admin.", "local.")):
                    continue
                coleccion = espacio.split(".", 1)[-1]
                resultado[f"{nombre}/{coleccion}"] = {
                    seccion: (int(v.get("count", 0)), int(v.get("time", 0)))
                    for seccion, v in secciones.items()
                    if seccion in KINDS and isinstance(v, dict) and v.get("count")
                }
        return resultado


# The kinds of request `top` separates (its other sections add these up by lock).
KINDS = ("queries", "getmore", "insert", "update", "remove", "commands")


def por_coleccion_y_reclamo(
    antes: dict[str, dict[str, tuple[int, int]]],
    despues: dict[str, dict[str, tuple[int, int]]],
    n: int,
) -> list[dict]:
    """Requests and store milliseconds per reclamo, per collection and kind, costliest first."""
    filas = []
    for espacio, secciones in despues.items():
        for seccion, (cuenta, tiempo) in secciones.items():
            cuenta0, tiempo0 = antes.get(espacio, {}).get(seccion, (0, 0))
            if cuenta > cuenta0:
                filas.append(
                    {
                        "coleccion": espacio,
                        "tipo": seccion,
                        "pedidos": round((cuenta - cuenta0) / n, 2),
                        "ms": round((tiempo - tiempo0) / 1000 / n, 2),
                    }
                )
    return sorted(filas, key=lambda f: -f["ms"])


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
