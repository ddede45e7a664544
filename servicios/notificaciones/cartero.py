"""Sends pending deliveries over SMTP, with retries and back-off, and records the proof.

Several workers may run: each claims the due deliveries (one write for a batch) by pushing their
next attempt forward before sending, so two workers do not mail the same message at the same time.

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
import time
import uuid
from collections.abc import Iterator
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
_MEDIO_RECLAMO = RECLAMO.total_seconds() / 2


class Repartidor:
    """The claim-and-send loop shared by every kind of delivery (mail here, webhooks in
    webhooks.py): pending documents of `coleccion` whose `proximo_intento` is due, claimed one by
    one by pushing that time forward, then handed to `entregar`."""

    coleccion = "entregas"
    orden: list[tuple[str, int]] = [("proximo_intento", 1)]  # noqa: RUF012 - read only
    # Touched when a handler of this process commits a new delivery: sent at once (deliveries
    # are written only by the worker's handlers). Otherwise the loop sleeps until the next one
    # falls due — a retry, or a claim of a worker that died — and looks on its own at least
    # every `pausa` seconds.
    despertador = hay_entregas
    canal = "correo"  # the metrics' label (comun.metricas.CANALES)

    def __init__(self, db: Database, pausa: float = 30.0) -> None:
        self.db = db
        self.pausa = pausa
        self.medidas = Entregas(self.canal)

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            if self.una_vuelta(parar) == 0:
                self.despertador.dormir(parar, self.hasta_la_proxima())

    def hasta_la_proxima(self) -> float:
        """Seconds until the first pending delivery falls due, at most `pausa`."""
        proxima = self.db[self.coleccion].find_one(
            {"estado": "pendiente"}, {"proximo_intento": 1}, sort=self.orden
        )
        if proxima is None:
            return self.pausa
        cuando = proxima["proximo_intento"]
        if cuando.tzinfo is None:
            cuando = cuando.replace(tzinfo=UTC)
        # Not less than a tenth of a second: a clock step must not make the loop spin.
        return min(self.pausa, max(0.1, (cuando - datetime.now(UTC)).total_seconds()))

    def una_vuelta(self, parar: threading.Event | None = None) -> int:
        pendientes = list(
            self.db[self.coleccion]
            .find({"estado": "pendiente", "proximo_intento": {"$lte": datetime.now(UTC)}})
            .sort(self.orden)
            .limit(20)
        )
        hechas = 0
        for entrega in self.tomadas(pendientes, parar):
            self.entregar(entrega)
            hechas += 1
        return hechas

    def tomadas(self, pendientes: list[dict], parar: threading.Event | None) -> Iterator[dict]:
        """The deliveries this worker claimed, each claimed right before it is sent: what the
        previous one did may defer it (a webhook receiver that is down defers the rest)."""
        for entrega in pendientes:
            if parar is not None and parar.is_set():
                return  # stopping: the delivery in hand was sent and recorded; leave the rest
            tomada = self.db[self.coleccion].update_one(
                {
                    "_id": entrega["_id"],
                    "estado": "pendiente",
                    "proximo_intento": entrega["proximo_intento"],
                },
                # Claimed from now, not from the batch's start: earlier sends took time.
                {"$set": {"proximo_intento": datetime.now(UTC) + RECLAMO}},
            )
            if tomada.modified_count == 1:  # else another worker took it
                yield entrega

    def entregar(self, entrega: dict) -> None:
        raise NotImplementedError


class Cartero(Repartidor):
    def __init__(self, db: Database, correo: Correo, max_intentos: int, pausa: float = 30.0):
        super().__init__(db, pausa)
        self.correo = correo
        self.max_intentos = max_intentos

    def tomadas(self, pendientes: list[dict], parar: threading.Event | None) -> Iterator[dict]:
        """Mail is claimed a batch at a time (issue 10: one write and one read instead of one
        write per mail); nothing one mail does changes the next."""
        tomadas = self._tomar(pendientes)
        desde = time.monotonic()
        for i, entrega in enumerate(tomadas):
            # Stopping: the mail in hand was sent and recorded; the rest is let go at once.
            # Slow sends: a claim is not used past half its length (when it lapses another
            # worker may take it); what is left goes back, to be taken again.
            if (parar is not None and parar.is_set()) or time.monotonic() - desde > _MEDIO_RECLAMO:
                self._soltar(tomadas[i:])
                return
            yield entrega

    def _tomar(self, pendientes: list[dict]) -> list[dict]:
        """Claims the due deliveries in one write, pushing their next attempt forward and
        marking them with this claim (those another worker took meanwhile no longer match);
        then one read says which are ours."""
        marca = uuid.uuid4().hex
        ahora = datetime.now(UTC)
        ids = [e["_id"] for e in pendientes]
        if not ids:
            return []
        self.db.entregas.update_many(
            {"_id": {"$in": ids}, "estado": "pendiente", "proximo_intento": {"$lte": ahora}},
            {"$set": {"proximo_intento": ahora + RECLAMO, "tomada_por": marca}},
        )
        filtro = {"_id": {"$in": ids}, "tomada_por": marca}
        nuestras = {d["_id"] for d in self.db.entregas.find(filtro, {"_id": 1})}
        return [e for e in pendientes if e["_id"] in nuestras]

    def _soltar(self, entregas: list[dict]) -> None:
        """Claimed but not sent: due again now, for any worker."""
        if entregas:
            self.db.entregas.update_many(
                {"_id": {"$in": [e["_id"] for e in entregas]}, "estado": "pendiente"},
                {"$set": {"proximo_intento": datetime.now(UTC)}},
            )

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

        def guardar(s=None):
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
            if s is not None:
                encolar(self.db, [evento], s)

        # Announced: what the citizen's timeline shows (registro), in one transaction with the
        # proof. A responsable's mail is proven by its delivery and counted in the metrics; its
        # event had no reader (issue 10), and one write needs no transaction.
        if entrega["destinatario"] == "ciudadano":
            en_transaccion(self.db, guardar)
        else:
            guardar()
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
