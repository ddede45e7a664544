"""Poison messages of every malformed shape, published straight to the platform's exchange and to
a service's queue, and the parking queues where each must end with its reason (`x-motivo`)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pika
from pika import spec
from pika.exceptions import AMQPError

from comun.bus import Topologia
from comun.eventos import Contacto, ReclamoRegistrado, nuevo_evento
from herramientas.local import SERVICIOS
from herramientas.topologia import claves_por_servicio

# Routing keys that are real tipos and, together, reach every consuming service.
CLAVES = ("reclamo.registrado", "catalogo.entidad_actualizada", "reclamo.respondido")
# The queue that also gets poison directly: its handler for reclamo.registrado fails on an
# unknown entity (retried, then parked), which is what exercises the attempt counter.
SERVICIO_DIRECTO = "derivacion"
JSON = "application/json"


@dataclass(frozen=True)
class Veneno:
    nombre: str
    intercambio: str  # "" = the default exchange: straight to the queue named by `clave`
    clave: str
    cuerpo: bytes
    propiedades: pika.BasicProperties
    servicios: tuple[str, ...]  # whose parking queue it must end in


@dataclass(frozen=True)
class Aparcado:
    servicio: str
    cuerpo: bytes
    cabeceras: dict

    @property
    def motivo(self) -> str:
        valor = self.cabeceras.get("x-motivo")
        if isinstance(valor, bytes):
            valor = valor.decode(errors="replace")
        return valor if isinstance(valor, str) else ""


def _sobre(tipo: str, datos: object, **cambios: object) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "tipo": tipo,
        "version": 1,
        "ocurrido_en": datetime.now(UTC).isoformat(),
        "fuente": "prueba-veneno",
        "codigo": "R-VENE-NOSO-2222",
        "correlacion": None,
        "datos": datos,
    } | cambios


def _json(valor: object) -> bytes:
    return json.dumps(valor).encode()


def cuerpos(tipo: str) -> list[tuple[str, bytes]]:
    """Every malformed body, each unique (a marker), for events routed as `tipo`."""
    marca = uuid.uuid4().hex
    sobre_sin_datos = _sobre(tipo, {})
    del sobre_sin_datos["datos"], sobre_sin_datos["ocurrido_en"]
    return [
        ("cuerpo que no es JSON", f"esto no es JSON {marca} {{".encode()),
        ("cuerpo vacío", b""),
        ("JSON lista", _json([marca, 1, None])),
        ("JSON texto", _json(marca)),
        ("JSON número", f"42.{int(marca[:12], 16)}".encode()),
        ("JSON null", b"null"),
        ("sobre sin campos obligatorios", _json(sobre_sin_datos)),
        ("sobre válido con datos inválidos", _json(_sobre(tipo, {"inesperado": marca}))),
        ("sobre válido con datos que no son objeto", _json(_sobre(tipo, [marca]))),
        ("sobre válido de tipo desconocido", _json(_sobre("reclamo.inventado", {"x": marca}))),
        ("sobre con campos de tipos absurdos", _json(_sobre(tipo, {}, version="uno", id=[marca]))),
        ("basura binaria", os.urandom(512)),
        ("UTF-8 inválido", b'{"id": "\xff\xfe' + marca.encode() + b'"}'),
        ("cuerpo de 1 MB", _json(_sobre(tipo, {"relleno": marca + "x" * 1_000_000}))),
    ]


def evento_que_falla() -> bytes:
    """A valid reclamo.registrado for an entity nobody knows: derivacion's handler raises on it
    every time, so it goes through the retry path (x-intentos) and is parked at the limit."""
    datos = ReclamoRegistrado(
        entidad_id="entidad-inexistente",
        canal="virtual",
        motivo="otros",
        ocurrido_en=datetime.now(UTC),
        registrado_en=datetime.now(UTC),
        descripcion=f"Evento de prueba que nunca se puede derivar {uuid.uuid4().hex}.",
        pedido="Nada.",
        medio_respuesta="email",
        contacto=Contacto(
            tipo_documento="dni", numero_documento="40000000", nombres="N", apellidos="N"
        ),
    )
    evento = nuevo_evento("reclamo.registrado", datos, fuente="prueba-veneno", codigo="R-XXXX")
    return evento.model_dump_json().encode()


# Headers the consumer reads or rewrites, with every value type AMQP can carry.
CABECERAS: list[tuple[str, dict]] = [
    ("x-intentos no numérico", {"x-intentos": "abc"}),
    ("x-intentos tabla anidada", {"x-intentos": {"a": {"b": 1}}}),
    ("x-intentos negativo", {"x-intentos": -1_000_000_000}),
    ("x-intentos enorme", {"x-intentos": 2**63 - 1}),
    ("x-intentos lista", {"x-intentos": [1, "dos", None]}),
    ("x-intentos binario", {"x-intentos": b"\xff\x00"}),
    ("x-intentos decimal", {"x-intentos": Decimal("2.5")}),
    ("x-intentos booleano", {"x-intentos": True}),
    ("x-intentos vacío", {"x-intentos": None}),
    (
        "cabeceras propias de tipos absurdos",
        {
            "x-motivo": {"tabla": [1, 2]},
            "x-servicio": b"\x00\xff",
            "x-fecha": datetime(1970, 1, 1, tzinfo=UTC),
        },
    ),
]


def venenos(bus: str) -> list[Veneno]:
    """Every malformed body to the exchange under each key in CLAVES (parked by each consumer
    of that key) and to one service's queue; every header shape to that queue, once with a body
    parked at once and once with an event whose handler fails (the attempt counter's path)."""
    topo = Topologia(bus)
    claves = claves_por_servicio()
    lista: list[Veneno] = []
    sin_propiedades = pika.BasicProperties()
    for clave in CLAVES:
        consumidores = tuple(s for s in SERVICIOS if clave in claves.get(s, ()))
        for nombre, cuerpo in cuerpos(clave):
            lista.append(
                Veneno(
                    f"{nombre} → {clave}",
                    topo.intercambio,
                    clave,
                    cuerpo,
                    pika.BasicProperties(content_type=JSON, delivery_mode=2),
                    consumidores,
                )
            )
        lista.append(
            Veneno(
                f"sin propiedades → {clave}",
                topo.intercambio,
                clave,
                f"sin propiedades {uuid.uuid4().hex}".encode(),
                sin_propiedades,
                consumidores,
            )
        )
    cola = topo.cola(SERVICIO_DIRECTO)
    directo = (SERVICIO_DIRECTO,)
    for nombre, cuerpo in cuerpos("reclamo.registrado"):
        props = pika.BasicProperties(content_type=JSON, delivery_mode=2)
        lista.append(Veneno(f"{nombre} → cola {cola}", "", cola, cuerpo, props, directo))
    for nombre, cabeceras in [*CABECERAS, ("sin propiedades", {})]:
        for que, cuerpo in (
            ("sobre con datos inválidos", _json(_sobre("reclamo.registrado", {}))),
            ("evento cuyo manejador falla", evento_que_falla()),
        ):
            props = (
                pika.BasicProperties(content_type=JSON, delivery_mode=2, headers=cabeceras)
                if cabeceras
                else sin_propiedades
            )
            lista.append(Veneno(f"{nombre}, {que} → cola {cola}", "", cola, cuerpo, props, directo))
    return lista


def publicar(amqp_url: str, lista: list[Veneno]) -> None:
    """Publishes each poison message persistent-routed and confirmed (a return would raise)."""
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        canal = conexion.channel()
        canal.confirm_delivery()
        for v in lista:
            canal.basic_publish(v.intercambio, v.clave, v.cuerpo, v.propiedades, mandatory=True)
    finally:
        with contextlib.suppress(AMQPError):
            conexion.close()


class _CabecerasQueNoSonTabla(spec.BasicProperties):
    """Properties whose headers field is not a valid AMQP table (a field of unknown type)."""

    def encode(self) -> list[bytes]:
        tabla = b"\x03abcZ"  # key "abc", then a value type no AMQP peer knows
        return [
            struct.pack(">H", spec.BasicProperties.FLAG_HEADERS),
            struct.pack(">I", len(tabla)),
            tabla,
        ]


def publicar_cabeceras_que_no_son_tabla(amqp_url: str, cola: str, cuerpo: bytes) -> bool:
    """Tries to deliver headers that are not a table. True if the broker took the message (then
    it must be parked like any poison); False if it refused it, as RabbitMQ does by closing the
    connection: such a message can never reach a consumer."""
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    registro = logging.getLogger("pika.adapters.blocking_connection")
    nivel = registro.level
    registro.setLevel(logging.CRITICAL)  # the refusal is the expected outcome, not an error
    try:
        canal = conexion.channel()
        canal.confirm_delivery()
        canal.basic_publish("", cola, cuerpo, _CabecerasQueNoSonTabla(), mandatory=True)
    except AMQPError:
        return False
    finally:
        with contextlib.suppress(AMQPError):
            conexion.close()
        registro.setLevel(nivel)
    return True


def vaciar_parking(amqp_url: str, bus: str) -> list[Aparcado]:
    """Takes (and acks) every message in every service's parking queue."""
    topo = Topologia(bus)
    aparcados: list[Aparcado] = []
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        canal = conexion.channel()
        for servicio in SERVICIOS:
            while True:
                metodo, propiedades, cuerpo = canal.basic_get(
                    topo.cola_parking(servicio), auto_ack=True
                )
                if metodo is None:
                    break
                aparcados.append(Aparcado(servicio, cuerpo, dict(propiedades.headers or {})))
    finally:
        with contextlib.suppress(AMQPError):
            conexion.close()
    return aparcados


def esperados(lista: list[Veneno]) -> Counter[tuple[str, bytes]]:
    return Counter((s, v.cuerpo) for v in lista for s in v.servicios)


def encontrados(aparcados: list[Aparcado]) -> Counter[tuple[str, bytes]]:
    return Counter((a.servicio, a.cuerpo) for a in aparcados)
