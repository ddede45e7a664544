"""The event bus over RabbitMQ (DESIGN.md §3).

One durable topic exchange for every event (routing key = tipo); per consuming service one durable
quorum queue with a delivery limit, dead-lettering into a direct exchange that feeds the service's
parking queue. Declaring is idempotent and happens at start; `infra/rabbitmq/definitions.json` is
generated from the same code (`python -m herramientas.topologia`).

pika connections are not thread-safe: every thread builds its own Publicador or Consumidor. A
BlockingConnection only answers heartbeats while someone calls into it: a quiet publisher waits
with `Publicador.esperar`, never a bare sleep, so the broker does not drop it for missed heartbeats.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, UnsupportedAMQPFieldException
from pymongo.errors import ConnectionFailure

from comun.almacen import AlmacenOcupado
from comun.despertador import Despertador
from comun.eventos import Evento, EventoInvalido, leer_evento
from comun.logs import con_correlacion, correlacion_actual, id_seguro
from comun.metricas import Metricas

log = logging.getLogger(__name__)
# The reclamo a message is about, set by the Publicador (Turnos).
CABECERA_CODIGO = "codigo"


@dataclass(frozen=True)
class Topologia:
    """Names and retry policy of the bus. `nombre` prefixes everything (test runs use their own)."""

    nombre: str = "pdr"
    # Attempts of a failing handler before its message is parked, and the wait between them.
    limite_intentos: int = 5
    retraso_reintento_ms: int = 5000
    # Retries of a message that met a lock (another transaction) before it counts as a failure.
    limite_esperas: int = 60

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


LATIDO_S = 30  # the heartbeat asked for, unless the URL sets its own (`?heartbeat=10`)
# How often a quiet connection is looked at: well within the heartbeat.
ATENDER_CADA_S = 5.0


def _conectar(url: str) -> pika.BlockingConnection:
    parametros = pika.URLParameters(url)
    if parametros.heartbeat is None:
        parametros.heartbeat = LATIDO_S
    parametros.blocked_connection_timeout = 30
    return pika.BlockingConnection(parametros)


class Publicador:
    """Persistent, mandatory publishes with publisher confirms: a return or nack raises."""

    def __init__(self, url: str, topo: Topologia) -> None:
        self.url = url
        self.topo = topo
        # A quiet connection is looked at every few seconds, and twice per heartbeat when the
        # URL asks for a shorter one: the broker sees a frame before it gives up on it.
        latido = pika.URLParameters(url).heartbeat or LATIDO_S
        self.atender_cada_s = min(ATENDER_CADA_S, latido / 2)
        self._atendida = time.monotonic()
        self._conexion: pika.BlockingConnection | None = None
        self._canal: BlockingChannel | None = None

    def _asegurar_canal(self) -> BlockingChannel:
        if self._conexion is not None and self._conexion.is_open:
            try:
                # Reads what arrived while quiet: a connection the broker closed (missed
                # heartbeats, a restart) shows up now and is replaced, instead of failing the
                # publish.
                self._conexion.process_data_events(time_limit=0)
            except AMQPError:
                log.info("publicador: la conexión con el broker estaba cerrada; se abre otra")
                self.cerrar()
        if self._canal is None or not self._canal.is_open:
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
                # The consumer handles one event of a reclamo at a time (Turnos). A código is
                # not personal data (DESIGN.md §4).
                headers={CABECERA_CODIGO: evento.codigo} if evento.codigo else None,
            ),
            mandatory=True,
        )

    def esperar(
        self, segundos: float, parar: threading.Event, despertador: Despertador | None = None
    ) -> None:
        """Waits `segundos` (less if `parar` is set or `despertador` is touched) keeping an open
        connection serviced: its heartbeats go out and come in, so a quiet spell does not cost
        the connection and the next publish is as fast as any. One the broker closed meanwhile
        is let go here."""
        limite = time.monotonic() + segundos
        despertador = despertador or Despertador()  # untouched by anyone: a plain wait
        while not parar.is_set():
            restante = limite - time.monotonic()
            if restante <= 0:
                return
            if despertador.esperar(min(restante, 0.5)):
                return
            # Heartbeats every 30 s: looking every few seconds keeps the connection, and a quiet
            # worker does not wake twice a second for it (issue 10: idle CPU).
            if time.monotonic() - self._atendida >= self.atender_cada_s:
                self.atender()

    def atender(self) -> None:
        """Lets an open connection read what arrived (heartbeats, a close from the broker)."""
        self._atendida = time.monotonic()
        if self._conexion is None or not self._conexion.is_open:
            return
        try:
            self._conexion.process_data_events(time_limit=0)
        except AMQPError:
            log.info("publicador: el broker cerró la conexión inactiva; se abrirá otra")
            self.cerrar()

    def cerrar(self) -> None:
        if self._conexion is not None and self._conexion.is_open:
            with contextlib.suppress(AMQPError):
                self._conexion.close()
        self._conexion = None
        self._canal = None


# A handler receives the validated event and says whether it worked by returning or raising.
Procesar = Callable[[Evento, object], None]
# The same for several events at once: all of them took effect, or none did and it raises.
ProcesarLote = Callable[[list[tuple[Evento, object]]], None]


class EsperarDependencia(Exception):
    """A handler could not reach what it needs (the store): not the message's fault."""


