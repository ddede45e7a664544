"""notificaciones' adapters: what it knows of reclamos and entities, the deliveries, and SMTP."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from datetime import UTC, datetime
from email.message import EmailMessage

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import al_confirmar, asegurar_colecciones
from comun.despertador import Despertador
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.schemas import EventoWebhook

# Touched after a commit that wrote a delivery in this process: the cartero sends it at once.
hay_entregas = Despertador()


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "entregas", "reclamos", "entidades", "webhooks", "webhook_entregas")
    db.entregas.create_index([("estado", 1), ("proximo_intento", 1)])
    db.entregas.create_index("codigo")
    # Webhooks (webhooks.py): an entity's subscriptions, and the deliveries due or listed.
    db.webhooks.create_index([("entidad", 1), ("activo", 1)])
    db.webhook_entregas.create_index([("estado", 1), ("proximo_intento", 1), ("creada_en", 1)])
    db.webhook_entregas.create_index([("webhook_id", 1), ("creada_en", -1)])
    al_dia_los_webhooks_de_todo(db)


# Event types added to EventoWebhook after entities could subscribe. A subscription made "to
# every event" stored the list of its day; it gets these too (idempotent, at every start).
TIPOS_NUEVOS = ("reclamo.adjuntado",)


def al_dia_los_webhooks_de_todo(db: Database) -> int:
    """Adds TIPOS_NUEVOS to each subscription that has every other type. Returns how many."""
    anteriores = sorted({e.value for e in EventoWebhook} - set(TIPOS_NUEVOS))
    hecho = db.webhooks.update_many(
        {"eventos": {"$all": anteriores}},
        {"$addToSet": {"eventos": {"$each": list(TIPOS_NUEVOS)}}},
    )
    return hecho.modified_count


def encolar_entrega(
    db: Database,
    s: ClientSession,
    clave: str,
    codigo: str | None,
    plantilla: str,
    destinatario: str,
    para: str,
    mensaje: tuple[str, str],
) -> None:
    """A delivery to make. `clave` makes it unique: the same cause never mails twice (an upsert
    that only inserts: one round-trip, and no duplicate-key error to abort the transaction)."""
    asunto, cuerpo = mensaje
    db.entregas.update_one(
        {"_id": clave},
        {
            "$setOnInsert": {
                "codigo": codigo,
                "plantilla": plantilla,
                "destinatario": destinatario,
                "para": para,
                "asunto": asunto,
                "cuerpo": cuerpo,
                "estado": "pendiente",
                "intentos": 0,
                "proximo_intento": datetime.now(UTC),
            }
        },
        upsert=True,
        session=s,
    )
    al_confirmar(s, hay_entregas.tocar)


class Correo:
    """Sends one message over SMTP and returns the Message-ID as proof of delivery. One
    connection serves mail after mail (a handshake per message cost more than the message); one
    the server dropped while idle is opened again before anything was sent."""

    def __init__(self, ajustes: AjustesNotificaciones) -> None:
        self.ajustes = ajustes
        self._smtp: smtplib.SMTP | None = None
        self._candado = threading.Lock()

    def enviar(self, para: str, asunto: str, cuerpo: str, id_mensaje: str) -> str:
        mensaje = EmailMessage()
        mensaje["From"] = self.ajustes.smtp_remitente
        mensaje["To"] = para
        mensaje["Subject"] = asunto
        mensaje["Message-ID"] = id_mensaje
        mensaje.set_content(cuerpo)
        with self._candado:
            for ultimo in (False, True):
                nueva = self._smtp is None
                try:
                    self._conexion().send_message(mensaje)
                    return mensaje["Message-ID"]
                except smtplib.SMTPServerDisconnected:
                    self.cerrar()
                    if nueva or ultimo:
                        raise
                    # Closed while idle: MAIL FROM never got through, so nothing was sent.
                except (smtplib.SMTPException, OSError):
                    self.cerrar()  # a half-done exchange: the next mail starts afresh
                    raise
        raise AssertionError("inalcanzable")

    def _conexion(self) -> smtplib.SMTP:
        if self._smtp is None:
            a = self.ajustes
            smtp = smtplib.SMTP(a.smtp_host, a.smtp_puerto, timeout=15)
            try:
                if a.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if a.smtp_usuario:
                    smtp.login(a.smtp_usuario, a.smtp_clave.get_secret_value())
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def cerrar(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp.close()
            self._smtp = None
