"""Parked messages: list, show, replay or discard what a service's consumer set aside.

    python -m herramientas.parking listar [--servicio S] [--descartados] [--json]
    python -m herramientas.parking mostrar ID [--servicio S] [--descartados]
    python -m herramientas.parking reenviar (ID | --todos) [--servicio S]
    python -m herramientas.parking descartar ID --motivo "..." [--servicio S]

Settings from the environment, as the services read them: AMQP_URL and BUS_NOMBRE.

How a quorum queue is read without consuming it: the tool takes every ready message with
basic.get and no ack, then closes the channel, which returns the unacked ones to the queue in
their order (seen on the broker: same order, same bodies and headers). A return is asynchronous,
so before it ends an operation waits until the queue shows them again: the next command (or test)
sees everything. Each return counts as a delivery (`x-delivery-count`); the parking queue has no
delivery limit on RabbitMQ 3.x, but 4.0-4.2 give every quorum queue a default limit of 20 and
the parking queue has no dead-letter target, so a message read that often would be dropped: one
whose count reaches RENOVAR_DESDE is copied to the tail of its queue (confirmed) and only then
acked, which resets the count.

Replay and discard publish first, with publisher confirms, and ack the parked message only after
the confirm: a tool that dies in between leaves a duplicate at worst, never a loss. A replayed
event goes to the service's own queue (the default exchange routes by queue name), not to the
topic exchange, which would deliver it to every other service bound to its tipo too; the
service's Despachador records each event id in `procesados`, so a duplicate applies nothing twice.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import (
    AMQPConnectionError,
    AMQPError,
    ChannelClosedByBroker,
    NackError,
    UnroutableError,
    UnsupportedAMQPFieldException,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from comun.bus import Topologia
from comun.tiempo import en_lima
from herramientas.topologia import claves_por_servicio

# Deliveries after which a parked message is renewed (see the module's docstring).
RENOVAR_DESDE = 10
# How long an operation waits for the messages it returned to show in the queue again.
ESPERA_DEVUELTOS_S = 10.0
MOTIVO_MIN, MOTIVO_MAX = 3, 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Headers about the failed attempts: a replay starts over without them.
_CABECERAS_DEL_FALLO = {"x-intentos", "x-esperas", "x-motivo", "x-servicio", "x-delivery-count"}
_CABECERAS_DE_MUERTE = ("x-death", "x-first-death-", "x-last-death-")
# Properties a copy keeps. Not `expiration` (it would expire in its new queue) nor `user_id`
# (the broker refuses one that is not the publishing connection's user).
_PROPIEDADES = (
    "content_type",
    "content_encoding",
    "priority",
    "correlation_id",
    "reply_to",
    "message_id",
    "timestamp",
    "type",
    "app_id",
)


class AjustesParking(BaseSettings):
    """The two settings the tool shares with the services (comun.ajustes.Ajustes)."""

    model_config = SettingsConfigDict(extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    bus_nombre: str = "pdr"


class ErrorParking(Exception):
    """A failure to tell the operator in Spanish; `codigo` is the exit code."""

    def __init__(self, mensaje: str, codigo: int = 1) -> None:
        super().__init__(mensaje)
        self.codigo = codigo


def cola_descartados(topo: Topologia, servicio: str) -> str:
    """Where discarded messages are kept. A quorum queue rather than a file: it is durable and
    replicated like the parking queue itself, lives with the broker whatever host or pod runs the
    tool (a container has no lasting folder), and keeps the message byte for byte."""
    return f"{topo.nombre}.{servicio}.descartados"


@dataclass(frozen=True)
class Aparcado:
    """One parked (or discarded) message, as read from its queue."""

    servicio: str
    cola: str
    id: str  # the message id (the event's id), or a digest of the body when it has none
    tipo: str | None
    codigo: str | None
    correlacion: str | None
    motivo: str
    intentos: int
    aparcado_en: datetime | None
    entregas: int  # times the broker handed it out, browsing included
    propiedades: dict[str, Any] = field(repr=False)
    cabeceras: dict[str, Any] = field(repr=False)
    cuerpo: bytes = field(repr=False)

    @property
    def descartado_en(self) -> str | None:
        return _texto(self.cabeceras.get("x-descartado-en"))

    @property
    def motivo_descarte(self) -> str | None:
        return _texto(self.cabeceras.get("x-descarte-motivo"))

    def resumen(self) -> dict[str, Any]:
        """What `listar` shows: the envelope and the failure, never the event's data."""
        datos: dict[str, Any] = {
            "servicio": self.servicio,
            "id": self.id,
            "tipo": self.tipo,
            "codigo": self.codigo,
            "correlacion": self.correlacion,
            "motivo": self.motivo,
            "intentos": self.intentos,
            "aparcado_en": self.aparcado_en.isoformat() if self.aparcado_en else None,
            "entregas": self.entregas,
        }
        if self.descartado_en is not None:
            datos["descartado_en"] = self.descartado_en
            datos["motivo_descarte"] = self.motivo_descarte
        return datos

    def completo(self) -> dict[str, Any]:
        """What `mostrar` shows: properties, headers and the body (the event, parsed if it is
        JSON)."""
        try:
            cuerpo: Any = json.loads(self.cuerpo)
        except ValueError:
            cuerpo = self.cuerpo.decode("utf-8", "backslashreplace")
        return {
            **self.resumen(),
            "cola": self.cola,
            "propiedades": self.propiedades,
            "cabeceras": self.cabeceras,
            "bytes": len(self.cuerpo),
            "cuerpo": cuerpo,
        }


