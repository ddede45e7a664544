"""Supervisor routes (Secretaría de Gestión Pública): overdue reclamos across entities, and
interventions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/supervision", tags=["Supervisión (SGP)"])
