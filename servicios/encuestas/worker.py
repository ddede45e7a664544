"""encuestas worker: `python -m servicios.encuestas.worker`."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pymongo.database import Database

from comun import reloj
from comun.cifras import Plegador
from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.encuestas import dependencias
from servicios.encuestas.ajustes import AjustesEncuestas
from servicios.encuestas.manejadores import SERVICIO, manejadores


def vencimientos(db: Database, ajustes: AjustesEncuestas) -> Callable[[threading.Event], None]:
    """The sweep loop: every reclamo's life ends, so an unanswered survey expires (and derivacion
    closes the reclamo on encuesta.vencida)."""

    def correr(parar: threading.Event) -> None:
        while not parar.is_set():
            dependencias.vencer(db, reloj.ahora(), ajustes.encuesta_dias_vigencia)
            parar.wait(ajustes.barrido_intervalo_s)

    return correr


def main() -> None:
    ctx = arrancar(SERVICIO, AjustesEncuestas, preparar=dependencias.preparar)
    correr_worker(
        SERVICIO,
        ctx.ajustes,
        ctx.db,
        manejadores(ctx.db, ctx.ajustes.encuesta_dias_vigencia),
        bucles={
            "vencimientos": vencimientos(ctx.db, ctx.ajustes),
            "cifras": Plegador(ctx.db).correr,
        },
    )


if __name__ == "__main__":
    main()
