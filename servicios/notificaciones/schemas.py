"""The HTTP contract of notificaciones' webhooks (the gateway re-exports these models)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class EventoWebhook(StrEnum):
    """Eventos de los reclamos de la entidad que un webhook puede recibir."""

    registrado = "reclamo.registrado"
    derivado = "reclamo.derivado"
    en_atencion = "reclamo.en_atencion"
    reasignado = "reclamo.reasignado"
    observado = "reclamo.observado"
    subsanado = "reclamo.subsanado"
    adjuntado = "reclamo.adjuntado"
    archivado = "reclamo.archivado"
    trasladado = "reclamo.trasladado"
    desistido = "reclamo.desistido"
    respondido = "reclamo.respondido"
    cerrado = "reclamo.cerrado"
    por_vencer = "plazo.por_vencer"
    vencido = "plazo.vencido"
    intervencion = "supervision.intervencion"


PATRON_ID = r"^wh_[0-9a-f]{16}$"


class NuevoWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(
        min_length=10,
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="Dirección https que recibirá los eventos por POST (sin usuario ni clave)",
        examples=["https://sistemas.minsa.gob.pe/pdr/eventos"],
    )
    eventos: list[EventoWebhook] | None = Field(
        default=None,
        max_length=len(EventoWebhook),
        description="Tipos de evento que recibe; sin indicar, todos",
    )


class Webhook(BaseModel):
    id: str = Field(pattern=PATRON_ID)
    url: str
    eventos: list[EventoWebhook] = Field(description="Tipos de evento que recibe")
    unidad: str | None = Field(
        default=None, description="Solo eventos de esta unidad (clave de una unidad)"
    )
    activo: bool
    creado_en: datetime
    secreto_rotado_en: datetime | None = None


class WebhookCreado(Webhook):
    secreto: str = Field(
        description="Secreto de la firma `X-PDR-Firma`. Se muestra solo esta vez: guárdelo."
    )


class SecretoNuevo(BaseModel):
    id: str = Field(pattern=PATRON_ID)
    secreto: str = Field(description="El nuevo secreto; se muestra solo esta vez.")
    secreto_rotado_en: datetime


class Intento(BaseModel):
    en: datetime
    estado_http: int | None = Field(default=None, description="Estado HTTP de la respuesta")
    error: str | None = Field(default=None, description="Por qué falló (sin respuesta, 4xx...)")
    duracion_ms: int


class EntregaWebhook(BaseModel):
    id: str = Field(description="El mismo de la cabecera `X-PDR-Entrega`")
    evento_id: str
    tipo: EventoWebhook
    codigo: str
    estado: str = Field(description="pendiente, entregada, fallida o cancelada")
    creada_en: datetime
    proximo_intento: datetime | None = Field(
        default=None, description="Cuándo se reintenta (si está pendiente)"
    )
    terminada_en: datetime | None = None
    intentos: list[Intento] = Field(description="Cada intento, el más antiguo primero")


class PaginaEntregas(BaseModel):
    entregas: list[EntregaWebhook] = Field(description="La más reciente primero")
