"""Sends pending deliveries over SMTP, with retries and back-off, and records the proof.

Several workers may run: each claims a delivery by pushing its next attempt forward before
sending, so two workers do not mail the same message at the same time.

Mail is delivered at least once. A repeat needs a crash between one SMTP send and its record: a
stop finishes and records the mail in hand before leaving, and every mail of a delivery carries
the same Message-ID, so a receiving system can drop a repeat.

The claim-and-send loop (`Repartidor`) is shared with the webhooks' Mensajero (webhooks.py).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import threading
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from comun.almacen import en_transaccion
from comun.eventos import NotificacionEntregada, nuevo_evento
from comun.logs import con_correlacion, id_seguro
from comun.metricas import Entregas
from comun.outbox import encolar
from servicios.notificaciones.dependencias import Correo, hay_entregas

log = logging.getLogger(__name__)
DOMINIO = "reclamos.gob.pe"
# How long a claim lasts if the worker dies while sending: four times the SMTP timeout (15 s), so
# a worker killed mid-send holds its mail about a minute, not longer (the fault suite checks that
# everything is through 90 s after the load). A send still running after that may be repeated:
# at least once, with the same Message-ID.
RECLAMO = timedelta(seconds=60)


class Repartidor:
    """The claim-and-send loop shared by every kind of delivery (mail here, webhooks in
    webhooks.py): pending documents of `coleccion` whose `proximo_intento` is due, claimed one by
    one by pushing that time forward, then handed to `entregar`."""

    coleccion = "entregas"
    orden: list[tuple[str, int]] = [("proximo_intento", 1)]  # noqa: RUF012 - read only
    # Touched when a handler of this process commits a new delivery: sent at once. Without a
    # touch the loop looks every `pausa` seconds (retries that fell due, other processes).
    despertador = hay_entregas
    canal = "correo"  # the metrics' label (comun.metricas.CANALES)

    def __init__(self, db: Database, pausa: float = 1.0) -> None:
        self.db = db
        self.pausa = pausa
        self.medidas = Entregas(self.canal)

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            if self.una_vuelta(parar) == 0:
                self.despertador.dormir(parar, self.pausa)

    def una_vuelta(self, parar: threading.Event | None = None) -> int:
        entregas = self.db[self.coleccion]
        pendientes = (
            entregas.find({"estado": "pendiente", "proximo_intento": {"$lte": datetime.now(UTC)}})
            .sort(self.orden)
            .limit(20)
        )
        hechas = 0
        for entrega in list(pendientes):
            if parar is not None and parar.is_set():
                break  # stopping: the delivery in hand was sent and recorded; leave the rest
            tomada = entregas.update_one(
                {
                    "_id": entrega["_id"],
                    "estado": "pendiente",
                    "proximo_intento": entrega["proximo_intento"],
                },
                # Claimed from now, not from the batch's start: earlier sends took time.
                {"$set": {"proximo_intento": datetime.now(UTC) + RECLAMO}},
            )
            if tomada.modified_count != 1:
                continue  # another worker took it
            self.entregar(entrega)
            hechas += 1
        return hechas

    def entregar(self, entrega: dict) -> None:
        raise NotImplementedError


class Cartero(Repartidor):
    def __init__(self, db: Database, correo: Correo, max_intentos: int, pausa: float = 1.0):
        super().__init__(db, pausa)
        self.correo = correo
        self.max_intentos = max_intentos

    def entregar(self, entrega: dict) -> None:
        try:
            prueba = self.correo.enviar(
                entrega["para"], entrega["asunto"], entrega["cuerpo"], id_de_mensaje(entrega)
            )
        except (smtplib.SMTPException, OSError) as exc:
            self._fallo(entrega, exc)
        else:
            self._terminar(entrega, "enviada", {"message_id": prueba})

    def _fallo(self, entrega: dict, exc: Exception) -> None:
        intentos = entrega["intentos"] + 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("entrega fallida", extra={"entrega": entrega["_id"], "intento": intentos})
        self.medidas.intento_fallido()
        if intentos >= self.max_intentos:
            self._terminar(entrega, "fallida", {"ultimo_error": error})
            return
        espera = timedelta(seconds=min(5 * 2**intentos, 600))
        self.db.entregas.update_one(
            {"_id": entrega["_id"]},
            {
                "$set": {
                    "intentos": intentos,
                    "ultimo_error": error,
                    "proximo_intento": datetime.now(UTC) + espera,
                }
            },
        )

    def _terminar(self, entrega: dict, estado: str, campos: dict) -> None:
        evento = nuevo_evento(
            "notificacion.enviada" if estado == "enviada" else "notificacion.fallida",
            NotificacionEntregada(
                plantilla=entrega["plantilla"], canal="email", destinatario=entrega["destinatario"]
            ),
            fuente="notificaciones",
            codigo=entrega["codigo"],
        )
        # The chain of the event that asked for this mail, when the delivery kept it; otherwise
        # this event starts its own.
        causa = entrega.get("correlacion")
        correlacion = id_seguro(causa) or evento.id
        evento = evento.model_copy(update={"correlacion": correlacion})

        def guardar(s):
            self.db.entregas.update_one(
                {"_id": entrega["_id"]},
                {
                    "$set": {"estado": estado, "terminada_en": evento.ocurrido_en, **campos},
                    "$inc": {"intentos": 1},
                    # The proof is the Message-ID; the body (answers, survey links) goes.
                    "$unset": {"cuerpo": ""},
                },
                session=s,
            )
            encolar(self.db, [evento], s)

        en_transaccion(self.db, guardar)
        if estado == "enviada":
            self.medidas.enviada()
        else:
            self.medidas.fallida()
        with con_correlacion(correlacion):
            log.info(
                "entrega %s", estado, extra={"entrega": entrega["_id"], "codigo": entrega["codigo"]}
            )


def id_de_mensaje(entrega: dict) -> str:
    """The same Message-ID for every send of one delivery (a retry after a crash included); a
    hash, so the código in the delivery's key does not travel in mail headers."""
    return f"<{hashlib.sha256(entrega['_id'].encode()).hexdigest()[:32]}@{DOMINIO}>"