def _texto(valor: object) -> str | None:
    if isinstance(valor, bytes):
        valor = valor.decode("utf-8", "replace")
    return valor if isinstance(valor, str) else None


def _entero(valor: object) -> int:
    """A counter from a header; anything that is not a sane non-negative number counts as 0."""
    if isinstance(valor, bytes | str) and str(_texto(valor)).strip().isdigit():
        valor = int(str(_texto(valor)).strip())
    if isinstance(valor, int) and not isinstance(valor, bool) and 0 <= valor < 1_000_000:
        return int(valor)
    return 0


def _utc(valor: object) -> datetime | None:
    if isinstance(valor, datetime):  # pika decodes AMQP timestamps in headers as naive UTC
        return valor if valor.tzinfo else valor.replace(tzinfo=UTC)
    if isinstance(valor, int) and not isinstance(valor, bool) and valor > 0:
        return datetime.fromtimestamp(valor, UTC)
    return None


def _leer(servicio: str, cola: str, topo: Topologia, propiedades, cuerpo: bytes) -> Aparcado:
    """Whatever a parked message holds (a poison message is parked precisely because it is not a
    valid event), read without trusting it."""
    cabeceras = dict(propiedades.headers) if isinstance(propiedades.headers, dict) else {}
    sobre: dict[str, Any] = {}
    with contextlib.suppress(ValueError, RecursionError):
        leido = json.loads(cuerpo)
        if isinstance(leido, dict):
            sobre = leido
    id_ = _texto(propiedades.message_id) or _texto(sobre.get("id"))
    if not id_:
        id_ = "sin-id-" + hashlib.sha256(cuerpo).hexdigest()[:16]
    motivo = _texto(cabeceras.get("x-motivo"))
    aparcado_en = _utc(propiedades.timestamp)
    # The broker itself dead-letters a message from the service's queue once the delivery limit
    # is spent (a worker that dies on it); x-death[0] is the latest such event.
    muertes = cabeceras.get("x-death")
    ultima = muertes[0] if isinstance(muertes, list) and muertes else None
    if isinstance(ultima, dict) and _texto(ultima.get("queue")) == topo.cola(servicio):
        razon = _texto(ultima.get("reason")) or "?"
        motivo = f"el broker lo apartó ({razon}): el worker no terminó de procesarlo" + (
            f"; último fallo anotado: {motivo}" if motivo else ""
        )
        aparcado_en = _utc(ultima.get("time")) or aparcado_en
    return Aparcado(
        servicio=servicio,
        cola=cola,
        id=id_,
        tipo=_texto(propiedades.type) or _texto(sobre.get("tipo")),
        codigo=_texto(sobre.get("codigo")),
        correlacion=_texto(propiedades.correlation_id) or _texto(sobre.get("correlacion")),
        motivo=motivo or "(sin motivo anotado)",
        intentos=_entero(cabeceras.get("x-intentos")),
        aparcado_en=aparcado_en,
        entregas=_entero(cabeceras.get("x-delivery-count")),
        propiedades={
            nombre: getattr(propiedades, nombre)
            for nombre in (*_PROPIEDADES, "delivery_mode")
            if getattr(propiedades, nombre, None) is not None
        },
        cabeceras=cabeceras,
        cuerpo=cuerpo,
    )


