"""The gateway's sliding-window limits (no I/O)."""

from gateway.limites import Ventana


def test_permite_hasta_el_maximo_por_clave():
    v = Ventana(maximo=3, segundos=3600)
    for _ in range(3):
        assert v.espera("1.2.3.4") == 0
        v.anotar("1.2.3.4")
    assert 3590 < v.espera("1.2.3.4") <= 3600
    assert v.espera("5.6.7.8") == 0  # another client is not affected


def test_la_ventana_se_desliza():
    v = Ventana(maximo=1, segundos=0.0)  # every event has already left a zero-length window
    v.anotar("a")
    assert v.espera("a") == 0
