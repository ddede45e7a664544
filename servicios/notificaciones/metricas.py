"""notificaciones' gauges read at scrape time (comun.metricas.medir_al_leer): deliveries waiting,
per channel, and how overdue the most overdue one is. Both through the index on
(estado, proximo_intento) of each collection."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from pymongo.database import Database

from comun.metricas import Muestra, medir_al_leer

# channel (comun.metricas.CANALES) → the collection of its deliveries
COLECCIONES = {"correo": "entregas", "webhook": "webhook_entregas"}


def lectura(db: Database) -> list[Muestra]:
    ahora = datetime.now(UTC)
    muestras = []
    for canal, coleccion in COLECCIONES.items():
        pendientes = db[coleccion].count_documents({"estado": "pendiente"})
        # A delivery being sent has its next attempt pushed forward (the claim): only those
        # nobody took in time are overdue.
        vencida = db[coleccion].find_one(
            {"estado": "pendiente", "proximo_intento": {"$lte": ahora}},
            {"proximo_intento": 1},
            sort=[("proximo_intento", 1)],
        )
        atraso = 0.0
        if vencida is not None:
            atraso = max((ahora - vencida["proximo_intento"]).total_seconds(), 0.0)
        muestras += [
            Muestra("entregas_pendientes", float(pendientes), {"canal": canal}),
            Muestra("entregas_atraso_segundos", atraso, {"canal": canal}),
        ]
    return muestras


def medir(db: Database, servicio: str = "notificaciones") -> None:
    medir_al_leer(servicio, "entregas", functools.partial(lectura, db))
