"""Start-up shared by the web and worker processes of every service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import Flask
from pymongo.database import Database

from comun import almacen, idempotencia, outbox
from comun.ajustes import Ajustes
from comun.bus import broker_responde
from comun.logs import configurar_logs
from comun.web import crear_app_base

A = TypeVar("A", bound=Ajustes)


@dataclass
class Contexto(Generic[A]):
    servicio: str
    ajustes: A
    db: Database

    def app_web(self) -> Flask:
        """The service's Flask app with what every service shares (comun.web)."""
        return crear_app_base(self.servicio, self.ajustes, self.chequeos())

    def chequeos(self) -> dict:
        return {
            "mongodb": lambda: almacen.responde(self.db),
            "rabbitmq": lambda: broker_responde(self.ajustes.amqp_url),
        }


def arrancar(
    servicio: str,
    clase: type[A] = Ajustes,  # type: ignore[assignment]
    preparar: Callable[[Database], None] | None = None,
) -> Contexto[A]:
    """Settings, logs, the store (waited for) with its outbox and the service's own indexes."""
    ajustes = clase()
    configurar_logs(servicio, ajustes.log_level)
    db = ajustes.almacen(servicio)
    almacen.esperar(db)
    almacen.asegurar_colecciones(db, "procesados", "outbox", "relay", idempotencia.COLECCION)
    outbox.preparar(db)
    idempotencia.preparar(db)
    if preparar:
        preparar(db)
    return Contexto(servicio, ajustes, db)
