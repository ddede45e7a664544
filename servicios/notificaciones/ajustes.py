"""notificaciones' settings: the shared ones plus the mail server and the portal's address."""

from __future__ import annotations

from pydantic import SecretStr

from comun.ajustes import Ajustes


class AjustesNotificaciones(Ajustes):
    smtp_host: str = "127.0.0.1"
    smtp_puerto: int = 1025
    smtp_usuario: str = ""
    smtp_clave: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_remitente: str = "Libro de Reclamaciones Digital <no-responder@reclamos.gob.pe>"
    # Base of the links citizens receive (the gateway's public address).
    url_portal: str = "http://localhost:8000"
    max_intentos: int = 6
