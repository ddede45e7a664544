"""The in-process wake-up (comun.despertador): no touch is lost to a loop.

A CI run failed `test_una_entrega_nueva_despierta_al_cartero_sin_esperar_su_vuelta`: the cartero
slept its whole pause after a delivery was committed. The old wake-up was one flag that every
waiter cleared after its wait: a touch seen first by another loop of the same process (they share
the module's wake-up), or landing between a wait's timeout and its clear, was erased before the
loop saw it."""

from __future__ import annotations

import threading

from comun.despertador import Despertador


def test_un_toque_despierta_a_cada_bucle_aunque_otro_lo_vea_primero() -> None:
    despertador = Despertador()
    vistos: dict[str, bool] = {}

    def bucle(nombre: str, segundos: float, listo: threading.Event | None = None) -> None:
        despertador.esperar(0)  # each loop has looked once before the touch
        if listo is not None:
            listo.set()
        vistos[nombre] = despertador.esperar(segundos)

    # "relay" waits while the touch comes; "cartero" was busy and looks only afterwards.
    listo = threading.Event()
    relay = threading.Thread(target=bucle, args=("relay", 5.0, listo))
    relay.start()
    listo.wait(5)
    ocupado = threading.Event()
    seguir = threading.Event()

    def cartero() -> None:
        despertador.esperar(0)
        ocupado.set()
        seguir.wait(5)  # busy sending while the touch comes and relay wakes
        vistos["cartero"] = despertador.esperar(0)

    hilo_cartero = threading.Thread(target=cartero)
    hilo_cartero.start()
    ocupado.wait(5)
    despertador.tocar()
    relay.join(5)
    seguir.set()
    hilo_cartero.join(5)
    assert vistos == {"relay": True, "cartero": True}


def test_un_toque_se_ve_una_vez_y_sin_toque_la_espera_vence() -> None:
    despertador = Despertador()
    despertador.esperar(0)
    despertador.tocar()
    despertador.tocar()
    assert despertador.esperar(0) is True
    assert despertador.esperar(0.05) is False  # two touches before one look: one wake-up


def test_parar_corta_el_sueno() -> None:
    despertador = Despertador()
    parar = threading.Event()
    parar.set()
    assert despertador.dormir(parar, 60.0) is False