class Consumidor:
    """Consumes the service's queue with manual acks.

    `procesar` must commit the effect before returning: only then is the message acked.
    - Up to `hilos` messages are handled at once (handlers are idempotent and order-tolerant), so
      one slow message does not hold the rest; but only one of each reclamo (`Turnos`): its
      next waits until it is done. Two transactions writing one reclamo conflict, and the store
      redoes the whole batch of one (issue 10 measured up to three times the store's work).
      Every channel operation stays on the connection's own thread (pika is not thread-safe),
      handed over with `add_callback_threadsafe`.
    - A message that is not a valid event is parked at once, with the reason.
    - A handler that fails is retried after a delay (the retry queue), counting attempts in the
      header `x-intentos`; after `limite_intentos` it is parked with the reason. Never acked as
      if it had worked.
    - If the store is unreachable, the consumer stops consuming (its unacked messages go back to
      the queue) and resumes when `disponible()` says so: an outage parks nothing.
    - With `procesar_lote`, a thread takes every message waiting (up to `lote`) and applies them
      in one go; only if that fails are they handled one by one as above. Nothing waits for a
      batch to fill: under a trickle each message goes alone, under load the batches grow.
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
        hilos: int = 4,
        metricas: Metricas | None = None,
        procesar_lote: ProcesarLote | None = None,
        lote: int = 1,
    ) -> None:
        self.url = url
        self.topo = topo
        self.servicio = servicio
        self.claves = list(claves)
        self.procesar = procesar
        self.prefetch = max(prefetch, hilos)
        self.disponible = disponible
        self.hilos = hilos
        self.procesar_lote = procesar_lote
        self.lote = max(1, lote) if procesar_lote is not None else 1
        self._pausar = threading.Event()
        self._caida: BaseException | None = None
        self.metricas = metricas or Metricas(servicio)
        self.metricas.preparar_consumo()

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
        self._pausar.clear()
        conexion = _conectar(self.url)
        trabajadores = ThreadPoolExecutor(self.hilos, thread_name_prefix=f"{self.servicio}-msg")

        def en_la_conexion(accion: Callable[[], None]) -> None:
            with contextlib.suppress(AMQPError):  # closed meanwhile: the message comes again
                conexion.add_callback_threadsafe(accion)

        # Received, not yet taken by a thread: a thread takes all it can (up to `lote`) of those
        # whose reclamo no other thread has in hand.
        turnos = Turnos()

        def atender() -> None:
            for _ in range(self._atender_recibidos(turnos, en_la_conexion)):
                trabajadores.submit(atender)  # the next of each reclamo just finished

        def al_recibir(canal: BlockingChannel, metodo, propiedades, cuerpo: bytes) -> None:
            if turnos.llega(
                clave_de_turno(metodo, propiedades), (canal, metodo, propiedades, cuerpo)
            ):
                trabajadores.submit(atender)

        terminado = False
        try:
            canal = conexion.channel()
            canal.confirm_delivery()  # retry and parking publishes are confirmed too
            declarar(canal, self.topo, self.servicio, self.claves)
            canal.basic_qos(prefetch_count=self.prefetch)
            canal.basic_consume(self.topo.cola(self.servicio), al_recibir)
            while not parar.is_set():
                # Deliveries and acks are handled as they come; the limit is only how often the
                # loop looks at a stop or a pause (issue 10: a quiet worker seldom wakes).
                conexion.process_data_events(time_limit=ATENDER_CADA_S / 2)
                if self._caida is not None:
                    caida, self._caida = self._caida, None
                    raise caida
                if self._pausar.is_set():
                    raise EsperarDependencia
            terminado = True
        finally:
            # Messages in hand are finished (those not started stay unacked and come again); on
            # a clean stop their acks go out before closing.
            trabajadores.shutdown(wait=True, cancel_futures=True)
            if terminado and conexion.is_open:
                with contextlib.suppress(AMQPError):
                    conexion.process_data_events(time_limit=0)
            if conexion.is_open:
                with contextlib.suppress(AMQPError):
                    conexion.close()

    def _atender_recibidos(
        self, turnos: Turnos, en_la_conexion: Callable[[Callable[[], None]], None]
    ) -> int:
        """Runs in a worker thread: takes what is ready (one submit per ready message, so a
        later thread may find nothing left) and handles it alone or as a batch. Returns how
        many messages became ready as it finished (the next of each of its reclamos)."""
        claves, tomados = turnos.tomar(self.lote)
        if not tomados:
            return 0
        try:
            self.metricas.lote_tomado(len(tomados))
            self._atender_tomados(tomados, en_la_conexion)
        finally:
            listos = turnos.terminar(claves)
        return listos

    def _atender_tomados(
        self, tomados: list[tuple], en_la_conexion: Callable[[Callable[[], None]], None]
    ) -> None:
        if len(tomados) > 1 and self._aplicar_lote(tomados, en_la_conexion):
            return
        for canal, metodo, propiedades, cuerpo in tomados:
            if self._pausar.is_set() or self._caida is not None:
                return  # left unacked: they come again once the consumer is back
            self._al_recibir(canal, metodo, propiedades, cuerpo, en_la_conexion)

    def _aplicar_lote(
        self, tomados: list[tuple], en_la_conexion: Callable[[Callable[[], None]], None]
    ) -> bool:
        """Applies the valid events of `tomados` in one go and acks them all; False if anything
        stood in the way (an invalid message, a failure): then each goes alone."""
        assert self.procesar_lote is not None
        pares = []
        for _, _, _, cuerpo in tomados:
            try:
                pares.append(leer_evento(cuerpo))
            except EventoInvalido:
                return False
        try:
            self.procesar_lote(pares)
        except ConnectionFailure:
            self._pausar.set()  # as for one message: unacked, they come back after the pause
            return True
        except Exception:
            log.info("consumidor: un lote de %d no se aplicó junto; uno por uno", len(pares))
            return False
        except BaseException as exc:  # the process is dying (a test simulates it this way)
            self._caida = exc
            return True
        canal = tomados[0][0]
        etiquetas = [metodo.delivery_tag for _, metodo, _, _ in tomados]

        def confirmar() -> None:
            for etiqueta in etiquetas:
                canal.basic_ack(etiqueta)

        en_la_conexion(confirmar)
        return True

    def _al_recibir(
        self,
        canal: BlockingChannel,
        metodo,
        propiedades,
        cuerpo: bytes,
        en_la_conexion: Callable[[Callable[[], None]], None],
    ) -> None:
        """Runs in a worker thread. Never lets a message kill the consumer: whatever its headers,
        body or properties, it is applied, retried, or parked with the reason."""
        # Until its body is read, a message's correlation is its property (if well-formed).
        with con_correlacion(id_seguro(_texto(propiedades, "correlation_id"))):
            try:
                accion = self._atender(canal, metodo, propiedades, cuerpo)
            except EsperarDependencia:
                self._pausar.set()  # left unacked: closing the connection returns it to the queue
                return
            except Exception as exc:
                log.exception("consumidor: mensaje que no se pudo atender; se aparca")
                motivo = f"mensaje no atendible: {_motivo(exc)}"
                accion = functools.partial(
                    self._reenviar,
                    canal,
                    metodo,
                    propiedades,
                    cuerpo,
                    motivo,
                    True,
                    causa="invalido",
                )
            except BaseException as exc:  # the process is dying (a test simulates it this way)
                self._caida = exc
                return
            en_la_conexion(_en_este_contexto(accion))

    def _atender(
        self, canal: BlockingChannel, metodo, propiedades, cuerpo: bytes
    ) -> Callable[[], None]:
        """Handles one message and says what to do with it on the channel: ack or move it."""
        try:
            evento, datos = leer_evento(cuerpo)
        except EventoInvalido as exc:
            return functools.partial(
                self._reenviar, canal, metodo, propiedades, cuerpo, str(exc), True, causa="invalido"
            )
        # Every line the event causes carries the correlation of its chain (or its own id).
        correlacion = id_seguro(evento.correlacion) or correlacion_actual() or id_seguro(evento.id)
        with con_correlacion(correlacion):
            return _en_este_contexto(
                self._aplicar(canal, metodo, propiedades, cuerpo, evento, datos)
            )

    def _aplicar(
        self, canal: BlockingChannel, metodo, propiedades, cuerpo: bytes, evento: Evento, datos
    ) -> Callable[[], None]:
        """Applies a valid event: ack it, or retry or park it after a failure."""
        cabeceras = _cabeceras(propiedades)
        intentos = _contador(cabeceras, "x-intentos")
        try:
            self.procesar(evento, datos)
        except ConnectionFailure as exc:
            raise EsperarDependencia from exc
        except AlmacenOcupado as exc:
            # Held by another (maybe dead) transaction: retry later without counting it as a
            # failure, and go on with the rest of the queue meanwhile.
            esperas = _contador(cabeceras, "x-esperas") + 1
            if esperas <= self.topo.limite_esperas:
                log.info("consumidor: %s espera un bloqueo (%d)", evento.tipo, esperas)
                return functools.partial(
                    self._reenviar,
                    canal,
                    metodo,
                    propiedades,
                    cuerpo,
                    _motivo(exc),
                    False,
                    intentos,
                    esperas,
                    causa="bloqueo",
                )
            return self._fallo(canal, metodo, propiedades, cuerpo, evento, exc, intentos + 1)
        except Exception as exc:
            return self._fallo(canal, metodo, propiedades, cuerpo, evento, exc, intentos + 1)
        return functools.partial(canal.basic_ack, metodo.delivery_tag)

    def _fallo(
        self, canal, metodo, propiedades, cuerpo, evento, exc, intentos: int
    ) -> Callable[[], None]:
        log.warning(
            "consumidor: falló %s (%s), intento %d de %d",
            evento.tipo,
            evento.id,
            intentos,
            self.topo.limite_intentos,
            exc_info=True,
        )
        aparcar = intentos >= self.topo.limite_intentos
        return functools.partial(
            self._reenviar, canal, metodo, propiedades, cuerpo, _motivo(exc), aparcar, intentos
        )

    def _reenviar(
        self,
        canal,
        metodo,
        propiedades,
        cuerpo: bytes,
        motivo: str,
        aparcar: bool,
        intentos: int = 0,
        esperas: int = 0,
        causa: str = "fallo",
    ) -> None:
        """Moves the message to the retry or the parking queue (confirmed), then acks it: if the
        worker dies in between, the message is delivered again, never lost. The copy keeps the
        correlation (the property, or the one its handling ran with), whatever else is lost.
        `causa` (comun.metricas.CAUSAS_*) labels the move in the metrics."""
        correlacion = _texto(propiedades, "correlation_id") or correlacion_actual()
        cabeceras = _cabeceras(propiedades)
        cabeceras.update(
            {
                "x-motivo": motivo[:1000],
                "x-servicio": self.servicio,
                "x-intentos": intentos,
                "x-esperas": esperas,
            }
        )
        if aparcar:
            destino = (self.topo.intercambio_muertos, self.servicio)
        else:
            destino = ("", self.topo.cola_reintento(self.servicio))

        def publicar(salida: pika.BasicProperties) -> None:
            canal.basic_publish(destino[0], destino[1], cuerpo, salida, mandatory=True)

        try:
            publicar(_propiedades(propiedades, cabeceras, correlacion))
        except (TypeError, ValueError, AssertionError, UnsupportedAMQPFieldException):
            # A property pika cannot encode again: keep the body, our own headers and the
            # correlation (a short text it decoded, or a well-formed id) only.
            nuestras = {
                k: v
                for k, v in cabeceras.items()
                if k.startswith("x-") and isinstance(v, str | int)
            }
            publicar(_propiedades(None, nuestras, correlacion))
        # Counted once the broker confirmed the copy (a redelivery after a crash counts again:
        # the copy is there twice).
        if aparcar:
            self.metricas.aparcado(causa)
        else:
            self.metricas.reintentado(causa)
        canal.basic_ack(metodo.delivery_tag)
        if aparcar:
            log.error(
                "consumidor: mensaje aparcado en %s",
                self.topo.cola_parking(self.servicio),
                extra={"motivo": motivo[:300], "message_id": _texto(propiedades, "message_id")},
            )


class Turnos:
    """The messages received and not yet taken, with one reclamo in one thread's hands at a
    time: its next message waits, in the order it came, until those taken before are done
    (applied and their ack or move decided). Messages of different reclamos are taken in the
    order they came; one taken for a batch brings along those of its reclamo waiting behind
    it, in their order (issue 10: one transaction then reads and writes the reclamo once)."""

    def __init__(self) -> None:
        self._cerrojo = threading.Lock()
        self._listos: deque[tuple[str, tuple]] = deque()
        # A reclamo in hand or ready → its messages waiting behind it.
        self._detras: dict[str, deque[tuple]] = {}

    def llega(self, clave: str, mensaje: tuple) -> bool:
        """True if `mensaje` is ready to be taken; False if it waits behind its reclamo's."""
        with self._cerrojo:
            if clave in self._detras:
                self._detras[clave].append(mensaje)
                return False
            self._detras[clave] = deque()
            self._listos.append((clave, mensaje))
            return True

    def tomar(self, cuantos: int) -> tuple[list[str], list[tuple]]:
        """Up to `cuantos` messages: the ready ones, each followed by those of its reclamo
        waiting behind it. Returns the reclamos' keys (once each) and the messages in order."""
        claves, mensajes = [], []
        with self._cerrojo:
            while self._listos and len(mensajes) < cuantos:
                clave, mensaje = self._listos.popleft()
                claves.append(clave)
                mensajes.append(mensaje)
                detras = self._detras[clave]
                while detras and len(mensajes) < cuantos:
                    mensajes.append(detras.popleft())
        return claves, mensajes

    def terminar(self, claves: list[str]) -> int:
        """The messages of `claves` are done: the next of each becomes ready. Returns how many."""
        listos = 0
        with self._cerrojo:
            for clave in claves:
                detras = self._detras.get(clave)
                if detras:
                    self._listos.append((clave, detras.popleft()))
                    listos += 1
                else:
                    self._detras.pop(clave, None)
        return listos


