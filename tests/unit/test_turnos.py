"""comun.bus.Turnos: one reclamo in one thread's hands at a time, its messages in the order they
came; a batch takes a ready message with those of its reclamo waiting behind it (issue 10)."""

from __future__ import annotations

from comun.bus import Turnos


def _llegan(turnos: Turnos, *mensajes: str) -> list[bool]:
    # A message is its reclamo's letter and its number: "A2" is reclamo A's second.
    return [turnos.llega(m[0], m) for m in mensajes]


def test_un_lote_se_lleva_los_mensajes_de_su_reclamo_que_esperan_en_orden():
    turnos = Turnos()
    assert _llegan(turnos, "A1", "A2", "B1", "A3") == [True, False, True, False]

    claves, mensajes = turnos.tomar(16)

    assert claves == ["A", "B"]
    assert mensajes == ["A1", "A2", "A3", "B1"]
    assert turnos.terminar(claves) == 0
    assert turnos.tomar(16) == ([], [])


def test_lo_que_no_cabe_en_el_lote_espera_a_que_termine_el_de_su_reclamo():
    turnos = Turnos()
    _llegan(turnos, "A1", "A2", "A3", "B1")

    claves, mensajes = turnos.tomar(2)
    assert (claves, mensajes) == (["A"], ["A1", "A2"])
    # Another thread meanwhile: A is in hand, so only B.
    assert turnos.tomar(16) == (["B"], ["B1"])
    _llegan(turnos, "A4")  # arrives while A is in hand: waits too

    assert turnos.terminar(["A"]) == 1  # the next of A is ready now
    assert turnos.tomar(16) == (["A"], ["A3", "A4"])


def test_de_a_uno_cada_mensaje_espera_al_anterior_de_su_reclamo():
    turnos = Turnos()
    _llegan(turnos, "A1", "A2", "B1")
    assert turnos.tomar(1) == (["A"], ["A1"])
    assert turnos.tomar(1) == (["B"], ["B1"])
    assert turnos.tomar(1) == ([], [])
    assert turnos.terminar(["A"]) == 1
    assert turnos.tomar(1) == (["A"], ["A2"])
