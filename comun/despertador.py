"""A wake-up between the threads of one process (issue 10): a writer touches it once its
transaction has committed (`almacen.al_confirmar`), and the loop that handles what was written
(the outbox relay, the mail sender, the figures' folder) wakes at once instead of polling the
store. The loop still looks now and then on its own: writes from other processes (a service's
web) do not touch this process's wake-up."""

from __future__ import annotations

import threading


class Despertador:
    def __init__(self) -> None:
        self._evento = threading.Event()

    def tocar(self) -> None:
        self._evento.set()

    def esperar(self, segundos: float) -> bool:
        """Waits until touched (True) or `segundos` pass (False); a touch is used up."""
        tocado = self._evento.wait(max(0.0, segundos))
        self._evento.clear()
        return tocado

    def dormir(self, parar: threading.Event, segundos: float, tramo: float = 0.5) -> bool:
        """`esperar` in short stretches, so that a stop is seen within `tramo` seconds."""
        restante = segundos
        while restante > 0 and not parar.is_set():
            if self.esperar(min(tramo, restante)):
                return True
            restante -= tramo
        return False
