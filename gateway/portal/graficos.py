"""Charts of the reports as inline SVG, drawn on the server by pure functions: no script, no
library, nothing fetched. Each chart is an `<svg role="img">` with a `<title>` and an aria-label;
the page puts its numbers right after it as a table, with a link to the same numbers in CSV.

The geometry (`columnas`, `filas`) is separate from the drawing, so it can be checked by hand:
a value's bar is `valor / maximo` of the plot's height (or width), from the plot's baseline.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from markupsafe import Markup, escape

ANCHO = 600
# Vertical bars (months along the bottom): the plot area inside these margins.
ALTO = 240
IZQ, DER, SUP, INF = 40, 10, 10, 30
HUECO = 0.2  # of each slot, left empty on either side of its bar
# Horizontal bars (categories down the left).
ETIQUETAS = 170  # width of the labels' column
FILA = 28
GROSOR = 18
VALORES = 50  # room right of the longest bar for its number

TINTA = "#1d1d1f"
BARRA = "#0b4f8a"
EJE = "#4a4a4f"


@dataclass(frozen=True)
class Barra:
    etiqueta: str
    valor: float | None
    x: float
    y: float
    ancho: float
    alto: float


def _maximo(valores: list[float | None], maximo: float | None) -> float:
    if maximo is not None and maximo > 0:
        return maximo
    mayor = max((v for v in valores if v is not None), default=0)
    return mayor if mayor > 0 else 1


def columnas(datos: list[tuple[str, float | None]], maximo: float | None = None) -> list[Barra]:
    """Vertical bars, one per (label, value), left to right; a missing value has no bar."""
    if not datos:
        return []
    tope = _maximo([v for _, v in datos], maximo)
    util_x, util_y = ANCHO - IZQ - DER, ALTO - SUP - INF
    ranura = util_x / len(datos)
    barras = []
    for i, (etiqueta, valor) in enumerate(datos):
        alto = round((valor or 0) / tope * util_y, 2)
        barras.append(
            Barra(
                etiqueta,
                valor,
                x=round(IZQ + i * ranura + ranura * HUECO, 2),
                y=round(SUP + util_y - alto, 2),
                ancho=round(ranura * (1 - 2 * HUECO), 2),
                alto=alto,
            )
        )
    return barras


def filas(datos: list[tuple[str, float | None]], maximo: float | None = None) -> list[Barra]:
    """Horizontal bars, one per (label, value), top to bottom."""
    tope = _maximo([v for _, v in datos], maximo)
    util_x = ANCHO - ETIQUETAS - VALORES
    return [
        Barra(
            etiqueta,
            valor,
            x=ETIQUETAS,
            y=SUP + i * FILA + (FILA - GROSOR) / 2,
            ancho=round((valor or 0) / tope * util_x, 2),
            alto=GROSOR,
        )
        for i, (etiqueta, valor) in enumerate(datos)
    ]


def numero(valor: float | None, decimales: int = 1) -> str:
    if valor is None:
        return "–"
    if float(valor).is_integer():
        return str(int(valor))
    return f"{valor:.{decimales}f}"


def _svg(titulo: str, alto: float, cuerpo: list[str]) -> Markup:
    t = escape(titulo)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {ANCHO} {alto:g}" '
        f'role="img" aria-label="{t}"><title>{t}</title>' + "".join(cuerpo) + "</svg>"
    )


def svg_columnas(
    titulo: str, datos: list[tuple[str, float | None]], maximo: float | None = None
) -> Markup:
    """Vertical bars with each value above its bar and its label below, and a baseline."""
    base = ALTO - INF
    cuerpo = [f'<line x1="{IZQ}" y1="{base}" x2="{ANCHO - DER}" y2="{base}" stroke="{EJE}"/>']
    for b in columnas(datos, maximo):
        centro = round(b.x + b.ancho / 2, 2)
        cuerpo.append(
            f'<rect x="{b.x:g}" y="{b.y:g}" width="{b.ancho:g}" height="{b.alto:g}" '
            f'fill="{BARRA}"/>'
        )
        cuerpo.append(
            f'<text x="{centro:g}" y="{max(b.y - 3, 12):g}" text-anchor="middle" '
            f'font-size="12" fill="{TINTA}">{escape(numero(b.valor))}</text>'
        )
        cuerpo.append(
            f'<text x="{centro:g}" y="{base + 18}" text-anchor="middle" font-size="11" '
            f'fill="{TINTA}">{escape(b.etiqueta)}</text>'
        )
    return _svg(titulo, ALTO, cuerpo)


def svg_filas(
    titulo: str, datos: list[tuple[str, float | None]], maximo: float | None = None
) -> Markup:
    """Horizontal bars with each label at the left and its value after the bar."""
    cuerpo = []
    for b in filas(datos, maximo):
        medio = round(b.y + b.alto / 2 + 4, 2)
        cuerpo.append(
            f'<text x="{ETIQUETAS - 6}" y="{medio:g}" text-anchor="end" font-size="12" '
            f'fill="{TINTA}">{escape(b.etiqueta)}</text>'
        )
        cuerpo.append(
            f'<rect x="{b.x:g}" y="{b.y:g}" width="{b.ancho:g}" height="{b.alto:g}" '
            f'fill="{BARRA}"/>'
        )
        cuerpo.append(
            f'<text x="{b.x + b.ancho + 4:g}" y="{medio:g}" font-size="12" '
            f'fill="{TINTA}">{escape(numero(b.valor))}</text>'
        )
    return _svg(titulo, SUP * 2 + FILA * len(datos), cuerpo)


def a_csv(encabezados: tuple[str, str], datos: list[tuple[str, float | None]]) -> bytes:
    """A chart's numbers: UTF-8 with a BOM (spreadsheets read the accents right), CRLF."""
    salida = io.StringIO()
    escritor = csv.writer(salida)
    escritor.writerow(encabezados)
    for etiqueta, valor in datos:
        escritor.writerow([etiqueta, "" if valor is None else valor])
    return ("\ufeff" + salida.getvalue()).encode("utf-8")
