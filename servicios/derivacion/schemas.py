"""The HTTP contract of derivacion (the catalogue models are the event schemas in comun.eventos)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from comun.eventos import (
    ArchivoAdjunto,
    Contacto,
    Entidad,
    Identificador,
    UnaLinea,
    UnaLineaOpcional,
    VariasLineas,
)
from comun.vocabulario import Canal, EstadoReclamo, MedioRespuesta, Motivo, Paso, TipoDocumento
from servicios.derivacion.dominio import decodificar_cursor, limite_vencimiento

__all__ = [
    "MOTIVO_ACCESO",
    "Cursor",
    "Detalle",
    "Entidad",
    "EntradaBandeja",
    "Estado",
    "FiltrosBandeja",
    "Observacion",
    "PaginaBandeja",
    "Reasignacion",
    "Respuesta",
    "ResumenEntidad",
    "Traslado",
    "VenceAntes",
]

Estado = EstadoReclamo


def _vence_antes(valor: str) -> str:
    limite_vencimiento(valor)  # raises a ValueError in Spanish
    return valor


def _cursor(valor: str) -> str:
    decodificar_cursor(valor)
    return valor


# Shared with the gateway, which checks the same before forwarding.
VenceAntes = Annotated[
    str,
    Field(max_length=40, description="Fecha (AAAA-MM-DD, hora de Lima) o fecha y hora ISO-8601"),
    AfterValidator(_vence_antes),
]
Cursor = Annotated[
    str,
    Field(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="Valor de `siguiente`"),
    AfterValidator(_cursor),
]
# Why a supervisor needs a citizen's identity: without it, document, names, email and phone are
# masked; with it, they are shown and the access is recorded (who, when, códigos, this reason).
MOTIVO_ACCESO = {
    "min_length": 10,
    "max_length": 500,
    "description": "Solo supervisor: por qué necesita ver la identidad del ciudadano (queda "
    "registrado). Sin él, documento, nombres, correo y teléfono se muestran enmascarados.",
}


class ResumenEntidad(BaseModel):
    id: str
    nombre: str
    tipo: str
    pais: str


class Respuesta(BaseModel):
    """The entity's written answer to the citizen."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    texto: VariasLineas = Field(
        min_length=10, max_length=10000, description="Respuesta al ciudadano"
    )


class Reasignacion(BaseModel):
    """Move the reclamo to another unit of the same entity."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    unidad_id: Identificador = Field(description="Unidad de la misma entidad que lo atenderá")
    razon: UnaLinea = Field(min_length=5, max_length=1000, description="Por qué se reasigna")


class Observacion(BaseModel):
    """Ask the citizen for what is missing (they have a term to provide it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    observacion: VariasLineas = Field(
        min_length=10, max_length=2000, description="Qué falta, en palabras para el ciudadano"
    )


class Traslado(BaseModel):
    """Send the reclamo to the competent entity."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    entidad_id: Identificador = Field(description="Entidad competente")
    razon: UnaLinea = Field(min_length=5, max_length=1000, description="Por qué se traslada")


class FiltrosBandeja(BaseModel):
    """The query of GET /bandeja."""

    model_config = ConfigDict(extra="ignore")
    estado: Estado | None = None
    unidad: Identificador | None = None
    motivo: Motivo | None = None
    vence_antes: VenceAntes | None = None
    vencido: bool | None = None
    entidad: Identificador | None = Field(default=None, description="Solo supervisor")
    limite: int = Field(default=50, ge=1, le=200)
    cursor: Cursor | None = None
    motivo_acceso: UnaLineaOpcional = Field(default=None, **MOTIVO_ACCESO)


class Detalle(BaseModel):
    """The query of GET /bandeja/{codigo}."""

    model_config = ConfigDict(extra="ignore")
    motivo_acceso: UnaLineaOpcional = Field(default=None, **MOTIVO_ACCESO)


class PasoHistorial(BaseModel):
    fecha: datetime
    estado: Paso
    texto: str


class SubsanacionRecibida(BaseModel):
    """What the citizen sent to answer an observación."""

    texto: str
    adjuntos: list[ArchivoAdjunto] = []


class ContactoCiudadano(Contacto):
    """The citizen's contact as the bandeja shows it (masked for a supervisor without a reason)."""

    tipo_documento: TipoDocumento


class EntradaBandeja(BaseModel):
    # Every field is always sent: a generated client gets `X | None`, not "maybe absent".
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)
    codigo: str
    entidad_id: str
    unidad_id: str
    unidad_nombre: str
    estado: EstadoReclamo
    motivo: Motivo
    canal: Canal
    sede: str | None = None
    descripcion: str
    pedido: str
    medio_respuesta: MedioRespuesta
    contacto: ContactoCiudadano
    registrado_en: datetime
    vence_en: datetime | None = None
    reloj_pausado: bool = False
    vencido: bool = False
    dentro_del_plazo: bool | None = None
    observacion: str | None = None
    subsanar_hasta: datetime | None = None
    subsanacion: SubsanacionRecibida | None = None
    respuesta: str | None = None
    respondido_en: datetime | None = None
    historial: list[PasoHistorial] | None = Field(
        default=None, description="Lo ocurrido, en orden (solo en el detalle de un reclamo)"
    )


class PaginaBandeja(BaseModel):
    items: list[EntradaBandeja]
    siguiente: str | None = Field(
        description="Cursor de la página siguiente (páselo en `cursor`); null si no hay más"
    )
