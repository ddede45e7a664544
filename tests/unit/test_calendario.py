"""Plazos en días hábiles con fechas conocidas (verificadas contra holidays.country_holidays("PE")).

Feriados relevantes según holidays 0.109:
  2025: 17-18 abr (Jueves/Viernes Santo), 28-29 jul, 8-9 dic, 25 dic.
  2026: 1 ene, 2-3 abr (Jueves/Viernes Santo), 1 may (viernes), 23 jul, 28-29 jul, 6 ago.
  2027: 1 ene (viernes).
"""

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest

from servicios.plazos.dominio import (
    LIMA,
    Calendario,
    Cierre,
    PoliticaPlazos,
    cerrar,
    fecha_aviso,
    fecha_recepcion,
    vencimiento,
)

POLITICA = PoliticaPlazos()
CAL = Calendario()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- Los datos de la librería en los que se apoyan estas pruebas -------------------------------


def test_feriados_de_referencia_existen_en_la_libreria() -> None:
    pe = holidays.country_holidays("PE", years=[2025, 2026, 2027])
    for dia in (
        date(2025, 4, 17),
        date(2025, 4, 18),
        date(2025, 7, 28),
        date(2025, 7, 29),
        date(2025, 12, 8),
        date(2025, 12, 9),
        date(2025, 12, 25),
        date(2026, 1, 1),
        date(2026, 4, 2),
        date(2026, 4, 3),
        date(2026, 5, 1),
        date(2026, 7, 23),
        date(2026, 7, 28),
        date(2026, 7, 29),
        date(2026, 8, 6),
        date(2027, 1, 1),
    ):
        assert dia in pe, dia


# --- Calendario.es_habil -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "dia",
    [
        date(2026, 4, 1),  # miércoles antes de Semana Santa
        date(2026, 4, 6),  # lunes después de Pascua
        date(2026, 7, 27),  # lunes antes de Fiestas Patrias
        date(2026, 7, 30),  # jueves después de Fiestas Patrias
        date(2025, 12, 26),  # viernes después de Navidad
        date(2026, 1, 2),  # viernes después de Año Nuevo
    ],
)
def test_dias_habiles(dia: date) -> None:
    assert CAL.es_habil(dia) is True


@pytest.mark.parametrize(
    "dia",
    [
        date(2026, 4, 2),  # Jueves Santo 2026
        date(2026, 4, 3),  # Viernes Santo 2026
        date(2025, 4, 17),  # Jueves Santo 2025
        date(2025, 4, 18),  # Viernes Santo 2025
        date(2026, 7, 28),  # Fiestas Patrias
        date(2026, 7, 29),
        date(2025, 12, 8),  # Inmaculada Concepción
        date(2025, 12, 25),  # Navidad
        date(2026, 1, 1),  # Año Nuevo
        date(2026, 3, 21),  # sábado
        date(2026, 3, 22),  # domingo
    ],
)
def test_dias_no_habiles(dia: date) -> None:
    assert CAL.es_habil(dia) is False


def test_dia_no_laborable_de_operador() -> None:
    # Un día no laborable decretado para el sector público: deja de ser hábil solo en ese
    # calendario, sin tocar los demás.
    cal = Calendario(dias_no_laborables=[date(2026, 1, 2)])
    assert cal.es_habil(date(2026, 1, 2)) is False
    assert CAL.es_habil(date(2026, 1, 2)) is True
    assert cal.siguiente_habil(date(2025, 12, 31)) == date(2026, 1, 5)


def test_datetime_no_se_acepta_como_fecha() -> None:
    with pytest.raises(TypeError):
        CAL.es_habil(datetime(2026, 4, 2, 10, 0, tzinfo=LIMA))
    with pytest.raises(TypeError):
        Calendario(dias_no_laborables=[datetime(2026, 1, 2, 0, 0)])


# --- siguiente_habil / sumar_habiles ---------------------------------------------------------


@pytest.mark.parametrize(
    ("dia", "esperado"),
    [
        (date(2026, 4, 1), date(2026, 4, 6)),  # salta Jueves y Viernes Santo y el fin de semana
        (date(2025, 4, 16), date(2025, 4, 21)),  # Semana Santa 2025
        (date(2026, 7, 27), date(2026, 7, 30)),  # salta 28 y 29 de julio
        (date(2025, 12, 5), date(2025, 12, 10)),  # salta fin de semana, 8 y 9 de diciembre
        (date(2025, 12, 24), date(2025, 12, 26)),  # salta Navidad
        (date(2025, 12, 31), date(2026, 1, 2)),  # cambio de año, salta Año Nuevo
        (date(2026, 3, 20), date(2026, 3, 23)),  # viernes -> lunes
        (date(2026, 3, 21), date(2026, 3, 23)),  # sábado -> lunes
        (date(2026, 3, 18), date(2026, 3, 19)),  # estrictamente posterior
    ],
)
def test_siguiente_habil(dia: date, esperado: date) -> None:
    assert CAL.siguiente_habil(dia) == esperado


