"""The deadline clock of one reclamo, recomputed from what happened to it (pure domain).

Expected dates are counted by hand on the calendar below, not with the code under test.
Peru's holidays from holidays.country_holidays("PE") (checked in the first test):
  2026: 8 dic (martes), 9 dic (miércoles), 25 dic (viernes).   2027: 1 ene (viernes).
Weekdays: 2026-11-01 is a Sunday, so the Mondays are 2 / 9 / 16 / 23 / 30 Nov and 7 / 14 / 21 /
28 Dec; 2027-01-04, 11, 18, 25 are Mondays. Lima is UTC-5 all year (no daylight saving), so the
end of a Lima day D (23:59:59) is D+1 04:59:59Z and its start (00:00) is D 05:00:00Z.

Reference reclamo (the one of issue 6): received Tuesday 24 Nov 2026 before 16:30. Day 1 is
Wednesday 25 Nov. Counting business days:
  Nov 25(1) 26(2) 27(3) 30(4) · Dec 1(5) 2(6) 3(7) 4(8) 7(9) [8, 9 holidays] 10(10) 11(11)
  14(12) 15(13) 16(14) 17(15) 18(16) 21(17) 22(18) 23(19) 24(20) [25] 28(21) 29(22) 30(23)
  31(24) · [Jan 1] Jan 4(25) 5(26) 6(27) 7(28) 8(29) 11(30)
  → deadline Monday 11 Jan 2027, vence_en 2027-01-12T04:59:59Z (as the issue reports).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import holidays
import pytest

from servicios.plazos.dominio import (
    Calendario,
    Expediente,
    Observacion,
    Pausa,
    PoliticaPlazos,
    Traslado,
    aviso_antes_de,
    cerrar,
    dia_de_vencimiento,
    habiles_restantes,
    habiles_vencido,
    limite_de_vencidos,
    situacion,
    subsanar_hasta,
)

CAL = Calendario()
POLITICA = PoliticaPlazos()
RECEPCION = date(2026, 11, 24)
REGISTRADO = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 Lima
VENCE = datetime(2027, 1, 12, 4, 59, 59, tzinfo=UTC)  # end of 11 Jan 2027 in Lima


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def obs(id_: str, en: datetime, pausa: bool = True) -> Observacion:
    return Observacion(id_, en, pausa, subsanar_hasta(en, CAL, POLITICA))


def test_los_feriados_en_que_se_apoyan_estas_cuentas() -> None:
    pe = holidays.country_holidays("PE", years=[2026, 2027])
    for dia in (date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 25), date(2027, 1, 1)):
        assert dia in pe
    for dia in (date(2026, 12, 31), date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 12)):
        assert dia not in pe


# --- deadline with pauses -----------------------------------------------------------------------


def test_sin_pausas_es_el_plazo_de_siempre() -> None:
    assert dia_de_vencimiento(RECEPCION, 30, (), CAL) == date(2027, 1, 11)


def test_dia_no_laborable_declarado_corre_el_vencimiento_un_dia() -> None:
    # 31 Dec declared: it was day 24, so Jan 4 becomes 24 ... Jan 11 is 29 and Jan 12 is 30.
    cal = Calendario([date(2026, 12, 31)])
    assert dia_de_vencimiento(RECEPCION, 30, (), cal) == date(2027, 1, 12)
    # A day after the deadline, or before the recepción, moves nothing.
    assert dia_de_vencimiento(RECEPCION, 30, (), Calendario([date(2027, 1, 13)])) == date(
        2027, 1, 11
    )
    assert dia_de_vencimiento(RECEPCION, 30, (), Calendario([date(2026, 11, 23)])) == date(
        2027, 1, 11
    )


def test_pausa_cerrada_no_cuenta_los_dias_en_espera() -> None:
    # Observed Monday 30 Nov (day 4, counts), subsanado Wednesday 2 Dec: Dec 1 and 2 do not
    # count, so two more days at the end: Jan 12 (29), Jan 13 (30).
    pausa = Pausa(date(2026, 11, 30), date(2026, 12, 2))
    assert dia_de_vencimiento(RECEPCION, 30, [pausa], CAL) == date(2027, 1, 13)


def test_pausa_sobre_feriados_solo_descuenta_los_dias_habiles() -> None:
    # Observed Monday 7 Dec, subsanado Thursday 10 Dec: of Dec 8, 9 (holidays) and 10 only the
    # 10th was a business day: one more day, Jan 12.
    pausa = Pausa(date(2026, 12, 7), date(2026, 12, 10))
    assert dia_de_vencimiento(RECEPCION, 30, [pausa], CAL) == date(2027, 1, 12)


def test_pausa_del_mismo_dia_no_mueve_nada() -> None:
    pausa = Pausa(date(2026, 12, 3), date(2026, 12, 3))
    assert dia_de_vencimiento(RECEPCION, 30, [pausa], CAL) == date(2027, 1, 11)


def test_pausa_abierta_no_hay_vencimiento_en_curso() -> None:
    assert dia_de_vencimiento(RECEPCION, 30, [Pausa(date(2026, 12, 7))], CAL) is None


def test_pausa_abierta_despues_de_vencido_no_borra_el_vencimiento() -> None:
    # Observed Tuesday 12 Jan 2027, the day after the deadline: it was already due.
    assert dia_de_vencimiento(RECEPCION, 30, [Pausa(date(2027, 1, 12))], CAL) == date(2027, 1, 11)


def test_aviso_cinco_dias_habiles_antes() -> None:
    # Before Jan 11: Jan 8 (1), 7 (2), 6 (3), 5 (4), 4 (5).
    assert aviso_antes_de(date(2027, 1, 11), 5, CAL) == date(2027, 1, 4)
    # Before Jan 4 2027, skipping Jan 1 and the weekend: Dec 31 (1), 30 (2).
    assert aviso_antes_de(date(2027, 1, 4), 2, CAL) == date(2026, 12, 30)


# --- subsanación deadline -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observado_en", "esperado"),
    [
        # Monday 7 Dec 10:00 Lima: Dec 8, 9 holidays → Dec 10 (1), Dec 11 (2).
        (utc(2026, 12, 7, 15, 0), utc(2026, 12, 12, 4, 59, 59)),
        # Monday 7 Dec 23:30 Lima is already the 8th in UTC: the Lima day counts.
        (utc(2026, 12, 8, 4, 30), utc(2026, 12, 12, 4, 59, 59)),
        # Friday 4 Dec: Monday 7 (1), [8, 9] Thursday 10 (2).
        (utc(2026, 12, 4, 20, 0), utc(2026, 12, 11, 4, 59, 59)),
        # Thursday 24 Dec: [25, weekend] Monday 28 (1), Tuesday 29 (2).
        (utc(2026, 12, 24, 14, 0), utc(2026, 12, 30, 4, 59, 59)),
    ],
)
def test_plazo_para_subsanar(observado_en: datetime, esperado: datetime) -> None:
    assert subsanar_hasta(observado_en, CAL, POLITICA) == esperado


# --- overdue and remaining business days --------------------------------------------------------


@pytest.mark.parametrize(
    ("ahora", "esperado"),
    [
        (utc(2027, 1, 12, 4, 0), 0),  # Jan 11 23:00 Lima: not yet past
        (utc(2027, 1, 12, 5, 30), 1),  # Jan 12 00:30 Lima
        (utc(2027, 1, 12, 15, 0), 1),
        (utc(2027, 1, 16, 15, 0), 4),  # Saturday 16: Jan 12, 13, 14, 15
        (utc(2027, 1, 18, 15, 0), 5),  # Monday 18
    ],
)
def test_dias_habiles_de_atraso(ahora: datetime, esperado: int) -> None:
    assert habiles_vencido(VENCE, ahora, CAL) == esperado


def test_dias_habiles_restantes() -> None:
    # Monday Jan 4 (the warning day) 09:00 Lima: Jan 5, 6, 7, 8, 11 remain.
    assert habiles_restantes(VENCE, utc(2027, 1, 4, 14, 0), CAL) == 5
    assert habiles_restantes(VENCE, utc(2027, 1, 11, 14, 0), CAL) == 0


@pytest.mark.parametrize(
    ("dias_min", "ahora", "cota"),
    [
        # Friday 15 Jan 2027 10:00 Lima.
        (0, utc(2027, 1, 15, 15, 0), utc(2027, 1, 15, 15, 0)),  # any deadline already past
        (1, utc(2027, 1, 15, 15, 0), utc(2027, 1, 15, 5, 0)),  # due Jan 14 or before
        # 5 back from Friday 15: 15, 14, 13, 12, 11 → due Jan 8 or before (Jan 11..15 = 5).
        (5, utc(2027, 1, 15, 15, 0), utc(2027, 1, 11, 5, 0)),
        # Saturday 16: the first business day back is Friday 15.
        (1, utc(2027, 1, 16, 15, 0), utc(2027, 1, 15, 5, 0)),
    ],
)
def test_cota_de_vencidos_por_dias_de_atraso(
    dias_min: int, ahora: datetime, cota: datetime
) -> None:
    assert limite_de_vencidos(dias_min, ahora, CAL) == cota


def test_la_cota_separa_exactamente_por_dias_de_atraso() -> None:
    ahora = utc(2027, 1, 15, 15, 0)
    cota = limite_de_vencidos(5, ahora, CAL)
    vence_8 = utc(2027, 1, 9, 4, 59, 59)  # due Friday Jan 8: 5 business days overdue
    vence_11 = utc(2027, 1, 12, 4, 59, 59)  # due Monday Jan 11: 4
    assert vence_8 < cota and habiles_vencido(vence_8, ahora, CAL) == 5
    assert not vence_11 < cota and habiles_vencido(vence_11, ahora, CAL) == 4


# --- closing ------------------------------------------------------------------------------------


def test_cierre_no_cuenta_los_dias_en_pausa() -> None:
    # Answered Friday 4 Dec: Nov 25, 26, 27, 30, Dec 1, 2, 3, 4 = 8, minus Dec 1, 2 paused = 6.
    pausa = Pausa(date(2026, 11, 30), date(2026, 12, 2))
    cierre = cerrar(RECEPCION, VENCE, utc(2026, 12, 4, 15, 0), CAL, [pausa])
    assert (cierre.dias_habiles_usados, cierre.dentro_del_plazo) == (6, True)


# --- the whole clock from its facts -------------------------------------------------------------


def test_situacion_corriendo() -> None:
    sit = situacion(Expediente(REGISTRADO, 30), CAL, POLITICA)
    assert sit.estado == "corriendo"
    assert sit.fecha_recepcion == RECEPCION
    assert sit.vence_en == VENCE
    assert sit.fecha_aviso == date(2027, 1, 4)
    assert not sit.reloj_pausado and sit.subsanacion is None


def test_situacion_en_pausa_y_reanudada() -> None:
    o = obs("o1", utc(2026, 11, 30, 15, 0))  # Monday 30 Nov 10:00 Lima
    pausado = situacion(Expediente(REGISTRADO, 30, observaciones=(o,)), CAL, POLITICA)
    assert pausado.estado == "pausado" and pausado.reloj_pausado
    assert pausado.vence_en is None and pausado.fecha_aviso is None
    assert pausado.subsanacion == o
    # Subsanado Wednesday 2 Dec 18:00 Lima (23:00Z): Dec 1 and 2 do not count → Jan 13.
    reanudado = situacion(
        Expediente(REGISTRADO, 30, observaciones=(o,), subsanaciones=(utc(2026, 12, 2, 23, 0),)),
        CAL,
        POLITICA,
    )
    assert reanudado.estado == "corriendo" and not reanudado.reloj_pausado
    assert reanudado.vence_en == utc(2027, 1, 14, 4, 59, 59)
    assert reanudado.subsanacion is None
    # 5 business days before Jan 13: 12, 11, 8, 7, 6.
    assert reanudado.fecha_aviso == date(2027, 1, 6)


def test_observacion_sin_pausa_por_politica() -> None:
    o = obs("o1", utc(2026, 11, 30, 15, 0), pausa=False)
    sit = situacion(Expediente(REGISTRADO, 30, observaciones=(o,)), CAL, POLITICA)
    assert sit.estado == "corriendo" and sit.vence_en == VENCE
    assert sit.subsanacion == o and not sit.reloj_pausado


def test_dos_observaciones_con_sus_subsanaciones() -> None:
    # (Nov 30, Dec 2] and (Dec 14, Dec 16]: Dec 1, 2, 15, 16 do not count → Jan 12..15 → Jan 15.
    hechos = Expediente(
        REGISTRADO,
        30,
        observaciones=(obs("o1", utc(2026, 11, 30, 15, 0)), obs("o2", utc(2026, 12, 14, 15, 0))),
        subsanaciones=(utc(2026, 12, 2, 15, 0), utc(2026, 12, 16, 15, 0)),
    )
    assert situacion(hechos, CAL, POLITICA).vence_en == utc(2027, 1, 16, 4, 59, 59)


def test_el_orden_de_llegada_no_cambia_el_resultado() -> None:
    observaciones = [obs("o1", utc(2026, 11, 30, 15, 0)), obs("o2", utc(2026, 12, 14, 15, 0))]
    subsanaciones = [utc(2026, 12, 2, 15, 0), utc(2026, 12, 16, 15, 0)]
    resultados = {
        situacion(Expediente(REGISTRADO, 30, tuple(o), tuple(s)), CAL, POLITICA)
        for o in itertools.permutations(observaciones)
        for s in itertools.permutations(subsanaciones)
    }
    assert len(resultados) == 1


def test_subsanacion_antes_que_su_observacion_no_cierra_nada_todavia() -> None:
    # The subsanado arrived first (its observation is not in yet): nothing is paused yet.
    solo = Expediente(REGISTRADO, 30, subsanaciones=(utc(2026, 12, 2, 15, 0),))
    assert situacion(solo, CAL, POLITICA).vence_en == VENCE


def test_sin_registro_todavia() -> None:
    o = obs("o1", utc(2026, 11, 30, 15, 0))
    sit = situacion(Expediente(None, 30, observaciones=(o,)), CAL, POLITICA)
    assert sit.estado == "pendiente" and sit.vence_en is None and sit.subsanacion == o


def test_respondido_y_terminado_cierran_el_reloj() -> None:
    o = obs("o1", utc(2026, 11, 30, 15, 0))
    terminado = Expediente(REGISTRADO, 30, observaciones=(o,), terminado_en=utc(2026, 12, 3, 15))
    sit = situacion(terminado, CAL, POLITICA)
    assert sit.estado == "terminado" and not sit.abierto and sit.subsanacion is None
    respondido = Expediente(REGISTRADO, 30, respondido_en=utc(2026, 12, 3, 15))
    assert situacion(respondido, CAL, POLITICA).estado == "detenido"


def test_traslado_sigue_la_cuenta_original_por_defecto() -> None:
    traslado = Traslado(utc(2026, 12, 14, 15, 0), "otra", reinicia=False)
    sit = situacion(Expediente(REGISTRADO, 30, traslados=(traslado,)), CAL, POLITICA)
    assert sit.fecha_recepcion == RECEPCION and sit.vence_en == VENCE


@pytest.mark.parametrize(
    ("trasladado_en", "recepcion", "vence_en"),
    [
        # Monday 14 Dec 10:00 Lima: recepción Dec 14, day 1 Dec 15:
        # Dec 15(1) 16 17 18 21 22 23 24(8) [25] 28(9) 29 30 31(12) [Jan 1] Jan 4(13) 5 6 7 8(17)
        # 11(18) 12 13 14 15(22) 18(23) 19 20 21 22(27) 25(28) 26(29) 27(30).
        (utc(2026, 12, 14, 15, 0), date(2026, 12, 14), utc(2027, 1, 28, 4, 59, 59)),
        # Same day 17:00 Lima, after closing: recepción Tuesday 15 → one business day later.
        (utc(2026, 12, 14, 22, 0), date(2026, 12, 15), utc(2027, 1, 29, 4, 59, 59)),
    ],
)
def test_traslado_que_reinicia_la_cuenta(
    trasladado_en: datetime, recepcion: date, vence_en: datetime
) -> None:
    traslado = Traslado(trasladado_en, "otra", reinicia=True)
    sit = situacion(Expediente(REGISTRADO, 30, traslados=(traslado,)), CAL, POLITICA)
    assert sit.fecha_recepcion == recepcion and sit.vence_en == vence_en


def test_politica_por_defecto_pausa_y_no_reinicia() -> None:
    assert POLITICA.pausa_en_subsanacion is True
    assert POLITICA.traslado_reinicia is False
