"""plazos worker: `python -m servicios.plazos.worker`."""

from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.plazos import dependencias
from servicios.plazos.dominio import PoliticaPlazos
from servicios.plazos.manejadores import SERVICIO, manejadores


def main() -> None:
    ctx = arrancar(SERVICIO)
    dependencias.preparar(ctx.db)
    correr_worker(SERVICIO, ctx.ajustes, ctx.db, manejadores(ctx.db, PoliticaPlazos()))


if __name__ == "__main__":
    main()
