"""The gateway's settings: the shared ones plus where each internal service listens."""

from __future__ import annotations

from comun.ajustes import Ajustes


class AjustesGateway(Ajustes):
    url_registro: str = "http://127.0.0.1:8101"
    url_derivacion: str = "http://127.0.0.1:8102"
    url_plazos: str = "http://127.0.0.1:8103"
    url_notificaciones: str = "http://127.0.0.1:8104"
    url_encuestas: str = "http://127.0.0.1:8105"
    timeout_servicios: float = 10.0
    max_cuerpo_bytes: int = 1_000_000  # attachments travel as metadata; bodies are small
    # Public routes, per client address: reclamos filed per hour, and failed tracking lookups of
    # one código (a wrong document number) per hour, which stops guessing the document.
    limite_reclamos_por_hora: int = 30
    limite_fallos_seguimiento_por_hora: int = 10
