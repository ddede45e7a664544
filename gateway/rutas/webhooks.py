"""Routes of the webhooks resource (issue 8): being built."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.modelos import COMUNES, errores

router = APIRouter(tags=["webhooks"], responses=errores(*COMUNES))
