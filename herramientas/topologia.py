"""The broker topology as RabbitMQ definitions, generated from the code that declares it.

    python -m herramientas.topologia > infra/rabbitmq/definitions.json

The services declare the same topology at start (idempotent); this file lets a broker have it
before any service runs (compose mounts it). A test checks that the file matches the code.
"""

from __future__ import annotations

import json

import pika

from comun.bus import Topologia, declarar
from servicios.derivacion.manejadores import manejadores as derivacion
from servicios.encuestas.manejadores import manejadores as encuestas
from servicios.notificaciones.manejadores import manejadores as notificaciones
from servicios.plazos.dominio import PoliticaPlazos
from servicios.plazos.manejadores import manejadores as plazos
from servicios.registro.manejadores import manejadores as registro


def claves_por_servicio() -> dict[str, list[str]]:
    """The routing keys each service consumes: the tipos its handlers handle. Building the
    handler tables touches no database, so none is given."""
    return {
        "registro": sorted(registro(None)),  # type: ignore[arg-type]
        "derivacion": sorted(derivacion(None)),  # type: ignore[arg-type]
        "plazos": sorted(plazos(None, PoliticaPlazos())),  # type: ignore[arg-type]
        "notificaciones": sorted(notificaciones(None, "")),  # type: ignore[arg-type]
        "encuestas": sorted(encuestas(None)),  # type: ignore[arg-type]
    }


def definiciones(topo: Topologia, vhost: str = "/") -> dict:
    def intercambio(nombre: str, tipo: str) -> dict:
        return {
            "name": nombre,
            "vhost": vhost,
            "type": tipo,
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }

    def enlace(origen: str, destino: str, clave: str) -> dict:
        return {
            "source": origen,
            "vhost": vhost,
            "destination": destino,
            "destination_type": "queue",
            "routing_key": clave,
            "arguments": {},
        }

    colas, enlaces = [], []
    for servicio, claves in claves_por_servicio().items():
        colas += [
            {
                "name": nombre,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": argumentos,
            }
            for nombre, argumentos in topo.colas(servicio).items()
        ]
        enlaces += [enlace(topo.intercambio, topo.cola(servicio), c) for c in claves]
        enlaces.append(enlace(topo.intercambio_muertos, topo.cola_parking(servicio), servicio))
    return {
        "exchanges": [
            intercambio(topo.intercambio, "topic"),
            intercambio(topo.intercambio_muertos, "direct"),
        ],
        "queues": colas,
        "bindings": enlaces,
    }


def declarar_todo(url: str, topo: Topologia) -> None:
    """Declares every service's queues and bindings before any service publishes, so that an
    event emitted while a consumer is still starting is not missed by it."""
    conexion = pika.BlockingConnection(pika.URLParameters(url))
    try:
        canal = conexion.channel()
        for servicio, claves in claves_por_servicio().items():
            declarar(canal, topo, servicio, claves)
    finally:
        conexion.close()


def main() -> None:
    print(json.dumps(definiciones(Topologia()), indent=2))


if __name__ == "__main__":
    main()
