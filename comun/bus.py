"""The event bus over RabbitMQ (DESIGN.md §3).

One durable topic exchange for every event (routing key = tipo); per consuming service one durable
quorum queue with a delivery limit, dead-lettering into a direct exchange that feeds the service's
parking queue. Declaring is idempotent and happens at start; `infra/rabbitmq/definitions.json` is
generated from the same code (`python -m herramientas.topologia`).

pika connections are not thread-safe: every thread builds its own Publicador or Consumidor.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from pymongo.errors import ConnectionFailure

from comun.eventos import Evento, EventoInvalido, leer_evento

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topologia:
    """Names and retry policy of the bus. `nombre` prefixes everything (test runs use their own)."""

    nombre: str = "pdr"
    # Attempts of a failing handler before its message is parked, and the wait between them.
    limite_intentos: int = 5
    retraso_reintento_ms: int = 5000

    @property
    def intercambio(self) -> str:
        return f"{self.nombre}.eventos"

    @property
    def intercambio_muertos(self) -> str:
        return f"{self.nombre}.dlx"

    def cola(self, servicio: str) -> str:
        return f"{self.nombre}.{servicio}"

    def cola_reintento(self, servicio: str) -> str:
        return f"{self.nombre}.{servicio}.reintento"

    def cola_parking(self, servicio: str) -> str:
        return f"{self.nombre}.{servicio}.parking"

    def colas(self, servicio: str) -> dict[str, dict]:
        """Every queue of a service with its arguments."""
        # Dead-lettering that survives a broker restart (RabbitMQ ≥ 3.10 needs reject-publish).
        al_menos_una_vez = {
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
        return {
            self.cola(servicio): {
                "x-queue-type": "quorum",
                # The broker's limit is a backstop for messages that crash the worker itself;
                # handler failures are counted by the consumer (x-intentos), parked with a reason.
                "x-delivery-limit": 4 * self.limite_intentos,
                "x-dead-letter-exchange": self.intercambio_muertos,
                "x-dead-letter-routing-key": servicio,
                **al_menos_una_vez,
            },
            # A failed message waits here, then expires back into the service's own queue only
            # (the default exchange routes by queue name), not to every consumer of its tipo.
            self.cola_reintento(servicio): {
                "x-queue-type": "quorum",
                "x-message-ttl": self.retraso_reintento_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.cola(servicio),
                **al_menos_una_vez,
            },
            self.cola_parking(servicio): {"x-queue-type": "quorum"},
        }


def declarar(
    canal: BlockingChannel,
    topo: Topologia,
    servicio: str | None = None,
    claves: Iterable[str] = (),
) -> None:
    canal.exchange_declare(topo.intercambio, exchange_type="topic", durable=True)
    canal.exchange_declare(topo.intercambio_muertos, exchange_type="direct", durable=True)
    if servicio is None:
        return
    for cola, argumentos in topo.colas(servicio).items():
        canal.queue_declare(cola, durable=True, arguments=argumentos)
    for clave in claves:
        canal.queue_bind(topo.cola(servicio), topo.intercambio, routing_key=clave)
    canal.queue_bind(topo.cola_parking(servicio), topo.intercambio_muertos, routing_key=servicio)


def _conectar(url: str) -> pika.BlockingConnection:
    parametros = pika.URLParameters(url)
    parametros.heartbeat = 30
    parametros.blocked_connection_timeout = 30
    return pika.BlockingConnection(parametros)


class Publicador:
    """Persistent, mandatory publishes with publisher confirms: a return or nack raises."""

    def __init__(self, url: str, topo: Topologia) -> None:
        self.url = url
        self.topo = topo
        self._conexion: pika.BlockingConnection | None = None
        self._canal: BlockingChannel | None = None

    def _asegurar_canal(self) -> BlockingChannel:
        if self._canal is None or self._canal.is_closed:
            self.cerrar()
            self._conexion = _conectar(self.url)
            self._canal = self._conexion.channel()
            self._canal.confirm_delivery()
            declarar(self._canal, self.topo)
        return self._canal

    def publicar(self, evento: Evento) -> None:
        # Raises pika.exceptions.UnroutableError (no queue bound) or NackError (broker refused).
        self._asegurar_canal().basic_publish(
            exchange=self.topo.intercambio,
            routing_key=evento.tipo,
            body=evento.model_dump_json().encode(),
            properties=pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type="application/json",
                message_id=evento.id,
                type=evento.tipo,
                correlation_id=evento.correlacion,
            ),
            mandatory=True,
        )

    def cerrar(self) -> None:
        if self._conexion is not None and self._conexion.is_open:
            with contextlib.suppress(AMQPError):
                self._conexion.close()
        self._conexion = None
        self._canal = None


# A handler receives the validated event and says whether it worked by returning or raising.
Procesar = Callable[[Evento, object], None]


class EsperarDependencia(Exception):
    """A handler could not reach what it needs (the store): not the message's fault."""


