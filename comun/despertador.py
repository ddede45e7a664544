"""A wake-up between the threads of one process (issue 10): a writer touches it once its
transaction has committed (`almacen.al_confirmar`), and the loop that handles what was written
(the outbox relay, the mail sender, the figures' folder) wakes at once instead of polling the
store. The loop still looks now and then on its own: writes from other processes (a service's
web) do not touch this process's wake-up."""

from __future__ import annotations

import threading


class Despertador:
    """Touches are counted, and each waiting thread remembers how many it has seen: a touch
    wakes every loop of the process that waits on it, one busy at the time sees it on its next
    wait, and none is lost between a wait's timeout and the next (a shared flag cleared by each
    waiter lost both; a CI run saw the cartero sleep through a new delivery)."""

    def __init__(self) -> None:
        self._condicion = threading.Condition()
        self._toques = 0
        self._visto = threading.local()  # per thread: the touches seen so far

    def tocar(self) -> None:
        with self._condicion:
            self._toques += 1
            self._condicion.notify_all()

    def esperar(self, segundos: float) -> bool:
        """Waits until touched (True) or `segundos` pass (False). True at once if touched since
        this thread last looked (a thread's first look counts every touch before it: at worst
        one needless pass); touches seen are used up."""
        with self._condicion:
            visto = getattr(self._visto, "toques", 0)
            self._condicion.wait_for(lambda: self._toques != visto, max(0.0, segundos))
            self._visto.toques = self._toques
            return self._toques != visto

    def dormir(self, parar: threading.Event, segundos: float, tramo: float = 0.5) -> bool:
        """`esperar` in short stretches, so that a stop is seen within `tramo` seconds."""
        restante = segundos
        while restante > 0 and not parar.is_set():
            if self.esperar(min(tramo, restante)):
                return True
            restante -= tramo
        return False
