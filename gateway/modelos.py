"""Models the gateway adds to the contract: the uniform error body."""

from __future__ import annotations

from pydantic import BaseModel

from servicios.registro.schemas import Seguimiento

__all__ = ["DetalleError", "Error", "Seguimiento"]


class DetalleError(BaseModel):
    campo: str
    mensaje: str


class Error(BaseModel):
    error: str
    mensaje: str
    detalle: list[DetalleError] | None = None
