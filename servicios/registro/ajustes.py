"""registro's settings: the shared ones plus the portal's address (the survey link in tracking)."""

from __future__ import annotations

from comun.ajustes import Ajustes


class AjustesRegistro(Ajustes):
    # Base of the links a citizen sees (the gateway's public address), as notificaciones mails.
    url_portal: str = "http://localhost:8000"
