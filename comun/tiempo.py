"""Dates are stored in UTC and shown in America/Lima (DESIGN.md §2)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LIMA = ZoneInfo("America/Lima")


def en_lima(momento: datetime) -> str:
    """'23/11/2026 16:05' for a person to read."""
    return momento.astimezone(LIMA).strftime("%d/%m/%Y %H:%M")


def dia_en_lima(momento: datetime) -> str:
    return momento.astimezone(LIMA).strftime("%d/%m/%Y")


def al_milisegundo(momento: datetime) -> datetime:
    """`momento` as the store keeps it (milliseconds), so it compares with what is read back."""
    return momento.replace(microsecond=momento.microsecond // 1000 * 1000)
