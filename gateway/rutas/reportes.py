"""Routes of the reportes resource (issue 8): being built."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.modelos import COMUNES, errores

router = APIRouter(tags=["reportes"], responses=errores(*COMUNES))