@dataclass
class _Tomado:
    etiqueta: int
    mensaje: Aparcado
    propiedades: pika.BasicProperties
    resuelto: bool = False  # acked: gone from the queue


@dataclass
class _Mano:
    """The messages of one queue held unacked on one channel."""

    canal: BlockingChannel
    cola: str
    tomados: list[_Tomado]

    def resolver(self, tomado: _Tomado) -> None:
        """Acks one message: call it only after what replaces it is confirmed."""
        self.canal.basic_ack(tomado.etiqueta)
        tomado.resuelto = True


class Parking:
    """The parking (and discarded) queues of the services on one bus."""

    def __init__(self, url: str, topo: Topologia, servicios: Sequence[str] | None = None) -> None:
        self.topo = topo
        self.servicios = list(servicios) if servicios is not None else list(claves_por_servicio())
        self.avisos: list[str] = []
        parametros = pika.URLParameters(url)
        parametros.connection_attempts = 1
        parametros.socket_timeout = 10
        parametros.blocked_connection_timeout = 30
        try:
            self._conexion = pika.BlockingConnection(parametros)
        except (AMQPError, OSError) as exc:
            raise ErrorParking(
                f"No se pudo conectar con RabbitMQ en {url.split('@')[-1]} ({type(exc).__name__})."
                " Revise AMQP_URL."
            ) from exc

    def __enter__(self) -> Parking:
        return self

    def __exit__(self, *_: object) -> None:
        self.cerrar()

    def cerrar(self) -> None:
        if self._conexion.is_open:
            with contextlib.suppress(AMQPError):
                self._conexion.close()

    # --- what the commands do -------------------------------------------------------------------

    def en_alcance(self, servicio: str | None) -> list[str]:
        if servicio is None:
            return self.servicios
        if servicio not in self.servicios:
            raise ErrorParking(
                f"Servicio desconocido: «{_visible(servicio)}». Servicios: "
                + ", ".join(self.servicios)
                + ".",
                2,
            )
        return [servicio]

    def cola_de(self, servicio: str, descartados: bool = False) -> str:
        if descartados:
            return cola_descartados(self.topo, servicio)
        return self.topo.cola_parking(servicio)

    def listar(self, servicio: str | None = None, descartados: bool = False) -> list[Aparcado]:
        """Every message in the parking (or discarded) queue of one or all services; they stay
        there."""
        encontrados: list[Aparcado] = []
        for nombre in self.en_alcance(servicio):
            with self._en_mano(nombre, self.cola_de(nombre, descartados), descartados) as mano:
                propios = [t.mensaje for t in mano.tomados]
            # By the time each was set aside (renewed copies go to the tail of their queue).
            propios.sort(key=lambda m: m.aparcado_en or datetime.min.replace(tzinfo=UTC))
            encontrados += propios
        return encontrados

    def mostrar(
        self, id_: str, servicio: str | None = None, descartados: bool = False
    ) -> list[Aparcado]:
        encontrados = [m for m in self.listar(servicio, descartados) if m.id == id_]
        if not encontrados:
            raise self._no_encontrado(id_, servicio, descartados)
        return encontrados

    def reenviar(self, id_: str | None, servicio: str | None = None) -> list[Aparcado]:
        """Back to the service's own queue with attempts reset (every copy of `id_`, or every
        message when `id_` is None); each parked copy is acked after its publish is confirmed."""
        reenviados: list[Aparcado] = []
        for nombre in self.en_alcance(servicio):
            destino = self.topo.cola(nombre)
            with self._en_mano(nombre, self.topo.cola_parking(nombre)) as mano:
                for tomado in mano.tomados:
                    if id_ is not None and tomado.mensaje.id != id_:
                        continue
                    cabeceras = {
                        k: v
                        for k, v in tomado.mensaje.cabeceras.items()
                        if k not in _CABECERAS_DEL_FALLO and not k.startswith(_CABECERAS_DE_MUERTE)
                    }
                    cabeceras["x-reenvios"] = _entero(cabeceras.get("x-reenvios")) + 1
                    cabeceras["x-reenviado-en"] = datetime.now(UTC).isoformat()
                    self._publicar(mano.canal, destino, tomado, cabeceras)
                    mano.resolver(tomado)
                    reenviados.append(tomado.mensaje)
        if id_ is not None and not reenviados:
            raise self._no_encontrado(id_, servicio, False)
        return reenviados

    def descartar(self, id_: str, motivo: str, servicio: str | None = None) -> list[Aparcado]:
        """Moves every copy of `id_` to the service's discarded queue with the reason and the
        time, each acked in parking after its copy is confirmed there."""
        motivo = validar_motivo(motivo)
        descartados: list[Aparcado] = []
        for nombre in self.en_alcance(servicio):
            destino = cola_descartados(self.topo, nombre)
            with self._en_mano(nombre, self.topo.cola_parking(nombre)) as mano:
                elegidos = [t for t in mano.tomados if t.mensaje.id == id_]
                if elegidos:
                    mano.canal.queue_declare(
                        destino, durable=True, arguments={"x-queue-type": "quorum"}
                    )
                for tomado in elegidos:
                    cabeceras = {
                        k: v for k, v in tomado.mensaje.cabeceras.items() if k != "x-delivery-count"
                    }
                    cabeceras["x-descarte-motivo"] = motivo
                    cabeceras["x-descartado-en"] = datetime.now(UTC).isoformat()
                    self._publicar(mano.canal, destino, tomado, cabeceras)
                    mano.resolver(tomado)
                    descartados.append(tomado.mensaje)
        if not descartados:
            raise self._no_encontrado(id_, servicio, False)
        return descartados

    # --- the queue, read in place --------------------------------------------------------------

    def _no_encontrado(self, id_: str, servicio: str | None, descartados: bool) -> ErrorParking:
        donde = "descartados" if descartados else "aparcados"
        alcance = f"del servicio {servicio}" if servicio else "de ningún servicio"
        return ErrorParking(
            f"No hay mensajes {donde} con id «{_visible(id_)}» {alcance} en el bus "
            f"«{self.topo.nombre}». Vea los ids con `listar`."
        )

    def _listos(self, cola: str) -> int | None:
        """Ready messages in `cola`, or None if it does not exist."""
        canal = self._conexion.channel()
        try:
            return canal.queue_declare(cola, passive=True).method.message_count
        except ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return None
            raise
        finally:
            if canal.is_open:
                canal.close()

    @contextlib.contextmanager
    def _en_mano(self, servicio: str, cola: str, descartados: bool = False) -> Iterator[_Mano]:
        """Holds every ready message of `cola` unacked while inside; on leaving, renews the ones
        read too often, closes the channel (the rest go back, in order) and waits until the
        queue shows them again."""
        listos = self._listos(cola)
        if listos is None and not descartados:
            self.avisos.append(f"No existe la cola {cola} (¿BUS_NOMBRE correcto?).")
        canal = self._conexion.channel()
        canal.confirm_delivery()
        tomados: list[_Tomado] = []
        listos = listos or 0
        # Up to what was there when we started: what is parked meanwhile waits for the next run.
        while len(tomados) < listos:
            metodo, propiedades, cuerpo = canal.basic_get(cola, auto_ack=False)
            if metodo is None:
                break
            mensaje = _leer(servicio, cola, self.topo, propiedades, cuerpo)
            tomados.append(_Tomado(metodo.delivery_tag, mensaje, propiedades))
        mano = _Mano(canal, cola, tomados)
        try:
            yield mano
            for tomado in tomados:
                if not tomado.resuelto and tomado.mensaje.entregas >= RENOVAR_DESDE:
                    cabeceras = {
                        k: v for k, v in tomado.mensaje.cabeceras.items() if k != "x-delivery-count"
                    }
                    self._publicar(canal, cola, tomado, cabeceras)
                    mano.resolver(tomado)
        finally:
            devueltos = sum(not t.resuelto for t in tomados)
            quedan = (self._listos(cola) or 0) if devueltos and self._conexion.is_open else 0
            if canal.is_open:
                with contextlib.suppress(AMQPError):
                    canal.close()
            if devueltos and self._conexion.is_open:
                self._esperar_en_la_cola(cola, quedan + devueltos)

    def _esperar_en_la_cola(self, cola: str, esperados: int) -> None:
        limite = time.monotonic() + ESPERA_DEVUELTOS_S
        while time.monotonic() < limite:
            if (self._listos(cola) or 0) >= esperados:
                return
            self._conexion.sleep(0.05)
        self.avisos.append(
            f"La cola {cola} no mostró aún todos los mensajes devueltos ({esperados}); "
            "¿hay otra persona u otro proceso leyéndola?"
        )

    def _publicar(
        self, canal: BlockingChannel, cola: str, tomado: _Tomado, cabeceras: dict[str, Any]
    ) -> None:
        """Publishes a copy of `tomado` to `cola` (persistent, mandatory, confirmed)."""
        original = tomado.propiedades

        def publicar(cabeceras_: dict[str, Any]) -> None:
            propiedades = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                headers=cabeceras_,
                **{n: getattr(original, n) for n in _PROPIEDADES},
            )
            canal.basic_publish("", cola, tomado.mensaje.cuerpo, propiedades, mandatory=True)

        try:
            try:
                publicar(cabeceras)
            except (TypeError, ValueError, AssertionError, UnsupportedAMQPFieldException):
                # A header pika cannot encode again: keep ours (text and numbers) only.
                publicar(
                    {
                        k: v
                        for k, v in cabeceras.items()
                        if k.startswith("x-") and isinstance(v, str | int)
                    }
                )
        except UnroutableError as exc:
            raise ErrorParking(
                f"La cola {cola} no existe: no se movió el mensaje {tomado.mensaje.id} "
                "(sigue donde estaba)."
            ) from exc
        except NackError as exc:
            raise ErrorParking(
                f"RabbitMQ rechazó la copia en {cola} (¿cola llena?): el mensaje "
                f"{tomado.mensaje.id} sigue donde estaba."
            ) from exc


