"""The entity's answer with files (issue 11) gets the edge's larger limit for uploads, on its API
route and on the staff page's forms, and no other route next to them does."""

from __future__ import annotations

import pytest

from tests.unit.test_gateway_borde import (
    LIMITE,
    LIMITE_ADJUNTOS,
    MULTIPART,
    TROZO,
    correr,
    lee_todo,
)


@pytest.mark.parametrize(
    "ruta",
    [
        "/api/v1/bandeja/R-1/adjuntos",
        "/personal/reclamos/R-1/respuesta",
        "/personal/reclamos/R-1/adjuntos",
    ],
)
def test_la_respuesta_con_archivos_tiene_el_limite_de_las_subidas(ruta):
    cuerpo = 5 * LIMITE  # over the common limit, under the one of files
    cabeceras = {"Content-Type": MULTIPART, "Content-Length": str(cuerpo)}
    respuesta, _ = correr(lee_todo, "POST", cabeceras, cuerpo // TROZO, ruta)
    assert respuesta["estado"] == 200

    sin_fin, leidos = correr(lee_todo, "POST", cabeceras | {"Content-Length": "10"}, None, ruta)
    assert sin_fin["estado"] == 413
    assert leidos == LIMITE_ADJUNTOS // TROZO + 1


@pytest.mark.parametrize(
    "ruta",
    [
        "/api/v1/bandeja/R-1/respuesta",  # the API's answer is JSON, never that large
        "/api/v1/bandeja/R-1/adjuntos/a1",
        "/personal/reclamos/R-1/atencion",
        "/personal/reclamos/R-1/adjuntos/a1",
        "/x/personal/reclamos/R-1/respuesta",
    ],
)
def test_las_demas_rutas_vecinas_tienen_el_limite_comun(ruta):
    cabeceras = {"Content-Type": MULTIPART, "Content-Length": str(5 * LIMITE)}
    respuesta, leidos = correr(lee_todo, "POST", cabeceras, None, ruta)
    assert respuesta["estado"] == 413
    assert leidos == 0
