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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError

from comun.eventos import Evento, EventoInvalido, leer_evento

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topologia:
    nombre: str = "pdr"

    @property
    def intercambio(self) -> str:
        return f"{self.nombre}.eventos"

    @property
    def intercambio_muertos(self) -> str:
        return f"{self.nombre}.dlx"

    def cola(self, servicio: str) -> str:
        return f"{self.nombre}.{servicio}"

    def cola_parking(self, servicio: str) -> str:
        return f"{self.nombre}.{servicio}.parking"

    def argumentos_cola(self, servicio: str, limite_entregas: int) -> dict:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": limite_entregas,
            "x-dead-letter-exchange": self.intercambio_muertos,
            "x-dead-letter-routing-key": servicio,
        }


def declarar(
    canal: BlockingChannel,
    topo: Topologia,
    servicio: str | None = None,
    claves: Iterable[str] = (),
    limite_entregas: int = 5,
) -> None:
    canal.exchange_declare(topo.intercambio, exchange_type="topic", durable=True)
    canal.exchange_declare(topo.intercambio_muertos, exchange_type="direct", durable=True)
    if servicio is None:
        return
    cola = topo.cola(servicio)
    canal.queue_declare(
        cola, durable=True, arguments=topo.argumentos_cola(servicio, limite_entregas)
    )
    for clave in claves:
        canal.queue_bind(cola, topo.intercambio, routing_key=clave)
    parking = topo.cola_parking(servicio)
    canal.queue_declare(parking, durable=True, arguments={"x-queue-type": "quorum"})
    canal.queue_bind(parking, topo.intercambio_muertos, routing_key=servicio)


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


class Consumidor:
    """Consumes the service's queue with manual acks.

    `procesar` must commit the effect before returning: only then is the message acked. A message
    that is not a valid event is parked at once; one whose handler keeps failing is requeued until
    its delivery count reaches the limit, then parked with the reason. Never acked as if it worked.
    """

    def __init__(
        self,
        url: str,
        topo: Topologia,
        servicio: str,
        claves: Iterable[str],
        procesar: Procesar,
        prefetch: int = 50,
        limite_entregas: int = 5,
    ) -> None:
        self.url = url
        self.topo = topo
        self.servicio = servicio
        self.claves = list(claves)
        self.procesar = procesar
        self.prefetch = prefetch
        self.limite_entregas = limite_entregas

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            try:
                self._consumir(parar)
            except AMQPError:
                log.warning("consumidor: conexión con el broker perdida, reconectando")
                parar.wait(1.0)

    def _consumir(self, parar: threading.Event) -> None:
        conexion = _conectar(self.url)
        try:
            canal = conexion.channel()
            canal.confirm_delivery()  # parking publishes are confirmed too
            declarar(canal, self.topo, self.servicio, self.claves, self.limite_entregas)
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
            self._aparcar(canal, metodo, propiedades, cuerpo, str(exc))
            return
        try:
            self.procesar(evento, datos)
        except Exception as exc:
            entregas = int((propiedades.headers or {}).get("x-delivery-count", 0)) + 1
            log.warning(
                "consumidor: falló %s (%s), entrega %d de %d",
                evento.tipo,
                evento.id,
                entregas,
                self.limite_entregas,
                exc_info=True,
            )
            if entregas >= self.limite_entregas:
                self._aparcar(canal, metodo, propiedades, cuerpo, f"{type(exc).__name__}: {exc}")
            else:
                time.sleep(min(0.2 * entregas, 1.0))  # a short back-off before the retry
                canal.basic_nack(metodo.delivery_tag, requeue=True)
            return
        canal.basic_ack(metodo.delivery_tag)

    def _aparcar(self, canal, metodo, propiedades, cuerpo: bytes, motivo: str) -> None:
        cabeceras = dict(propiedades.headers or {})
        cabeceras["x-motivo"] = motivo[:1000]
        cabeceras["x-servicio"] = self.servicio
        canal.basic_publish(
            exchange=self.topo.intercambio_muertos,
            routing_key=self.servicio,
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
