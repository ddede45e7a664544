"""notificaciones' adapters: what it knows of reclamos and entities, the deliveries, and SMTP."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import asegurar_colecciones
from servicios.notificaciones.ajustes import AjustesNotificaciones


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "entregas", "reclamos", "entidades", "webhooks", "webhook_entregas")
    db.entregas.create_index([("estado", 1), ("proximo_intento", 1)])
    db.entregas.create_index("codigo")
    # Webhooks (webhooks.py): an entity's subscriptions, and the deliveries due or listed.
    db.webhooks.create_index([("entidad", 1), ("activo", 1)])
    db.webhook_entregas.create_index([("estado", 1), ("proximo_intento", 1), ("creada_en", 1)])
    db.webhook_entregas.create_index([("webhook_id", 1), ("creada_en", -1)])


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
    """A delivery to make. `clave` makes it unique: the same cause never mails twice."""
    if db.entregas.find_one({"_id": clave}, {"_id": 1}, session=s):
        return
    asunto, cuerpo = mensaje
    db.entregas.insert_one(
        {
            "_id": clave,
            "codigo": codigo,
            "plantilla": plantilla,
            "destinatario": destinatario,
            "para": para,
            "asunto": asunto,
            "cuerpo": cuerpo,
            "estado": "pendiente",
            "intentos": 0,
            "proximo_intento": datetime.now(UTC),
        },
        session=s,
    )


class Correo:
    """Sends one message over SMTP and returns the Message-ID as proof of delivery."""

    def __init__(self, ajustes: AjustesNotificaciones) -> None:
        self.ajustes = ajustes

    def enviar(self, para: str, asunto: str, cuerpo: str, id_mensaje: str) -> str:
        a = self.ajustes
        mensaje = EmailMessage()
        mensaje["From"] = a.smtp_remitente
        mensaje["To"] = para
        mensaje["Subject"] = asunto
        mensaje["Message-ID"] = id_mensaje
        mensaje.set_content(cuerpo)
        with smtplib.SMTP(a.smtp_host, a.smtp_puerto, timeout=15) as smtp:
            if a.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if a.smtp_usuario:
                smtp.login(a.smtp_usuario, a.smtp_clave.get_secret_value())
            smtp.send_message(mensaje)
        return mensaje["Message-ID"]
