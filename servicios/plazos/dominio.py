"""Cómputo de plazos en días hábiles (DESIGN.md §2, punto 3 «Plazos»).

Código de dominio puro: sin E/S, sin base de datos, sin variables de entorno. Los feriados
nacionales vienen de la librería `holidays` (país PE) y los días no laborables que decreta el
Gobierno para el sector público son datos que entrega un operador.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import holidays

from comun.tiempo import LIMA

# Fin del día hábil: el plazo vence al final del último día, no a la hora de cierre de la oficina.
_FIN_DEL_DIA = time(23, 59, 59)

# Tope de seguridad: ningún calendario real tiene un año entero sin días hábiles; si ocurre, son
# datos de operador erróneos y es mejor fallar que quedar en un bucle infinito.
_MAX_DIAS_SIN_HABIL = 366


@dataclass(frozen=True)
class PoliticaPlazos:
    dias_habiles: int = 30  # máximo legal para responder
    hora_cierre: time = time(16, 30)  # política: cierre de la oficina, hora de Lima
    dias_aviso: int = 5  # avisar estos días hábiles antes del vencimiento
    dias_subsanacion: int = 2

    def __post_init__(self) -> None:
        # Una política incoherente produciría plazos absurdos en silencio; mejor rechazarla aquí.
        if self.dias_habiles < 1:
            raise ValueError("dias_habiles debe ser al menos 1")
        if self.dias_aviso < 0:
            raise ValueError("dias_aviso no puede ser negativo")
        if self.dias_subsanacion < 1:
            raise ValueError("dias_subsanacion debe ser al menos 1")
        if self.hora_cierre.tzinfo is not None:
            raise ValueError("hora_cierre es una hora local de Lima, sin zona horaria")


@cache
def _feriados_nacionales(anio: int) -> frozenset[date]:
    # Se calcula un año a la vez, cuando hace falta (reclamos cerca del cambio de año, plazos que
    # cruzan al siguiente). functools.cache es seguro entre hilos y el frozenset es inmutable, a
    # diferencia del objeto de `holidays`, que se modifica a sí mismo al expandirse.
    return frozenset(holidays.country_holidays("PE", years=anio).keys())


def _exigir_fecha(dia: date) -> None:
    # datetime es subclase de date, pero nunca es igual a un date: un datetime colado aquí haría
    # que los feriados no se reconocieran sin ningún error.
    if isinstance(dia, datetime):
        raise TypeError("se esperaba una fecha (date), no un datetime")


def _exigir_con_zona(momento: datetime, nombre: str) -> None:
    if momento.tzinfo is None or momento.utcoffset() is None:
        raise ValueError(f"{nombre} debe tener zona horaria (se guarda en UTC)")


class Calendario:
    """Días hábiles: no sábado ni domingo, no feriado nacional del Perú
    (holidays.country_holidays("PE")), ni día no laborable decretado para el sector público
    (datos que entrega un operador)."""

    def __init__(self, dias_no_laborables: Iterable[date] = ()) -> None:
        dias = frozenset(dias_no_laborables)
        for dia in dias:
            _exigir_fecha(dia)
        self._no_laborables = dias

    def es_habil(self, dia: date) -> bool:
        _exigir_fecha(dia)
        if dia.weekday() >= 5:  # sábado (5) o domingo (6)
            return False
        if dia in self._no_laborables:
            return False
        return dia not in _feriados_nacionales(dia.year)

    def siguiente_habil(self, dia: date) -> date:
        """Primer día hábil estrictamente posterior a `dia`."""
        _exigir_fecha(dia)
        candidato = dia
        for _ in range(_MAX_DIAS_SIN_HABIL):
            candidato += timedelta(days=1)
            if self.es_habil(candidato):
                return candidato
        raise ValueError(f"no hay días hábiles en el año siguiente a {dia.isoformat()}")

    def _anterior_habil(self, dia: date) -> date:
        """Último día hábil estrictamente anterior a `dia`."""
        _exigir_fecha(dia)
        candidato = dia
        for _ in range(_MAX_DIAS_SIN_HABIL):
            candidato -= timedelta(days=1)
            if self.es_habil(candidato):
                return candidato
        raise ValueError(f"no hay días hábiles en el año anterior a {dia.isoformat()}")

    def sumar_habiles(self, dia: date, n: int) -> date:
        """El n-ésimo día hábil estrictamente posterior a `dia` (n >= 1)."""
        if n < 1:
            raise ValueError("n debe ser al menos 1")
        resultado = dia
        for _ in range(n):
            resultado = self.siguiente_habil(resultado)
        return resultado

    def habiles_entre(self, desde: date, hasta: date) -> int:
        """Cantidad de días hábiles d con desde < d <= hasta (0 si hasta <= desde)."""
        _exigir_fecha(desde)
        _exigir_fecha(hasta)
        cuenta = 0
        dia = desde + timedelta(days=1)
        while dia <= hasta:
            if self.es_habil(dia):
                cuenta += 1
            dia += timedelta(days=1)
        return cuenta


def fecha_recepcion(
    registrado_en: datetime, calendario: Calendario, politica: PoliticaPlazos
) -> date:
    """Fecha de recepción: el día (en Lima) en que se registró el reclamo si es hábil y fue antes
    de la hora de cierre; si no, el siguiente día hábil."""
    _exigir_con_zona(registrado_en, "registrado_en")
    # El día y la hora que cuentan son los de la oficina en Lima, no los de UTC.
    local = registrado_en.astimezone(LIMA)
    dia = local.date()
    if calendario.es_habil(dia) and local.time() < politica.hora_cierre:
        return dia
    return calendario.siguiente_habil(dia)


def _dia_de_vencimiento(recepcion: date, calendario: Calendario, politica: PoliticaPlazos) -> date:
    # El día 1 es el hábil siguiente a la recepción (así cuentan los plazos administrativos).
    return calendario.sumar_habiles(recepcion, politica.dias_habiles)


def vencimiento(recepcion: date, calendario: Calendario, politica: PoliticaPlazos) -> datetime:
    """Final (23:59:59, hora de Lima) del día hábil número `politica.dias_habiles` contado desde
    el día siguiente a la recepción; devuelto en UTC, que es como se guardan las fechas."""
    dia = _dia_de_vencimiento(recepcion, calendario, politica)
    return datetime.combine(dia, _FIN_DEL_DIA, tzinfo=LIMA).astimezone(UTC)


def fecha_aviso(recepcion: date, calendario: Calendario, politica: PoliticaPlazos) -> date:
    """Día hábil que queda `politica.dias_aviso` días hábiles antes del día de vencimiento."""
    dia = _dia_de_vencimiento(recepcion, calendario, politica)
    for _ in range(politica.dias_aviso):
        dia = calendario._anterior_habil(dia)
    return dia


@dataclass(frozen=True)
class Cierre:
    dias_habiles_usados: int
    dentro_del_plazo: bool


def cerrar(
    recepcion: date, vence_en: datetime, respondido_en: datetime, calendario: Calendario
) -> Cierre:
    """Resultado de la respuesta: días hábiles desde la recepción (exclusive) hasta la fecha de
    Lima de la respuesta (inclusive), y si se respondió a tiempo."""
    _exigir_con_zona(vence_en, "vence_en")
    _exigir_con_zona(respondido_en, "respondido_en")
    # Los días se cuentan con el calendario de Lima: de noche en Lima ya es el día siguiente en UTC.
    dia_respuesta = respondido_en.astimezone(LIMA).date()
    return Cierre(
        dias_habiles_usados=calendario.habiles_entre(recepcion, dia_respuesta),
        dentro_del_plazo=respondido_en <= vence_en,
    )
