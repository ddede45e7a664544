"""The suite's results table, filled by each experiment and printed at the end of the session."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fila:
    experimento: str
    enviados: int = 0
    con_201: int = 0
    perdidos: int = 0
    duplicados: int = 0
    correos_dobles: int = 0
    aparcados: int = 0
    recuperacion: float | None = None  # seconds from the fault to healthy and flowing
    p95: float | None = None  # seconds, 201→derivado
    nota: str = ""  # why the row is incomplete (an error before the counts)


FILAS: list[Fila] = []

_COLUMNAS = (
    ("experimento", 34),
    ("enviados", 8),
    ("201", 5),
    ("perdidos", 8),
    ("duplicados", 10),
    ("correos dobles", 14),
    ("aparcados", 9),
    ("recuperación", 12),
    ("p95 201→derivado", 16),
)


def _segundos(valor: float | None) -> str:
    return "—" if valor is None else f"{valor:.1f} s"


def tabla(filas: list[Fila]) -> list[str]:
    cabecera = "  ".join(
        f"{n:<{a}}" if i == 0 else f"{n:>{a}}" for i, (n, a) in enumerate(_COLUMNAS)
    )
    lineas = [cabecera, "-" * len(cabecera)]
    for f in filas:
        valores = (
            f.experimento,
            f.enviados,
            f.con_201,
            f.perdidos,
            f.duplicados,
            f.correos_dobles,
            f.aparcados,
            _segundos(f.recuperacion),
            _segundos(f.p95),
        )
        celdas = [
            f"{v!s:<{a}}" if i == 0 else f"{v!s:>{a}}"
            for i, (v, (_, a)) in enumerate(zip(valores, _COLUMNAS, strict=True))
        ]
        lineas.append("  ".join(celdas) + (f"  ({f.nota})" if f.nota else ""))
    return lineas