def validar_motivo(motivo: str) -> str:
    limpio = (motivo or "").strip()
    if not MOTIVO_MIN <= len(limpio) <= MOTIVO_MAX or _CONTROL.search(limpio):
        raise ErrorParking(
            f"El motivo debe tener de {MOTIVO_MIN} a {MOTIVO_MAX} caracteres en una sola línea "
            "(y sin datos personales).",
            2,
        )
    return limpio


# --- the command line ---------------------------------------------------------------------------


def _visible(texto: object, largo: int = 300) -> str:
    """Text from a message, safe to print on a terminal (no control sequences), cut to `largo`."""
    limpio = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(texto))
    return limpio if len(limpio) <= largo else limpio[: largo - 1] + "…"


def _json(datos: Any, **opciones: Any) -> str:
    texto = json.dumps(datos, ensure_ascii=False, default=_a_json, **opciones)
    # json escapes C0 controls; C1 ones and line separators could still drive a terminal.
    return re.sub(r"[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", texto)


def _a_json(valor: Any) -> Any:
    if isinstance(valor, datetime):
        return _utc(valor).isoformat()  # type: ignore[union-attr]
    if isinstance(valor, bytes):
        return valor.decode("utf-8", "backslashreplace")
    return str(valor)


def _imprimir_lista(mensajes: list[Aparcado], descartados: bool) -> None:
    que = "descartados" if descartados else "aparcados"
    if not mensajes:
        print(f"No hay mensajes {que}.")
        return
    for servicio in dict.fromkeys(m.servicio for m in mensajes):
        propios = [m for m in mensajes if m.servicio == servicio]
        print(f"{servicio}: {len(propios)} mensaje(s) {que} (cola {propios[0].cola})")
        for m in propios:
            cuando = f"{en_lima(m.aparcado_en)} (hora de Lima)" if m.aparcado_en else "desconocido"
            print(
                f"  {_visible(m.id)}  {_visible(m.tipo or '?')}  código {_visible(m.codigo or '-')}"
            )
            print(
                f"    correlación: {_visible(m.correlacion or '-')}  intentos: {m.intentos}  "
                f"aparcado: {cuando}"
            )
            print(f"    motivo: {_visible(m.motivo)}")
            if m.descartado_en is not None:
                print(
                    f"    descartado: {_visible(m.descartado_en)} — "
                    f"{_visible(m.motivo_descarte or '')}"
                )
    print(f"Total: {len(mensajes)}")


