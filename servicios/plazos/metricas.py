"""plazos' business metrics: open and overdue-open reclamos read at scrape time (through the
index on (estado, vence_en)), and answers by deadline counted when their transaction commits."""

from __future__ import annotations

import functools

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import metricas, reloj
from comun.almacen import al_confirmar
from comun.metricas import Muestra

ABIERTOS = ("corriendo", "pausado")  # Situacion.abierto
_EN_LA_SESION = "_pdr_respondidos"


def lectura(db: Database) -> list[Muestra]:
    abiertos = db.plazos.count_documents({"estado": {"$in": list(ABIERTOS)}})
    # As the supervisor's listing: running and past its deadline by the domain's clock.
    vencidos = db.plazos.count_documents(
        {"estado": "corriendo", "vence_en": {"$lt": reloj.ahora()}}
    )
    return [
        Muestra("reclamos_abiertos", float(abiertos)),
        Muestra("reclamos_vencidos_abiertos", float(vencidos)),
    ]


def medir(db: Database, servicio: str = "plazos") -> None:
    # Counts over every open reclamo: every 30 s is enough for a business gauge.
    metricas.medir_al_leer(servicio, "reclamos", functools.partial(lectura, db), cada=30.0)
    metricas.preparar_respondidos()


class _Respondidos(dict):
    """The answers a transaction recorded, by código: a retried transaction (the handler run
    again in the same session) writes the same key, so each counts once, after the commit."""

    def contar(self) -> None:
        for plazo in self.values():
            metricas.respondido(plazo)


def respondido(sesion: ClientSession | None, codigo: str, a_tiempo: bool) -> None:
    plazo = "a_tiempo" if a_tiempo else "fuera_de_plazo"
    if sesion is None or not sesion.in_transaction:
        metricas.respondido(plazo)
        return
    pendientes = getattr(sesion, _EN_LA_SESION, None)
    if pendientes is None:
        pendientes = _Respondidos()
        setattr(sesion, _EN_LA_SESION, pendientes)
        al_confirmar(sesion, pendientes.contar)
    pendientes[codigo] = plazo
