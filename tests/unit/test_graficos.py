"""The reports' SVG charts (issue 11) as pure functions: bar positions and sizes computed by hand
for small inputs, the accessible name, escaping, and the CSV of a chart's numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gateway.portal import graficos
from gateway.portal.graficos import Barra

SVG = "{http://www.w3.org/2000/svg}"


def test_columnas_a_mano():
    # Plot 600x240 with margins 40/10/10/30: 550 wide, 200 tall; two slots of 275, each bar
    # 60% of its slot (165) centred (55 on each side).
    barras = graficos.columnas([("2026-01", 50), ("2026-02", 100)], maximo=100)
    assert barras == [
        Barra("2026-01", 50, x=95, y=110, ancho=165, alto=100),
        Barra("2026-02", 100, x=370, y=10, ancho=165, alto=200),
    ]


def test_columnas_sin_maximo_toman_el_mayor_y_un_dato_ausente_no_tiene_barra():
    # Max 8: 2 is a quarter of 200 (50 tall); three slots of 550/3 = 183.33, bars 110 wide.
    a, b, c = graficos.columnas([("a", 2), ("b", None), ("c", 8)])
    assert (a.x, a.y, a.ancho, a.alto) == (76.67, 160, 110, 50)
    assert (b.alto, b.y) == (0, 210)
    assert (c.x, c.y, c.alto) == (443.33, 10, 200)
    assert graficos.columnas([]) == []
    assert [x.alto for x in graficos.columnas([("a", 0), ("b", None)])] == [0, 0]


def test_filas_a_mano():
    # Labels take 170 and values 50: bars up to 380 wide; rows of 28 with bars 18 thick.
    assert graficos.filas([("trato", 2), ("tiempo", 4)]) == [
        Barra("trato", 2, x=170, y=15, ancho=190, alto=18),
        Barra("tiempo", 4, x=170, y=43, ancho=380, alto=18),
    ]
    assert graficos.filas([("x", 2.5)], maximo=5)[0].ancho == 190


def test_el_svg_tiene_nombre_accesible_rectangulos_y_textos_escapados():
    svg = str(graficos.svg_columnas("A tiempo <%>", [("2026-01", 50), ("2026-02", 100)], 100))
    raiz = ET.fromstring(svg)
    assert raiz.get("role") == "img" and raiz.get("aria-label") == "A tiempo <%>"
    assert raiz.find(f"{SVG}title").text == "A tiempo <%>"
    rects = [
        (r.get("x"), r.get("y"), r.get("width"), r.get("height")) for r in raiz.iter(f"{SVG}rect")
    ]
    assert rects == [("95", "110", "165", "100"), ("370", "10", "165", "200")]
    textos = [t.text for t in raiz.iter(f"{SVG}text")]
    assert textos == ["50", "2026-01", "100", "2026-02"]
    assert "style=" not in svg and "<script" not in svg

    filas = ET.fromstring(str(graficos.svg_filas("Motivos", [("<b>", 3), ("trato", None)])))
    assert filas.get("viewBox") == "0 0 600 76"  # 2 rows of 28 plus 10 above and below
    assert [t.text for t in filas.iter(f"{SVG}text")] == ["<b>", "3", "trato", "–"]


def test_numeros_y_csv():
    assert [graficos.numero(x) for x in (None, 3.0, 2.456, 7)] == ["–", "3", "2.5", "7"]
    csv = graficos.a_csv(("Mes", "% a tiempo"), [("2026-01", 87.5), ("2026-02", None)])
    assert csv == "\ufeffMes,% a tiempo\r\n2026-01,87.5\r\n2026-02,\r\n".encode()
    assert re.fullmatch(rb"\xef\xbb\xbf.*", csv, re.S)
