"""derivacion worker: `python -m servicios.derivacion.worker`."""

from comun.cifras import Plegador
from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.derivacion import dependencias
from servicios.derivacion.manejadores import SERVICIO, manejadores


def main() -> None:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
    plegador = Plegador(ctx.db)  # the report figures this service owns
    correr_worker(
        SERVICIO, ctx.ajustes, ctx.db, manejadores(ctx.db), bucles={"cifras": plegador.correr}
    )


if __name__ == "__main__":
    main()
