"""The platform's domain clock: what "now" is for deadlines, answers, warnings and surveys.

Legal deadlines run for weeks; tests cannot wait for them. With `RELOJ_ARCHIVO` set (tests only,
never in production) the clock is the real one plus the seconds written in that file, so a test
process can move every service's "now" forward while they run. Without it, it is the real clock.
Timeouts, retries and leases keep using the real clock: they are about the machine, not the law.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

_cache: tuple[tuple[int, int], timedelta] = ((-1, -1), timedelta(0))
_candado = threading.Lock()


def ahora() -> datetime:
    """Now, in UTC, as the domain sees it."""
    return datetime.now(UTC) + desfase()


def desfase() -> timedelta:
    archivo = os.environ.get("RELOJ_ARCHIVO")
    if not archivo:
        return timedelta(0)
    global _cache
    try:
        estado = os.stat(archivo)
        cambio = (estado.st_mtime_ns, estado.st_size)
    except FileNotFoundError:
        return timedelta(0)
    with _candado:
        if cambio != _cache[0]:
            texto = Path(archivo).read_text().strip() or "0"
            _cache = (cambio, timedelta(seconds=float(texto)))
        return _cache[1]


def adelantar(archivo: Path, dias: float = 0, segundos: float = 0) -> None:
    """Moves the clock of every process reading `archivo` forward (tests)."""
    actual = float(archivo.read_text().strip() or "0") if archivo.exists() else 0.0
    archivo.write_text(str(actual + dias * 86400 + segundos))
