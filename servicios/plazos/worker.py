"""plazos worker: `python -m servicios.plazos.worker`."""

import threading

from comun.cifras import Plegador
from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.plazos import dependencias, metricas
from servicios.plazos.ajustes import AjustesPlazos
from servicios.plazos.barrido import Barrido
from servicios.plazos.manejadores import SERVICIO, manejadores


def main() -> None:
    ctx = arrancar(SERVICIO, AjustesPlazos, preparar=dependencias.preparar)
    politica = ctx.ajustes.politica()
    metricas.medir(ctx.db, SERVICIO)
    barrido = Barrido(ctx.db, politica)

    def barrer(parar: threading.Event) -> None:
        barrido.correr(parar, ctx.ajustes.barrido_intervalo_s)

    correr_worker(
        SERVICIO,
        ctx.ajustes,
        ctx.db,
        manejadores(ctx.db, politica),
        bucles={"barrido": barrer, "cifras": Plegador(ctx.db).correr},
    )


if __name__ == "__main__":
    main()
