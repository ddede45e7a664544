"""The HTTP contract of derivacion (the catalogue models are the event schemas in comun.eventos)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from comun.eventos import Contacto, Entidad

__all__ = ["Entidad", "EntradaBandeja", "Respuesta", "ResumenEntidad"]


class ResumenEntidad(BaseModel):
    id: str
    nombre: str
    tipo: str
    pais: str


class Respuesta(BaseModel):
    """The entity's written answer to the citizen."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    texto: str = Field(min_length=10, max_length=10000, description="Respuesta al ciudadano")


class EntradaBandeja(BaseModel):
    codigo: str
    entidad_id: str
    unidad_id: str
    unidad_nombre: str
    estado: str
    motivo: str
    canal: str
    sede: str | None = None
    descripcion: str
    pedido: str
    medio_respuesta: str
    contacto: Contacto
    registrado_en: datetime
    vence_en: datetime | None = None
    respuesta: str | None = None
    respondido_en: datetime | None = None
