"""Waiting for what happens asynchronously (events travel through the broker): poll a
condition with a deadline. The deadline bounds a failure; it is never what a test asserts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def esperar(condicion: Callable[[], T | None], que: str, plazo: float = 30.0) -> T:
    """Polls `condicion` until it returns something truthy; fails the test after `plazo` s."""
    limite = time.monotonic() + plazo
    while True:
        valor = condicion()
        if valor:
            return valor
        if time.monotonic() > limite:
            pytest.fail(f"no ocurrió en {plazo:.0f} s: {que}")
        time.sleep(0.05)
