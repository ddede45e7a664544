"""Rate limits for the public routes (DESIGN.md §4), in the gateway's memory.

Each gateway replica counts on its own: with N replicas a client gets up to N times the limit,
which still stops brute force and floods; a shared counter can come with the infrastructure.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass


class Ventana:
    """At most `maximo` events per key in any `segundos` window (sliding)."""

    def __init__(self, maximo: int, segundos: float) -> None:
        self.maximo = maximo
        self.segundos = segundos
        self._eventos: dict[str, deque[float]] = {}

    def espera(self, clave: str) -> float:
        """Seconds until one more event is allowed for `clave` (0 if it is allowed now)."""
        marcas = self._vigentes(clave)
        if len(marcas) < self.maximo:
            return 0.0
        return marcas[0] + self.segundos - time.monotonic()

    def anotar(self, clave: str) -> None:
        self._vigentes(clave).append(time.monotonic())
        if len(self._eventos) > 100_000:  # bounded memory under a flood of distinct keys
            self._eventos = {k: v for k, v in self._eventos.items() if v}

    def _vigentes(self, clave: str) -> deque[float]:
        marcas = self._eventos.setdefault(clave, deque())
        limite = time.monotonic() - self.segundos
        while marcas and marcas[0] <= limite:
            marcas.popleft()
        return marcas


@dataclass
class Limites:
    reclamos: Ventana
    fallos_seguimiento: Ventana