class _Formato(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # type: ignore[override]
        # argparse builds a subcommand's prog with prefix "": only the default is translated.
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


def _parser() -> argparse.ArgumentParser:
    def nuevo(**opciones: Any) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(formatter_class=_Formato, add_help=False, **opciones)
        parser._optionals.title = "opciones"
        parser._positionals.title = "argumentos"
        parser.add_argument(
            "-h", "--help", "--ayuda", action="help", help="muestra esta ayuda y termina"
        )
        return parser

    parser = nuevo(
        prog="python -m herramientas.parking",
        description="Mensajes aparcados: los eventos que el worker de un servicio no pudo "
        "procesar tras agotar sus intentos, guardados en la cola <bus>.<servicio>.parking con "
        "el motivo y los intentos. Esta herramienta los lista, muestra, reenvía al servicio o "
        "descarta dejando constancia.",
        epilog="Ajustes por entorno (como los servicios): AMQP_URL (la URL del broker) y "
        "BUS_NOMBRE (prefijo de colas e intercambios, por defecto «pdr»).\n"
        "Códigos de salida: 0 bien; 1 id no encontrado o fallo del broker; 2 uso incorrecto "
        "(servicio desconocido, motivo inválido).\n"
        "No la usen dos personas a la vez sobre el mismo servicio: mientras una lee la cola, "
        "la otra no ve los mensajes.",
    )
    ordenes = parser.add_subparsers(dest="orden", required=True, title="órdenes", metavar="ORDEN")

    def servicio(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--servicio", metavar="S", help="solo este servicio (por defecto, todos)")

    listar = ordenes.add_parser(
        "listar",
        help="lista los mensajes aparcados sin sacarlos de la cola",
        description="Lista los mensajes aparcados (id del evento, tipo, código, correlación, "
        "motivo, intentos y cuándo se aparcó) sin sacarlos de la cola. No muestra los datos "
        "del evento.",
        formatter_class=_Formato,
        add_help=False,
    )
    mostrar = ordenes.add_parser(
        "mostrar",
        help="muestra un mensaje completo (cabeceras y cuerpo)",
        description="Muestra un mensaje completo en JSON: propiedades, cabeceras y el cuerpo, "
        "que es el evento tal como se publicó. El cuerpo no lleva más datos personales que los "
        "que el evento mismo transporta, pero un reclamo.registrado sí trae el contacto del "
        "ciudadano (Ley 29733): no lo copie fuera del sistema ni lo pegue en tickets o chats.",
        formatter_class=_Formato,
        add_help=False,
    )
    reenviar = ordenes.add_parser(
        "reenviar",
        help="devuelve un mensaje (o todos) a la cola de su servicio",
        description="Devuelve el mensaje a la cola propia de su servicio (no al intercambio "
        "de eventos, que lo entregaría también a los demás servicios), con el mismo id, la "
        "misma correlación y el mismo evento, y los intentos en cero. Se quita del parking solo "
        "cuando RabbitMQ confirmó la copia: si la herramienta se corta, a lo sumo queda un "
        "duplicado, que el servicio ignora (registra cada id de evento ya procesado).",
        formatter_class=_Formato,
        add_help=False,
    )
    descartar = ordenes.add_parser(
        "descartar",
        help="saca un mensaje del parking dejando constancia del motivo",
        description="Saca el mensaje del parking y lo guarda, con el motivo y la fecha, en la "
        "cola <bus>.<servicio>.descartados (véalos con `listar --descartados`).",
        formatter_class=_Formato,
        add_help=False,
    )
    for sub in (listar, mostrar, reenviar, descartar):
        sub._optionals.title = "opciones"
        sub._positionals.title = "argumentos"
        sub.add_argument(
            "-h", "--help", "--ayuda", action="help", help="muestra esta ayuda y termina"
        )
        servicio(sub)
    for sub in (mostrar, descartar):
        sub.add_argument("id", metavar="ID", help="id del mensaje (el id del evento)")
    for sub in (listar, mostrar):
        sub.add_argument(
            "--descartados", action="store_true", help="los descartados en vez de los aparcados"
        )
    listar.add_argument("--json", action="store_true", help="una línea JSON por mensaje")
    cual = reenviar.add_mutually_exclusive_group(required=True)
    cual.add_argument("id", metavar="ID", nargs="?", help="id del mensaje (el id del evento)")
    cual.add_argument("--todos", action="store_true", help="todos los aparcados (del servicio)")
    descartar.add_argument(
        "--motivo",
        required=True,
        help=f"por qué se descarta ({MOTIVO_MIN} a {MOTIVO_MAX} caracteres, sin datos personales)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ajustes = AjustesParking()
    topo = Topologia(ajustes.bus_nombre)
    try:
        with Parking(ajustes.amqp_url, topo) as parking:
            try:
                codigo = _ejecutar(parking, args)
            finally:
                for aviso in parking.avisos:
                    print(f"aviso: {aviso}", file=sys.stderr)
    except ErrorParking as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.codigo
    except AMQPConnectionError:
        print(
            "error: se perdió la conexión con RabbitMQ; nada se quitó de la cola sin "
            "su copia confirmada. Vuelva a intentar.",
            file=sys.stderr,
        )
        return 1
    return codigo


def _ejecutar(parking: Parking, args: argparse.Namespace) -> int:
    if args.orden == "listar":
        mensajes = parking.listar(args.servicio, args.descartados)
        if args.json:
            for m in mensajes:
                print(_json(m.resumen()))
        else:
            _imprimir_lista(mensajes, args.descartados)
    elif args.orden == "mostrar":
        for m in parking.mostrar(args.id, args.servicio, args.descartados):
            print(_json(m.completo(), indent=2))
    elif args.orden == "reenviar":
        reenviados = parking.reenviar(None if args.todos else args.id, args.servicio)
        for m in reenviados:
            print(f"reenviado a {parking.topo.cola(m.servicio)}: {_visible(m.id)}")
        print(f"Reenviados: {len(reenviados)}")
    elif args.orden == "descartar":
        descartados = parking.descartar(args.id, args.motivo, args.servicio)
        for m in descartados:
            print(f"descartado en {cola_descartados(parking.topo, m.servicio)}: {_visible(m.id)}")
        print(f"Descartados: {len(descartados)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