class Consumidor:
    """Consumes the service's queue with manual acks.

    `procesar` must commit the effect before returning: only then is the message acked.
    - A message that is not a valid event is parked at once, with the reason.
    - A handler that fails is retried after a delay (the retry queue), counting attempts in the
      header `x-intentos`; after `limite_intentos` it is parked with the reason. Never acked as
      if it had worked.
    - If the store is unreachable, the consumer stops consuming (its unacked messages go back to
      the queue) and resumes when `disponible()` says so: an outage parks nothing.
    """

    def __init__(
        self,
        url: str,
        topo: Topologia,
        servicio: str,
        claves: Iterable[str],
        procesar: Procesar,
        prefetch: int = 50,
        disponible: Callable[[], bool] = lambda: True,
    ) -> None:
        self.url = url
        self.topo = topo
        self.servicio = servicio
        self.claves = list(claves)
        self.procesar = procesar
        self.prefetch = prefetch
        self.disponible = disponible

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            try:
                self._consumir(parar)
            except AMQPError:
                log.warning("consumidor: conexión con el broker perdida, reconectando")
                parar.wait(1.0)
            except EsperarDependencia:
                log.warning("consumidor: el almacén no responde; se pausa el consumo")
                while not parar.is_set() and not self.disponible():
                    parar.wait(2.0)

    def _consumir(self, parar: threading.Event) -> None:
        conexion = _conectar(self.url)
        try:
            canal = conexion.channel()
            canal.confirm_delivery()  # retry and parking publishes are confirmed too
            declarar(canal, self.topo, self.servicio, self.claves)
            canal.basic_qos(prefetch_count=self.prefetch)
            canal.basic_consume(self.topo.cola(self.servicio), self._al_recibir)
            while not parar.is_set():
                conexion.process_data_events(time_limit=0.5)
        finally:
            if conexion.is_open:
                conexion.close()

    def _al_recibir(self, canal: BlockingChannel, metodo, propiedades, cuerpo: bytes) -> None:
        try:
            evento, datos = leer_evento(cuerpo)
        except EventoInvalido as exc:
            self._reenviar(canal, metodo, propiedades, cuerpo, str(exc), aparcar=True)
            return
        try:
            self.procesar(evento, datos)
        except ConnectionFailure as exc:
            # Leaves the message unacked: closing the connection returns it to the queue.
            raise EsperarDependencia from exc
        except Exception as exc:
            intentos = int((propiedades.headers or {}).get("x-intentos", 0)) + 1
            log.warning(
                "consumidor: falló %s (%s), intento %d de %d",
                evento.tipo,
                evento.id,
                intentos,
                self.topo.limite_intentos,
                exc_info=True,
            )
            motivo = f"{type(exc).__name__}: {exc}"
            aparcar = intentos >= self.topo.limite_intentos
            self._reenviar(canal, metodo, propiedades, cuerpo, motivo, aparcar, intentos)
            return
        canal.basic_ack(metodo.delivery_tag)

    def _reenviar(
        self,
        canal,
        metodo,
        propiedades,
        cuerpo: bytes,
        motivo: str,
        aparcar: bool,
        intentos: int = 0,
    ) -> None:
        """Moves the message to the retry or the parking queue (confirmed), then acks it: if the
        worker dies in between, the message is delivered again, never lost."""
        cabeceras = dict(propiedades.headers or {})
        cabeceras["x-motivo"] = motivo[:1000]
        cabeceras["x-servicio"] = self.servicio
        cabeceras["x-intentos"] = intentos
        if aparcar:
            destino = (self.topo.intercambio_muertos, self.servicio)
        else:
            destino = ("", self.topo.cola_reintento(self.servicio))
        canal.basic_publish(
            exchange=destino[0],
            routing_key=destino[1],
            body=cuerpo,
            properties=pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type=propiedades.content_type,
                message_id=propiedades.message_id,
                type=propiedades.type,
                headers=cabeceras,
            ),
            mandatory=True,
        )
        canal.basic_ack(metodo.delivery_tag)
        if aparcar:
            log.error(
                "consumidor: mensaje aparcado en %s",
                self.topo.cola_parking(self.servicio),
                extra={"motivo": motivo[:300], "message_id": propiedades.message_id},
            )


def broker_responde(url: str) -> bool:
    try:
        _conectar(url).close()
    except AMQPError:
        return False
    return True
