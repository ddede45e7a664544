"""Models the gateway adds to the contract: the uniform error body; it re-exports the citizen's
views of a reclamo from registro's contract."""

from __future__ import annotations

from pydantic import BaseModel

from servicios.registro.schemas import Seguimiento, Tramite

__all__ = ["DetalleError", "Error", "Seguimiento", "Tramite"]


class DetalleError(BaseModel):
    campo: str
    mensaje: str


class Error(BaseModel):
    error: str
    mensaje: str
    detalle: list[DetalleError] | None = None