def test_sumar_habiles_cruzando_el_anio() -> None:
    # 31 dic 2026 (1), 1 ene 2027 feriado, 2-3 fin de semana, 4 ene (2), 5 ene (3).
    assert CAL.sumar_habiles(date(2026, 12, 30), 3) == date(2027, 1, 5)


def test_sumar_un_habil_es_el_siguiente() -> None:
    assert CAL.sumar_habiles(date(2026, 4, 1), 1) == date(2026, 4, 6)


@pytest.mark.parametrize("n", [0, -1])
def test_sumar_habiles_rechaza_n_menor_que_uno(n: int) -> None:
    with pytest.raises(ValueError):
        CAL.sumar_habiles(date(2026, 4, 1), n)


# --- habiles_entre ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desde", "hasta", "esperado"),
    [
        (date(2026, 3, 18), date(2026, 3, 18), 0),  # mismo día
        (date(2026, 3, 19), date(2026, 3, 18), 0),  # hasta < desde
        (date(2026, 3, 20), date(2026, 3, 23), 1),  # viernes -> lunes: solo el lunes
        (date(2026, 3, 20), date(2026, 3, 22), 0),  # solo fin de semana
        (date(2026, 4, 1), date(2026, 4, 6), 1),  # Semana Santa en medio
        (date(2026, 3, 31), date(2026, 4, 7), 3),  # 1, 6 y 7 de abril
        (date(2026, 3, 17), date(2026, 3, 18), 1),  # hasta es inclusive
        (date(2025, 12, 24), date(2026, 1, 2), 5),  # 26, 29, 30, 31 dic y 2 ene
    ],
)
def test_habiles_entre(desde: date, hasta: date, esperado: int) -> None:
    assert CAL.habiles_entre(desde, hasta) == esperado


@pytest.mark.parametrize("n", [1, 5, 30, 60])
def test_habiles_entre_es_inverso_de_sumar_habiles(n: int) -> None:
    desde = date(2025, 11, 20)
    assert CAL.habiles_entre(desde, CAL.sumar_habiles(desde, n)) == n


# --- fecha_recepcion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registrado_en", "esperado"),
    [
        # Miércoles 18 mar 2026 (Lima = UTC-5).
        (utc(2026, 3, 18, 16, 45), date(2026, 3, 18)),  # 11:45 Lima (en UTC ya pasó las 16:30)
        (utc(2026, 3, 18, 21, 0), date(2026, 3, 18)),  # 16:00 Lima
        (utc(2026, 3, 18, 21, 29, 59), date(2026, 3, 18)),  # 16:29:59 Lima, último segundo
        (utc(2026, 3, 18, 21, 30), date(2026, 3, 19)),  # 16:30 Lima en punto: ya cerró
        (utc(2026, 3, 18, 23, 0), date(2026, 3, 19)),  # 18:00 Lima
        (utc(2026, 3, 19, 2, 0), date(2026, 3, 19)),  # 21:00 del 18 en Lima
        # Viernes 20 mar 2026 a las 17:00 Lima -> lunes.
        (utc(2026, 3, 20, 22, 0), date(2026, 3, 23)),
        # Sábado 21 mar 2026 por la mañana -> lunes.
        (utc(2026, 3, 21, 15, 0), date(2026, 3, 23)),
        # Jueves Santo 2026 a las 10:00 Lima -> lunes 6 abr.
        (utc(2026, 4, 2, 15, 0), date(2026, 4, 6)),
        # 28 jul 2026 (Fiestas Patrias) a las 09:00 Lima -> jueves 30.
        (utc(2026, 7, 28, 14, 0), date(2026, 7, 30)),
        # 2026-07-27T03:00Z es aún domingo 26 jul en Lima -> lunes 27.
        (utc(2026, 7, 27, 3, 0), date(2026, 7, 27)),
        # 31 dic 2025 a las 17:00 Lima -> 2 ene 2026 (1 ene es feriado).
        (utc(2025, 12, 31, 22, 0), date(2026, 1, 2)),
        # 1 ene 2026 00:30 Lima es 05:30Z; feriado -> 2 ene.
        (utc(2026, 1, 1, 5, 30), date(2026, 1, 2)),
        # 04:30Z del 1 ene es todavía 31 dic 23:30 en Lima, después del cierre -> 2 ene.
        (utc(2026, 1, 1, 4, 30), date(2026, 1, 2)),
    ],
)
def test_fecha_recepcion(registrado_en: datetime, esperado: date) -> None:
    assert fecha_recepcion(registrado_en, CAL, POLITICA) == esperado


