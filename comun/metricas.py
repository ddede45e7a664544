"""Prometheus metrics (RED, the bus, deliveries, deadlines). The catalogue is in infra/README.md
("Métricas"). Labels never carry códigos or personal data: routes are URL templates, not paths;
every label takes values from a fixed set (services, event tipos, causes, channels).

Two kinds:
- counters and histograms a process increments as things happen (`Metricas`, `Entregas`,
  `respondido`);
- gauges read from the service's store when Prometheus scrapes (`medir_al_leer`): what is
  pending is a fact of the store, not of whichever loop last looked, so a backlog shows while the
  broker is down or the relay is not running. Each read is cached a few seconds and bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pymongo
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)

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
# How many waiting messages a consumer's thread took at once (comun.bus): more than one are
# applied in one transaction. Mostly 1 while quiet; under load it shows the batches at work.
_LOTE = Histogram(
    "consumo_lote_mensajes",
    "Mensajes que un hilo del consumidor tomó juntos (varios: una transacción)",
    ["servicio"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
_OUTBOX_PUBLICADOS = Counter(
    "outbox_publicados", "Eventos publicados con confirmación del broker", ["servicio"]
)
_OUTBOX_SIN_RUTA = Counter(
    "outbox_sin_ruta",
    "Eventos que ninguna cola recibe (apartados en el outbox)",
    ["servicio", "tipo"],
)
# Where the consumer moves a message it could not apply (comun.bus.Consumidor._reenviar), counted
# once the broker confirmed the copy. `causa` of a retry: fallo (the handler raised) or bloqueo
# (a lock held by another transaction); of a parked message: fallo (attempts exhausted) or
# invalido (not an event this platform can read).
CAUSAS_REINTENTO = ("fallo", "bloqueo")
CAUSAS_APARCADO = ("fallo", "invalido")
_REINTENTADOS = Counter(
    "mensajes_reintentados",
    "Mensajes enviados a la cola de reintento del servicio",
    ["servicio", "causa"],
)
_APARCADOS = Counter(
    "mensajes_aparcados",
    "Mensajes enviados a la cola de parking del servicio (ver herramientas.parking)",
    ["servicio", "causa"],
)
# Deliveries of notificaciones: mail (correo) and entity webhooks (webhook).
CANALES = ("correo", "webhook")
_ENTREGAS_ENVIADAS = Counter(
    "entregas_enviadas", "Entregas aceptadas por el destino (servidor SMTP o webhook)", ["canal"]
)
_ENTREGAS_INTENTOS_FALLIDOS = Counter(
    "entregas_intentos_fallidos", "Intentos de entrega que fallaron (se reintentan)", ["canal"]
)
_ENTREGAS_FALLIDAS = Counter(
    "entregas_fallidas", "Entregas abandonadas tras agotar intentos o vigencia", ["canal"]
)
# Answers by deadline (plazos), counted once each when its transaction commits.
PLAZOS = ("a_tiempo", "fuera_de_plazo")
_RESPONDIDOS = Counter(
    "reclamos_respondidos", "Reclamos respondidos, dentro o fuera del plazo legal", ["plazo"]
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

    def lote_tomado(self, mensajes: int) -> None:
        _LOTE.labels(self.servicio).observe(mensajes)

    def outbox_publicados(self, publicados: int) -> None:
        _OUTBOX_PUBLICADOS.labels(self.servicio).inc(publicados)

    def outbox_sin_ruta(self, tipo: str) -> None:
        _OUTBOX_SIN_RUTA.labels(self.servicio, tipo).inc()

    def preparar_consumo(self) -> None:
        """Every series of the consumer at 0 from the start: `rate()` and `increase()` then
        return 0 on a healthy service instead of nothing."""
        for causa in CAUSAS_REINTENTO:
            _REINTENTADOS.labels(self.servicio, causa)
        for causa in CAUSAS_APARCADO:
            _APARCADOS.labels(self.servicio, causa)
        _OUTBOX_PUBLICADOS.labels(self.servicio)
        _LOTE.labels(self.servicio)

    def reintentado(self, causa: str) -> None:
        _REINTENTADOS.labels(self.servicio, causa).inc()

    def aparcado(self, causa: str) -> None:
        _APARCADOS.labels(self.servicio, causa).inc()


class Entregas:
    """The counters of one delivery channel (correo or webhook), at 0 from the start."""

    def __init__(self, canal: str) -> None:
        self.enviada = _ENTREGAS_ENVIADAS.labels(canal).inc
        self.intento_fallido = _ENTREGAS_INTENTOS_FALLIDOS.labels(canal).inc
        self.fallida = _ENTREGAS_FALLIDAS.labels(canal).inc


def preparar_respondidos() -> None:
    for plazo in PLAZOS:
        _RESPONDIDOS.labels(plazo)


def respondido(plazo: str) -> None:
    _RESPONDIDOS.labels(plazo).inc()


# --- gauges read at scrape time -----------------------------------------------------------------

# name → (help, label names). Each reading yields samples of these families only.
FAMILIAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "outbox_pendientes": (
        "Eventos escritos en el outbox y aún no confirmados por el broker",
        ("servicio",),
    ),
    "outbox_antiguedad_segundos": (
        "Antigüedad del evento pendiente más antiguo del outbox (0 si no hay): retraso del relay",
        ("servicio",),
    ),
    "entregas_pendientes": ("Entregas por enviar o por reintentar", ("servicio", "canal")),
    "entregas_atraso_segundos": (
        "Cuánto lleva vencida la entrega pendiente más atrasada (0 si ninguna está vencida)",
        ("servicio", "canal"),
    ),
    "reclamos_abiertos": ("Reclamos con el plazo abierto (sin respuesta ni cierre)", ("servicio",)),
    "reclamos_vencidos_abiertos": (
        "Reclamos abiertos cuyo plazo legal ya venció",
        ("servicio",),
    ),
    "medicion_correcta": (
        "1 si la última lectura del almacén para estas métricas respondió a tiempo, 0 si no",
        ("servicio", "medicion"),
    ),
}


@dataclass(frozen=True)
class Muestra:
    familia: str
    valor: float
    etiquetas: dict[str, str] = field(default_factory=dict)


@dataclass
class _Medicion:
    servicio: str
    nombre: str
    leer: Callable[[], Iterable[Muestra]]
    cada: float
    limite_s: float
    _muestras: list[Muestra] = field(default_factory=list)
    _leido_en: float = float("-inf")
    _correcta: bool = True
    _candado: threading.Lock = field(default_factory=threading.Lock)

    def muestras(self) -> tuple[list[Muestra], bool]:
        with self._candado:
            if time.monotonic() - self._leido_en >= self.cada:
                try:
                    # Client-side limit on every operation of the reading: a scrape must answer
                    # even when the store does not.
                    with pymongo.timeout(self.limite_s):
                        self._muestras = list(self.leer())
                    self._correcta = True
                except PyMongoError as exc:
                    log.warning(
                        "métricas: el almacén no respondió a la medición %s: %s",
                        self.nombre,
                        type(exc).__name__,
                    )
                    self._muestras, self._correcta = [], False
                self._leido_en = time.monotonic()
            return self._muestras, self._correcta


class _AlLeer(Collector):
    """The one collector of every scrape-time reading of this process (registered once; a
    reading registered again under the same service and name replaces the previous one)."""

    def __init__(self) -> None:
        self._mediciones: dict[tuple[str, str], _Medicion] = {}
        self._candado = threading.Lock()

    def agregar(self, medicion: _Medicion) -> None:
        with self._candado:
            self._mediciones[(medicion.servicio, medicion.nombre)] = medicion

    def quitar(self, servicio: str, nombre: str) -> None:
        with self._candado:
            self._mediciones.pop((servicio, nombre), None)

    def describe(self) -> Iterator[Metric]:
        for nombre, (ayuda, etiquetas) in FAMILIAS.items():
            yield GaugeMetricFamily(nombre, ayuda, labels=etiquetas)

    def collect(self) -> Iterator[Metric]:
        familias = {
            nombre: GaugeMetricFamily(nombre, ayuda, labels=etiquetas)
            for nombre, (ayuda, etiquetas) in FAMILIAS.items()
        }
        with self._candado:
            mediciones = list(self._mediciones.values())
        for medicion in mediciones:
            muestras, correcta = medicion.muestras()
            familias["medicion_correcta"].add_metric(
                [medicion.servicio, medicion.nombre], 1.0 if correcta else 0.0
            )
            for muestra in muestras:
                etiquetas = {"servicio": medicion.servicio, **muestra.etiquetas}
                nombres = FAMILIAS[muestra.familia][1]
                familias[muestra.familia].add_metric([etiquetas[n] for n in nombres], muestra.valor)
        yield from familias.values()


_AL_LEER = _AlLeer()
REGISTRY.register(_AL_LEER)


def medir_al_leer(
    servicio: str,
    nombre: str,
    leer: Callable[[], Iterable[Muestra]],
    cada: float = 5.0,
    limite_s: float = 2.0,
) -> None:
    """Publishes the gauges `leer` returns, read when Prometheus scrapes this process, at most
    once every `cada` seconds, each reading bounded to `limite_s` (a store that does not answer
    in time leaves them out and sets medicion_correcta to 0)."""
    _AL_LEER.agregar(_Medicion(servicio, nombre, leer, cada, limite_s))


def dejar_de_medir(servicio: str, nombre: str) -> None:
    _AL_LEER.quitar(servicio, nombre)
