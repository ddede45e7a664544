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
    # Política: el reloj de la entidad se detiene mientras espera la subsanación del ciudadano.
    pausa_en_subsanacion: bool = True
    # Política: un traslado reinicia la cuenta desde su propia fecha de recepción.
    traslado_reinicia: bool = False

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
    recepcion: date,
    vence_en: datetime | None,
    respondido_en: datetime,
    calendario: Calendario,
    pausas: Iterable[Pausa] = (),
) -> Cierre:
    """Resultado de la respuesta: días hábiles desde la recepción (exclusive) hasta la fecha de
    Lima de la respuesta (inclusive), sin los días en pausa, y si se respondió a tiempo. Sin
    vencimiento (reloj en pausa) no hay plazo que se haya excedido."""
    if vence_en is not None:
        _exigir_con_zona(vence_en, "vence_en")
    _exigir_con_zona(respondido_en, "respondido_en")
    # Los días se cuentan con el calendario de Lima: de noche en Lima ya es el día siguiente en UTC.
    dia_respuesta = dia_de_lima(respondido_en)
    return Cierre(
        dias_habiles_usados=habiles_contados(recepcion, dia_respuesta, tuple(pausas), calendario),
        dentro_del_plazo=vence_en is None or respondido_en <= vence_en,
    )


# --- Horas del día en Lima ----------------------------------------------------------------------


def dia_de_lima(momento: datetime) -> date:
    """El día del calendario de Lima en que cae `momento` (los plazos se cuentan así)."""
    _exigir_con_zona(momento, "el momento")
    return momento.astimezone(LIMA).date()


def fin_del_dia(dia: date) -> datetime:
    """23:59:59 de `dia` en Lima, en UTC."""
    _exigir_fecha(dia)
    return datetime.combine(dia, _FIN_DEL_DIA, tzinfo=LIMA).astimezone(UTC)


def inicio_del_dia(dia: date) -> datetime:
    """00:00 de `dia` en Lima, en UTC."""
    _exigir_fecha(dia)
    return datetime.combine(dia, time(0, 0), tzinfo=LIMA).astimezone(UTC)


# --- Pausas (observación → subsanación) ---------------------------------------------------------


@dataclass(frozen=True)
class Pausa:
    """El reloj no corre mientras la entidad espera la subsanación: observado el día `desde` y
    subsanado el día `hasta` (días de Lima), los días hábiles d con desde < d <= hasta no cuentan
    (el día de la observación sí lo usó la entidad). `hasta` None: la pausa sigue abierta."""

    desde: date
    hasta: date | None = None

    def cubre(self, dia: date) -> bool:
        return self.desde < dia and (self.hasta is None or dia <= self.hasta)


def _en_pausa(dia: date, pausas: tuple[Pausa, ...]) -> Pausa | None:
    return next((p for p in pausas if p.cubre(dia)), None)


def dia_de_vencimiento(
    recepcion: date, dias_habiles: int, pausas: Iterable[Pausa], calendario: Calendario
) -> date | None:
    """El día hábil número `dias_habiles` después de la recepción sin contar los días en pausa.
    None si la cuenta llega a una pausa abierta: mientras dure no hay vencimiento en curso (pero
    un plazo ya cumplido antes de la pausa sigue siendo el mismo)."""
    if dias_habiles < 1:
        raise ValueError("dias_habiles debe ser al menos 1")
    pausas = tuple(pausas)
    contados, dia = 0, recepcion
    while contados < dias_habiles:
        dia = calendario.siguiente_habil(dia)
        pausa = _en_pausa(dia, pausas)
        if pausa is None:
            contados += 1
        elif pausa.hasta is None:
            return None
    return dia


def habiles_contados(
    recepcion: date, hasta: date, pausas: tuple[Pausa, ...], calendario: Calendario
) -> int:
    """Días hábiles d con recepcion < d <= hasta que corrieron (fuera de toda pausa)."""
    cuenta, dia = 0, recepcion
    while (dia := dia + timedelta(days=1)) <= hasta:
        if calendario.es_habil(dia) and _en_pausa(dia, pausas) is None:
            cuenta += 1
    return cuenta


def aviso_antes_de(dia_vence: date, dias_aviso: int, calendario: Calendario) -> date:
    """El día hábil que queda `dias_aviso` días hábiles antes de `dia_vence`."""
    dia = dia_vence
    for _ in range(dias_aviso):
        dia = calendario._anterior_habil(dia)
    return dia


def subsanar_hasta(
    observado_en: datetime, calendario: Calendario, politica: PoliticaPlazos
) -> datetime:
    """Fin (23:59:59 Lima) del día hábil número `dias_subsanacion` después del día de Lima en que
    se observó el reclamo: hasta entonces puede subsanar el ciudadano."""
    dia = calendario.sumar_habiles(dia_de_lima(observado_en), politica.dias_subsanacion)
    return fin_del_dia(dia)


def habiles_vencido(vence_en: datetime, ahora: datetime, calendario: Calendario) -> int:
    """Días hábiles transcurridos desde el día de vencimiento (exclusive) hasta hoy (inclusive),
    en Lima: 0 mientras no venza o si desde entonces solo pasaron días inhábiles."""
    return calendario.habiles_entre(dia_de_lima(vence_en), dia_de_lima(ahora))