def test_fecha_recepcion_acepta_cualquier_zona_horaria() -> None:
    registrado = datetime(2026, 3, 18, 16, 0, tzinfo=LIMA)
    assert fecha_recepcion(registrado, CAL, POLITICA) == date(2026, 3, 18)


def test_fecha_recepcion_respeta_la_hora_de_cierre_de_la_politica() -> None:
    # 17:00 Lima: fuera de horario con la política por defecto, dentro si la oficina cierra 18:00.
    registrado = utc(2026, 3, 18, 22, 0)
    assert fecha_recepcion(registrado, CAL, POLITICA) == date(2026, 3, 19)
    tarde = PoliticaPlazos(hora_cierre=time(18, 0))
    assert fecha_recepcion(registrado, CAL, tarde) == date(2026, 3, 18)


def test_fecha_recepcion_en_dia_no_laborable_de_operador() -> None:
    cal = Calendario(dias_no_laborables=[date(2026, 1, 2)])
    # Viernes 2 ene 2026 a las 10:00 Lima, no laborable por decreto -> lunes 5.
    assert fecha_recepcion(utc(2026, 1, 2, 15, 0), cal, POLITICA) == date(2026, 1, 5)


def test_fecha_recepcion_rechaza_datetime_ingenuo() -> None:
    with pytest.raises(ValueError):
        fecha_recepcion(datetime(2026, 3, 18, 10, 0), CAL, POLITICA)


# --- vencimiento / fecha_aviso ------------------------------------------------------------------


def test_plazo_completo_de_30_dias_con_semana_santa_y_primero_de_mayo() -> None:
    # Registrado miércoles 18 mar 2026 a las 10:00 Lima. Día 1 = jueves 19 mar.
    # Marzo: 19..31 -> 9 días; abril: 1 (10), 2-3 feriados, 6..30 -> días 11..29;
    # 1 may (viernes) feriado; lunes 4 may = día 30.
    recepcion = fecha_recepcion(utc(2026, 3, 18, 15, 0), CAL, POLITICA)
    assert recepcion == date(2026, 3, 18)
    vence = vencimiento(recepcion, CAL, POLITICA)
    assert vence == datetime(2026, 5, 5, 4, 59, 59, tzinfo=UTC)
    assert vence.utcoffset() == timedelta(0)
    assert vence.astimezone(LIMA).replace(tzinfo=None) == datetime(2026, 5, 4, 23, 59, 59)
    # Aviso 5 días hábiles antes del 4 may: 30, 29, 28, 27 abr y viernes 24 abr (día 25).
    assert fecha_aviso(recepcion, CAL, POLITICA) == date(2026, 4, 24)


def test_plazo_completo_con_fiestas_patrias() -> None:
    # Recepción lunes 20 jul 2026; feriados 23, 28, 29 jul y 6 ago -> día 30 = viernes 4 sep.
    vence = vencimiento(date(2026, 7, 20), CAL, POLITICA)
    assert vence == datetime(2026, 9, 5, 4, 59, 59, tzinfo=UTC)
    # 5 días hábiles antes del 4 sep: 3, 2, 1 sep, 31 ago y viernes 28 ago.
    assert fecha_aviso(date(2026, 7, 20), CAL, POLITICA) == date(2026, 8, 28)


def test_plazo_que_cruza_el_cambio_de_anio() -> None:
    # Recepción lunes 1 dic 2025; feriados 8, 9, 25 dic y 1 ene -> día 30 = viernes 16 ene 2026.
    vence = vencimiento(date(2025, 12, 1), CAL, POLITICA)
    assert vence == datetime(2026, 1, 17, 4, 59, 59, tzinfo=UTC)
    assert fecha_aviso(date(2025, 12, 1), CAL, POLITICA) == date(2026, 1, 9)


def test_dia_no_laborable_de_operador_corre_el_vencimiento() -> None:
    # Mismo caso que el anterior, pero el 2 ene 2026 se declara no laborable: todo se corre
    # un día hábil y el día 30 pasa del viernes 16 al lunes 19 ene.
    cal = Calendario(dias_no_laborables=[date(2026, 1, 2)])
    vence = vencimiento(date(2025, 12, 1), cal, POLITICA)
    assert vence == datetime(2026, 1, 20, 4, 59, 59, tzinfo=UTC)
    assert fecha_aviso(date(2025, 12, 1), cal, POLITICA) == date(2026, 1, 12)


