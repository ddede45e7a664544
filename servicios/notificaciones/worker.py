"""notificaciones worker: `python -m servicios.notificaciones.worker` — consumers, relay, the
cartero that sends mail and the mensajero that POSTs entity webhooks."""

from comun.servicio import arrancar
from comun.worker import correr_worker
from servicios.notificaciones import dependencias, metricas
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from servicios.notificaciones.manejadores import SERVICIO, manejadores
from servicios.notificaciones.webhooks import Mensajero


def main() -> None:
    ctx = arrancar(SERVICIO, AjustesNotificaciones, preparar=dependencias.preparar)
    a = ctx.ajustes
    metricas.medir(ctx.db, SERVICIO)
    cartero = Cartero(ctx.db, dependencias.Correo(a), a.max_intentos)
    mensajero = Mensajero(
        ctx.db,
        a.webhooks_espera_inicial_s,
        a.webhooks_espera_max_s,
        a.webhooks_timeout_s,
        a.webhooks_permitir_privadas,
    )
    correr_worker(
        SERVICIO,
        a,
        ctx.db,
        manejadores(ctx.db, a.url_portal, a.webhooks_vigencia_s),
        bucles={"cartero": cartero.correr, "mensajero": mensajero.correr},
    )


if __name__ == "__main__":
    main()