def habiles_restantes(vence_en: datetime, ahora: datetime, calendario: Calendario) -> int:
    """Días hábiles que quedan hasta el día de vencimiento (inclusive), desde hoy (exclusive)."""
    return calendario.habiles_entre(dia_de_lima(ahora), dia_de_lima(vence_en))


def limite_de_vencidos(dias_min: int, ahora: datetime, calendario: Calendario) -> datetime:
    """Cota para buscar por índice los reclamos con al menos `dias_min` días hábiles de atraso:
    son los de vence_en < la cota. Con b = el día hábil número `dias_min` contando hacia atrás
    desde hoy (inclusive), hay al menos `dias_min` días hábiles d con vence < d <= hoy si y solo
    si el día de vencimiento es anterior a b, es decir si vence_en < 00:00 de b en Lima."""
    if dias_min <= 0:
        return ahora
    hoy = dia_de_lima(ahora)
    dia = hoy if calendario.es_habil(hoy) else calendario._anterior_habil(hoy)
    for _ in range(dias_min - 1):
        dia = calendario._anterior_habil(dia)
    return inicio_del_dia(dia)


# --- El reloj de un reclamo, recalculable desde lo que le pasó ----------------------------------


@dataclass(frozen=True)
class Observacion:
    """Un pedido de subsanación: cuándo, si detuvo el reloj (política vigente entonces) y hasta
    cuándo puede subsanar el ciudadano (fijado al observar: es lo que se le comunicó)."""

    id: str
    en: datetime
    pausa: bool
    subsanar_hasta: datetime


@dataclass(frozen=True)
class Traslado:
    en: datetime
    entidad_id: str
    reinicia: bool  # política vigente al trasladar


@dataclass(frozen=True)
class Expediente:
    """Todo lo que determina el reloj de un reclamo. Los hechos pueden llegar en cualquier orden;
    el resultado depende solo del conjunto, no del orden de llegada."""

    registrado_en: datetime | None = None
    dias_habiles: int = 30
    observaciones: tuple[Observacion, ...] = ()
    subsanaciones: tuple[datetime, ...] = ()
    traslados: tuple[Traslado, ...] = ()
    respondido_en: datetime | None = None
    terminado_en: datetime | None = None  # archivado o desistido


@dataclass(frozen=True)
class Situacion:
    estado: str  # pendiente (falta el registro) | corriendo | pausado | detenido | terminado
    fecha_recepcion: date | None
    pausas: tuple[Pausa, ...]
    dia_vence: date | None
    vence_en: datetime | None
    fecha_aviso: date | None
    subsanacion: Observacion | None  # la observación que espera respuesta, si la hay
    reloj_pausado: bool

    @property
    def abierto(self) -> bool:
        return self.estado in ("corriendo", "pausado")


def _pausas(exp: Expediente) -> tuple[tuple[Pausa, ...], Observacion | None]:
    """Empareja cada observación con la primera subsanación posterior (por hora). Una
    subsanación sin observación abierta antes (aún no llegó) no cierra nada todavía."""
    hechos = sorted(
        [(o.en, 0, o) for o in exp.observaciones] + [(s, 1, None) for s in exp.subsanaciones],
        key=lambda h: (h[0], h[1]),
    )
    pausas: list[Pausa] = []
    abierta: Observacion | None = None
    for en, tipo, obs in hechos:
        if tipo == 0 and abierta is None:
            abierta = obs
        elif tipo == 1 and abierta is not None:
            if abierta.pausa:
                pausas.append(Pausa(dia_de_lima(abierta.en), dia_de_lima(en)))
            abierta = None
    if abierta is not None and abierta.pausa:
        pausas.append(Pausa(dia_de_lima(abierta.en)))
    return tuple(pausas), abierta


def situacion(exp: Expediente, calendario: Calendario, politica: PoliticaPlazos) -> Situacion:
    """El estado del reloj que se sigue de `exp` con este calendario."""
    pausas, abierta = _pausas(exp)
    recepcion = None
    if exp.registrado_en is not None:
        recepcion = fecha_recepcion(exp.registrado_en, calendario, politica)
    reinicios = [t for t in exp.traslados if t.reinicia]
    if recepcion is not None and reinicios:
        # La cuenta vuelve a empezar desde la recepción del último traslado que reinicia.
        ultimo = max(reinicios, key=lambda t: t.en)
        recepcion = fecha_recepcion(ultimo.en, calendario, politica)
    dia = None
    if recepcion is not None:
        dia = dia_de_vencimiento(recepcion, exp.dias_habiles, pausas, calendario)
    if exp.respondido_en is not None:
        estado = "detenido"
    elif exp.terminado_en is not None:
        estado = "terminado"
    elif recepcion is None:
        estado = "pendiente"
    else:
        estado = "corriendo" if dia is not None else "pausado"
    abierto = estado in ("pendiente", "corriendo", "pausado")
    return Situacion(
        estado=estado,
        fecha_recepcion=recepcion,
        pausas=pausas,
        dia_vence=dia,
        vence_en=fin_del_dia(dia) if dia is not None else None,
        fecha_aviso=aviso_antes_de(dia, politica.dias_aviso, calendario) if dia else None,
        subsanacion=abierta if abierto else None,
        reloj_pausado=abierto and dia is None and abierta is not None and abierta.pausa,
    )
