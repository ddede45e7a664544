"""encuestas worker: `python -m servicios.encuestas.worker`."""

from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.encuestas import dependencias
from servicios.encuestas.manejadores import SERVICIO, manejadores


def main() -> None:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
    correr_worker(SERVICIO, ctx.ajustes, ctx.db, manejadores(ctx.db))


if __name__ == "__main__":
    main()
