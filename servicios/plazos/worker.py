"""plazos worker: `python -m servicios.plazos.worker`."""

from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.plazos import dependencias
from servicios.plazos.ajustes import AjustesPlazos
from servicios.plazos.manejadores import SERVICIO, manejadores


def main() -> None:
    ctx = arrancar(SERVICIO, AjustesPlazos, preparar=dependencias.preparar)
    correr_worker(SERVICIO, ctx.ajustes, ctx.db, manejadores(ctx.db, ctx.ajustes.politica()))


if __name__ == "__main__":
    main()
