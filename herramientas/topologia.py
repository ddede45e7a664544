"""The broker topology as RabbitMQ definitions, generated from the code that declares it.

    python -m herramientas.topologia > infra/rabbitmq/definitions.json

The services declare the same topology at start (idempotent); this file lets a broker have it
before any service runs (compose mounts it). A test checks that the file matches the code.
"""

from __future__ import annotations

import json

from comun.ajustes import Ajustes
from comun.bus import Topologia
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


def definiciones(topo: Topologia, limite_entregas: int, vhost: str = "/") -> dict:
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

    def cola(nombre: str, argumentos: dict) -> dict:
        return {
            "name": nombre,
            "vhost": vhost,
            "durable": True,
            "auto_delete": False,
            "arguments": argumentos,
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
        colas.append(cola(topo.cola(servicio), topo.argumentos_cola(servicio, limite_entregas)))
        colas.append(cola(topo.cola_parking(servicio), {"x-queue-type": "quorum"}))
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


def main() -> None:
    defaults = Ajustes.model_fields
    topo = Topologia(defaults["bus_nombre"].default)
    print(json.dumps(definiciones(topo, defaults["limite_entregas"].default), indent=2))


if __name__ == "__main__":
    main()