def clave_de_turno(metodo, propiedades) -> str:
    """The reclamo a message is about, as the publisher named it; a message without one (a
    foreign or older publisher) is its own key: it never waits for another."""
    codigo = _cabeceras(propiedades).get(CABECERA_CODIGO)
    if isinstance(codigo, bytes):
        codigo = codigo.decode("utf-8", "replace")
    if isinstance(codigo, str) and codigo:
        return f"codigo:{codigo}"
    return f"entrega:{metodo.delivery_tag}"


def _en_este_contexto(accion: Callable[[], None]) -> Callable[[], None]:
    """`accion` to run on another thread (the connection's) with this thread's context: its log
    lines keep the message's correlation."""
    return functools.partial(contextvars.copy_context().run, accion)


def _motivo(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def _cabeceras(propiedades) -> dict:
    cabeceras = getattr(propiedades, "headers", None)
    return dict(cabeceras) if isinstance(cabeceras, dict) else {}


def _contador(cabeceras: dict, nombre: str) -> int:
    """A counter we wrote in a header; anything else there (text, a table, a huge or negative
    number from a foreign publisher) counts as zero rather than crashing the consumer."""
    valor = cabeceras.get(nombre, 0)
    if isinstance(valor, bytes):
        valor = valor.decode("ascii", "replace")
    if isinstance(valor, str) and valor.strip().isdigit():
        valor = int(valor.strip())
    if isinstance(valor, int) and not isinstance(valor, bool) and 0 <= valor < 1_000_000:
        return valor
    return 0


def _texto(propiedades, nombre: str) -> str | None:
    valor = getattr(propiedades, nombre, None)
    return valor if isinstance(valor, str) else None


def _propiedades(propiedades, cabeceras: dict, correlacion: str | None) -> pika.BasicProperties:
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type=_texto(propiedades, "content_type"),
        message_id=_texto(propiedades, "message_id"),
        type=_texto(propiedades, "type"),
        correlation_id=correlacion,
        headers=cabeceras,
        # When this copy was set aside: `herramientas.parking` shows it as the time parked.
        timestamp=int(time.time()),
    )


def broker_responde(url: str) -> bool:
    try:
        _conectar(url).close()
    except AMQPError:
        return False
    return True
