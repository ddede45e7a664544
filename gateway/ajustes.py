"""The gateway's settings: the shared ones plus where each internal service listens."""

from __future__ import annotations

import ipaddress

from pydantic import field_validator

from comun.ajustes import Ajustes

Red = ipaddress.IPv4Network | ipaddress.IPv6Network


class AjustesGateway(Ajustes):
    url_registro: str = "http://127.0.0.1:8101"
    url_derivacion: str = "http://127.0.0.1:8102"
    url_plazos: str = "http://127.0.0.1:8103"
    url_notificaciones: str = "http://127.0.0.1:8104"
    url_encuestas: str = "http://127.0.0.1:8105"
    timeout_servicios: float = 10.0
    max_cuerpo_bytes: int = 1_000_000  # JSON bodies are small
    # A multipart upload of files (up to 20 MB per reclamo) plus the form's own bytes.
    max_cuerpo_adjuntos_bytes: int = 22_000_000
    # Addresses or networks (comma-separated, e.g. "10.0.0.5,10.1.0.0/16") of the reverse proxies
    # in front of the gateway. Only a request whose socket peer is one of them has its client
    # taken from X-Forwarded-For; by default none is trusted and the peer is the client.
    proxies_de_confianza: str = ""
    # Rate limits of the public routes (DESIGN.md §4), counted in the gateway's store so every
    # replica shares them. Filing protects the service, not against citizens: per document a
    # day, and per client address an hour with a ceiling high enough for a consulate's desk, a
    # kiosk or a mobile carrier's NAT. Failed lookups (a wrong document for a código, on
    # seguimiento, subsanación and desistimiento) are counted per código whatever the address,
    # which stops guessing the document of a código someone saw, and per document, which stops
    # trying one document against many códigos.
    limite_reclamos_por_documento_por_dia: int = 10
    limite_reclamos_por_direccion_por_hora: int = 300
    limite_fallos_seguimiento_por_hora: int = 10
    limite_fallos_por_documento_por_hora: int = 10

    # The web pages' cookies only over HTTPS: on when a proxy ends TLS in front of the gateway
    # (compose's Caddy); a request that arrives as https gets them anyway.
    portal_cookies_seguras: bool = False

    # Who answers integrators, as the API's document shows it (info.contact).
    contacto_nombre: str = "Secretaría de Gestión Pública (PCM)"
    contacto_url: str = "https://www.gob.pe/pcm"
    contacto_email: str | None = None

    def contacto(self) -> dict[str, str]:
        datos = {"name": self.contacto_nombre, "url": self.contacto_url}
        return datos | ({"email": self.contacto_email} if self.contacto_email else {})

    @field_validator("proxies_de_confianza")
    @classmethod
    def _redes_validas(cls, valor: str) -> str:
        redes_de(valor)  # a mistyped proxy must stop the start, not silently trust nobody
        return valor

    def proxies(self) -> tuple[Red, ...]:
        return redes_de(self.proxies_de_confianza)


def redes_de(valor: str) -> tuple[Red, ...]:
    """ "10.0.0.5, 10.1.0.0/16" → the networks; a bare address is a network of one."""
    return tuple(ipaddress.ip_network(x.strip()) for x in valor.split(",") if x.strip())
