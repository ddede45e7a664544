"""Prometheus metrics (RED): requests and event handling, by service. Labels never carry códigos
or personal data: routes are URL templates, not paths."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_HTTP_TOTAL = Counter(
    "http_solicitudes", "Solicitudes HTTP atendidas", ["servicio", "metodo", "ruta", "estado"]
)
_HTTP_DURACION = Histogram(
    "http_duracion_segundos", "Duración de las solicitudes HTTP", ["servicio", "ruta"]
)
_EVENTOS_TOTAL = Counter(
    "eventos_procesados", "Eventos recibidos del bus", ["servicio", "tipo", "resultado"]
)
_EVENTO_DURACION = Histogram(
    "evento_duracion_segundos", "Duración del manejo de un evento", ["servicio", "tipo"]
)
_OUTBOX_PENDIENTES = Gauge(
    "outbox_pendientes", "Eventos escritos y aún no confirmados por el broker", ["servicio"]
)
_OUTBOX_PUBLICADOS = Counter(
    "outbox_publicados", "Eventos publicados con confirmación del broker", ["servicio"]
)
_OUTBOX_SIN_RUTA = Counter(
    "outbox_sin_ruta",
    "Eventos que ninguna cola recibe (apartados en el outbox)",
    ["servicio", "tipo"],
)


class Metricas:
    def __init__(self, servicio: str) -> None:
        self.servicio = servicio

    def solicitud(self, metodo: str, ruta: str, estado: int, segundos: float) -> None:
        _HTTP_TOTAL.labels(self.servicio, metodo, ruta, str(estado)).inc()
        _HTTP_DURACION.labels(self.servicio, ruta).observe(segundos)

    def evento_procesado(self, tipo: str, resultado: str, segundos: float) -> None:
        _EVENTOS_TOTAL.labels(self.servicio, tipo, resultado).inc()
        _EVENTO_DURACION.labels(self.servicio, tipo).observe(segundos)

    def outbox_pendientes(self, pendientes: int) -> None:
        _OUTBOX_PENDIENTES.labels(self.servicio).set(pendientes)

    def outbox_publicados(self, publicados: int) -> None:
        _OUTBOX_PUBLICADOS.labels(self.servicio).inc(publicados)

    def outbox_sin_ruta(self, tipo: str) -> None:
        _OUTBOX_SIN_RUTA.labels(self.servicio, tipo).inc()
