"""The entity's answer with its files (issue 11) through the gateway: the entity (and unit) that
has the reclamo attaches them, before and after answering; the citizen's tracking lists them as the
entity's and the citizen downloads them byte for byte; any other caller 404 with nothing stored;
bad files refused; a retry with the same Idempotency-Key stores one set; an ended reclamo 409."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.e2e.test_adjuntos import (
    MB,
    PDF,
    PNG,
    archivos_guardados,
    de_la_entidad,
    del_ciudadano,
    eventos_adjuntado,
    presentado,
    sha,
)
from tests.e2e.test_procedimiento import (
    Reclamo,
    clave,
    clave_de_unidad,
    desistir,
    esperar_seguimiento,
    listo,
    presentar,
    responder,
    seguir,
)

pytestmark = pytest.mark.e2e

INFORME = b"%PDF-1.4\n% informe de la entidad\n" + os.urandom(2000) + b"\n%%EOF\n"


def de_la_respuesta(
    api: httpx.Client, codigo: str, archivos, cabeceras: dict, **kw
) -> httpx.Response:
    partes = [("archivos", (nombre, contenido)) for nombre, contenido in archivos]
    return api.post(f"/bandeja/{codigo}/adjuntos", files=partes, headers=cabeceras, **kw)


def test_la_entidad_adjunta_y_el_ciudadano_descarga(plataforma, api):
    reclamo, (del_ciudadano_pdf,) = presentado(api, plataforma, [("constancia.pdf", PDF)])
    _, entrada = listo(api, plataforma, reclamo)
    minsa = clave(plataforma, "minsa")

    # Nobody else: another entity, another unit of the same entity, no key, the supervisor.
    unidad = entrada["unidad_id"]
    otra = "integridad" if unidad != "integridad" else "infraestructura"
    antes = archivos_guardados(plataforma)
    archivos = [("informe.pdf", INFORME)]
    r = de_la_respuesta(api, reclamo.codigo, archivos, clave(plataforma, "munilima"))
    assert r.status_code == 404 and r.json()["error"] == "no_encontrado", r.text
    r = de_la_respuesta(api, reclamo.codigo, archivos, clave_de_unidad(plataforma, "minsa", otra))
    assert r.status_code == 404, r.text
    assert de_la_respuesta(api, reclamo.codigo, archivos, {}).status_code == 401
    supervisor = clave(plataforma, "supervisor")
    assert de_la_respuesta(api, reclamo.codigo, archivos, supervisor).status_code == 403
    assert archivos_guardados(plataforma) == antes
    assert eventos_adjuntado(plataforma, reclamo.codigo) == 0

    # The entity's unit attaches its report and a photo.
    de_su_unidad = clave_de_unidad(plataforma, "minsa", unidad)
    enviados = [("informe.pdf", INFORME), ("foto.png", PNG)]
    r = de_la_respuesta(api, reclamo.codigo, enviados, de_su_unidad)
    assert r.status_code == 201, r.text
    cuerpo = r.json()
    assert cuerpo["codigo"] == reclamo.codigo
    guardados = cuerpo["adjuntos"]
    assert [(a["nombre"], a["sha256"], a["bytes"], a["origen"]) for a in guardados] == [
        (n, sha(c), len(c), "entidad") for n, c in enviados
    ]
    assert [a["tipo_mime"] for a in guardados] == ["application/pdf", "image/png"]
    assert archivos_guardados(plataforma) == antes + 2
    assert eventos_adjuntado(plataforma, reclamo.codigo) == 1

    # The entity gets the very bytes back.
    for (_, contenido), adjunto in zip(enviados, guardados, strict=True):
        r = de_la_entidad(api, reclamo.codigo, adjunto["id"], minsa)
        assert r.status_code == 200 and r.content == contenido

    # The citizen's tracking lists them as the entity's, in a step of their own, and the
    # citizen downloads them with the citizen's route.
    visto = seguir(api, reclamo)
    assert [(a["nombre"], a["origen"]) for a in visto["adjuntos"]] == [
        ("constancia.pdf", "ciudadano"),
        ("informe.pdf", "entidad"),
        ("foto.png", "entidad"),
    ]
    assert visto["adjuntos"][0]["id"] == del_ciudadano_pdf["id"]
    paso = next(h for h in visto["historial"] if h["adjuntos"] == guardados)
    assert paso["texto"].startswith("La entidad adjuntó archivos a su respuesta:")
    assert all(sha(c) in paso["texto"] for _, c in enviados)
    for (_, contenido), adjunto in zip(enviados, guardados, strict=True):
        r = del_ciudadano(api, reclamo, adjunto["id"])
        assert r.status_code == 200 and r.content == contenido
        assert r.headers["X-Contenido-SHA256"] == sha(contenido)

    # Answered: the entity may still attach the documents of its answer.
    assert responder(api, reclamo.codigo, minsa).status_code == 200
    esperar_seguimiento(api, reclamo, lambda s: s["estado"] == "respondido", "respondido")
    anexo = b"%PDF-1.4\n% anexo\n" + os.urandom(500) + b"\n%%EOF\n"
    r = de_la_respuesta(api, reclamo.codigo, [("anexo.pdf", anexo)], minsa)
    assert r.status_code == 201, r.text
    (nuevo,) = r.json()["adjuntos"]
    assert del_ciudadano(api, reclamo, nuevo["id"]).content == anexo
    assert [a["origen"] for a in seguir(api, reclamo)["adjuntos"]] == [
        "ciudadano",
        "entidad",
        "entidad",
        "entidad",
    ]


def test_archivos_malos_y_reintentos(plataforma, api):
    reclamo = presentar(api, plataforma)
    listo(api, plataforma, reclamo)
    minsa = clave(plataforma, "minsa")
    antes = archivos_guardados(plataforma)

    def rechazado(r: httpx.Response, estado: int, error: str) -> None:
        assert r.status_code == estado, r.text
        assert r.json()["error"] == error, r.text
        assert archivos_guardados(plataforma) == antes

    falso = b"No soy un PDF, solo texto."
    r = de_la_respuesta(api, reclamo.codigo, [("ok.pdf", PDF), ("informe.pdf", falso)], minsa)
    rechazado(r, 422, "tipo_no_permitido")
    assert r.json()["detalle"][0]["campo"] == "archivos.1"
    grande = PDF + bytes(10 * MB)
    r = de_la_respuesta(api, reclamo.codigo, [("a.pdf", grande)] * 2, minsa)
    rechazado(r, 413, "adjuntos_muy_grandes")
    r = de_la_respuesta(api, reclamo.codigo, [("a.pdf", PDF)] * 11, minsa)
    rechazado(r, 422, "demasiados_archivos")
    r = api.post(f"/bandeja/{reclamo.codigo}/adjuntos", files={}, data={"x": "y"}, headers=minsa)
    assert r.status_code in (400, 422) and archivos_guardados(plataforma) == antes
    assert eventos_adjuntado(plataforma, reclamo.codigo) == 0

    # The same request twice with one key: one set of files, the first answer again.
    idem = {**minsa, "Idempotency-Key": str(uuid.uuid4())}
    primera = de_la_respuesta(api, reclamo.codigo, [("informe.pdf", INFORME)], idem)
    assert primera.status_code == 201, primera.text
    segunda = de_la_respuesta(api, reclamo.codigo, [("informe.pdf", INFORME)], idem)
    assert (segunda.status_code, segunda.json()) == (201, primera.json())
    assert archivos_guardados(plataforma) == antes + 1
    assert len(seguir(api, reclamo)["adjuntos"]) == 1
    assert eventos_adjuntado(plataforma, reclamo.codigo) == 1
    otra = de_la_respuesta(api, reclamo.codigo, [("informe.pdf", INFORME + b"x")], idem)
    assert otra.status_code == 422 and otra.json()["error"] == "idempotencia_conflicto"
    assert archivos_guardados(plataforma) == antes + 1


def test_un_reclamo_terminado_no_admite_archivos(plataforma, api):
    reclamo: Reclamo = presentar(api, plataforma)
    listo(api, plataforma, reclamo)
    assert desistir(api, reclamo).status_code == 200
    antes = archivos_guardados(plataforma)
    r = de_la_respuesta(api, reclamo.codigo, [("informe.pdf", INFORME)], clave(plataforma, "minsa"))
    assert r.status_code == 409 and r.json()["error"] == "transicion_invalida", r.text
    assert "desistido" in r.json()["mensaje"]
    assert archivos_guardados(plataforma) == antes
    assert seguir(api, reclamo)["adjuntos"] == []
