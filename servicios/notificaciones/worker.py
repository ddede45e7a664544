"""notificaciones worker: `python -m servicios.notificaciones.worker` — consumers, relay and the
cartero that sends mail."""

from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.notificaciones import dependencias
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from servicios.notificaciones.manejadores import SERVICIO, manejadores


def main() -> None:
    ctx = arrancar(SERVICIO, AjustesNotificaciones, preparar=dependencias.preparar)
    cartero = Cartero(ctx.db, dependencias.Correo(ctx.ajustes), ctx.ajustes.max_intentos)
    correr_worker(
        SERVICIO,
        ctx.ajustes,
        ctx.db,
        manejadores(ctx.db, ctx.ajustes.url_portal),
        bucles={"cartero": cartero.correr},
    )


if __name__ == "__main__":
    main()
