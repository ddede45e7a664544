"""Start-up shared by the web and worker processes of every service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pymongo.database import Database

from comun import almacen, outbox
from comun.ajustes import Ajustes
from comun.bus import broker_responde
from comun.logs import configurar_logs

A = TypeVar("A", bound=Ajustes)


@dataclass
class Contexto(Generic[A]):
    servicio: str
    ajustes: A
    db: Database

    def chequeos(self) -> dict:
        return {
            "mongodb": lambda: almacen.responde(self.db),
            "rabbitmq": lambda: broker_responde(self.ajustes.amqp_url),
        }


def arrancar(servicio: str, clase: type[A] = Ajustes) -> Contexto[A]:  # type: ignore[assignment]
    ajustes = clase()
    configurar_logs(servicio, ajustes.log_level)
    db = almacen.conectar(ajustes.mongo_url, ajustes.base_de_datos(servicio))
    almacen.esperar(db)
    outbox.preparar(db)
    return Contexto(servicio, ajustes, db)