def test_vencimiento_con_politica_corta_en_semana_santa_2025() -> None:
    # Recepción miércoles 16 abr 2025; 17-18 feriados: días 21 (1), 22 (2), 23 (3).
    politica = PoliticaPlazos(dias_habiles=3, dias_aviso=1)
    assert vencimiento(date(2025, 4, 16), CAL, politica) == datetime(
        2025, 4, 24, 4, 59, 59, tzinfo=UTC
    )
    assert fecha_aviso(date(2025, 4, 16), CAL, politica) == date(2025, 4, 22)


def test_aviso_cero_es_el_dia_de_vencimiento() -> None:
    politica = PoliticaPlazos(dias_aviso=0)
    assert fecha_aviso(date(2026, 3, 18), CAL, politica) == date(2026, 5, 4)


def test_aviso_salta_feriados_hacia_atras() -> None:
    # Vencimiento 4 may 2026; 1 may es feriado: 1 día hábil antes es el jueves 30 abr.
    politica = PoliticaPlazos(dias_aviso=1)
    assert fecha_aviso(date(2026, 3, 18), CAL, politica) == date(2026, 4, 30)


def test_politica_por_defecto() -> None:
    assert POLITICA.dias_habiles == 30
    assert POLITICA.hora_cierre == time(16, 30)
    assert POLITICA.dias_aviso == 5
    assert POLITICA.dias_subsanacion == 2


@pytest.mark.parametrize(
    "cambios",
    [{"dias_habiles": 0}, {"dias_aviso": -1}, {"dias_subsanacion": 0}],
)
def test_politica_incoherente_se_rechaza(cambios: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PoliticaPlazos(**cambios)


# --- cerrar -------------------------------------------------------------------------------------

RECEPCION = date(2026, 3, 18)
VENCE = datetime(2026, 5, 5, 4, 59, 59, tzinfo=UTC)  # 4 may 2026 23:59:59 Lima


def test_cerrar_a_tiempo() -> None:
    # 10 abr 2026 10:00 Lima: 19..31 mar (9) + 1, 6, 7, 8, 9, 10 abr (6) = 15.
    assert cerrar(RECEPCION, VENCE, utc(2026, 4, 10, 15, 0), CAL) == Cierre(15, True)


def test_cerrar_en_el_ultimo_segundo() -> None:
    assert cerrar(RECEPCION, VENCE, VENCE, CAL) == Cierre(30, True)


def test_cerrar_de_noche_cuenta_el_dia_de_lima() -> None:
    # 05-05T04:00Z es 4 may 23:00 en Lima: día 30, a tiempo (con la fecha UTC serían 31).
    assert cerrar(RECEPCION, VENCE, utc(2026, 5, 5, 4, 0), CAL) == Cierre(30, True)


def test_cerrar_tarde() -> None:
    # 05-05T05:00Z es 5 may 00:00 en Lima: día 31, fuera de plazo.
    assert cerrar(RECEPCION, VENCE, utc(2026, 5, 5, 5, 0), CAL) == Cierre(31, False)


def test_cerrar_un_segundo_tarde() -> None:
    resultado = cerrar(RECEPCION, VENCE, VENCE + timedelta(seconds=1), CAL)
    assert resultado == Cierre(31, False)


def test_cerrar_usa_la_fecha_de_lima_no_la_de_utc() -> None:
    # Recepción lunes 20 jul 2026; 2026-07-27T03:00Z es domingo 26 jul 22:00 en Lima:
    # hábiles 21, 22 y 24 (23 es feriado) = 3. Con la fecha UTC (27) serían 4.
    vence = vencimiento(date(2026, 7, 20), CAL, POLITICA)
    assert cerrar(date(2026, 7, 20), vence, utc(2026, 7, 27, 3, 0), CAL) == Cierre(3, True)


def test_cerrar_el_mismo_dia_de_recepcion() -> None:
    assert cerrar(RECEPCION, VENCE, utc(2026, 3, 18, 20, 0), CAL) == Cierre(0, True)


def test_cerrar_rechaza_datetime_ingenuo() -> None:
    with pytest.raises(ValueError):
        cerrar(RECEPCION, VENCE, datetime(2026, 4, 10, 10, 0), CAL)
    with pytest.raises(ValueError):
        cerrar(RECEPCION, datetime(2026, 5, 4, 23, 59, 59), utc(2026, 4, 10, 15, 0), CAL)
