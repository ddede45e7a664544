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
    # Entity webhooks (webhooks.py). Plain http and private/loopback targets are for tests and
    # local use only: in production an entity's URL is https on a public address.
    webhooks_permitir_http: bool = False
    webhooks_permitir_privadas: bool = False
    # Back-off between attempts: inicial · 2^(n-1) seconds, at most `max`, for `vigencia` seconds
    # after the event (then the delivery is `fallida`).
    webhooks_espera_inicial_s: float = 30.0
    webhooks_espera_max_s: float = 3600.0
    webhooks_vigencia_s: float = 24 * 3600.0
    webhooks_timeout_s: float = 10.0
    webhooks_max_por_entidad: int = 10
