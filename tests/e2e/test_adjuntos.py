"""Attachments (issue 8) through the gateway: filed with the hoja and right after, each with its
SHA-256 in the timeline; downloaded byte for byte by the citizen and by the entity that has the
reclamo (a traslado moves access); every other caller 404; bad files refused with nothing stored
(counted in registro's own GridFS)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pymongo import MongoClient

from tests.e2e.test_procedimiento import (
    Reclamo,
    accion,
    clave,
    clave_de_unidad,
    esperar_seguimiento,
    listo,
    momento,
    responder,
    seguir,
)
from tests.esperas import esperar

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(300)


def ooxml(parte: str) -> bytes:
    salida = io.BytesIO()
    with zipfile.ZipFile(salida, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr(parte, "<x/>" + secrets.token_hex(64))
    return salida.getvalue()


def sha(datos: bytes) -> str:
    return hashlib.sha256(datos).hexdigest()


def hoja(entidad_id: str = "minsa") -> dict:
    return {
        "canal": "virtual",
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": f"{secrets.randbelow(10**8):08d}"},
            "nombres": "Rosa",
            "apellidos": "Condori Mamani",
            "email": f"ciudadano-{uuid.uuid4().hex[:12]}@prueba.pe",
        },
        "entidad_id": entidad_id,
        "ocurrido_en": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "motivo": "trato",
        "descripcion": "Me atendieron de mala manera; adjunto la constancia y una foto.",
        "pedido": "Que se corrija y se me responda por escrito.",
        "medio_respuesta": "email",
        "acepta_privacidad": True,
    }


def con_adjuntos(api: httpx.Client, datos: dict, archivos, **kw) -> httpx.Response:
    partes = [("archivos", (nombre, contenido)) for nombre, contenido in archivos]
    return api.post("/reclamos/con-adjuntos", data={"hoja": json.dumps(datos)}, files=partes, **kw)


def adjuntar(api: httpx.Client, reclamo: Reclamo, archivos, **kw) -> httpx.Response:
    partes = [("archivos", (nombre, contenido)) for nombre, contenido in archivos]
    return api.post(
        f"/reclamos/{reclamo.codigo}/adjuntos",
        data={"numero_documento": reclamo.documento},
        files=partes,
        **kw,
    )


def del_ciudadano(api, reclamo: Reclamo, adjunto_id: str, documento: str | None = None):
    return api.post(
        f"/reclamos/{reclamo.codigo}/adjuntos/{adjunto_id}",
        json={"numero_documento": documento or reclamo.documento},
    )


def de_la_entidad(api, codigo: str, adjunto_id: str, cabeceras: dict) -> httpx.Response:
    return api.get(f"/bandeja/{codigo}/adjuntos/{adjunto_id}", headers=cabeceras)


def archivos_guardados(plataforma) -> int:
    """Every file in registro's GridFS, confirmed or not: a refused request adds none."""
    cliente: MongoClient = MongoClient(plataforma._mongo(1, "registro"))
    try:
        return cliente["registro"]["adjuntos.files"].count_documents({})
    finally:
        cliente.close()


def eventos_adjuntado(plataforma, codigo: str) -> int:
    """The reclamo.adjuntado events registro wrote (its outbox, same transaction as the files)."""
    cliente: MongoClient = MongoClient(plataforma._mongo(1, "registro"))
    try:
        return cliente["registro"]["outbox"].count_documents(
            {"evento.tipo": "reclamo.adjuntado", "evento.codigo": codigo}
        )
    finally:
        cliente.close()


def presentado(api, plataforma, archivos, entidad_id="minsa") -> tuple[Reclamo, list[dict]]:
    datos = hoja(entidad_id)
    r = con_adjuntos(api, datos, archivos)
    assert r.status_code == 201, r.text
    cuerpo = r.json()
    reclamo = Reclamo(
        cuerpo["codigo"],
        datos["ciudadano"]["documento"]["numero"],
        datos["ciudadano"]["email"],
        entidad_id,
        momento(cuerpo["registrado_en"]),
    )
    return reclamo, cuerpo["adjuntos"]


def test_ida_y_vuelta_de_archivos_y_acceso_que_sigue_al_traslado(plataforma, api):
    docx = ooxml("word/document.xml")
    enviados = [("constancia.pdf", PDF), ("foto.png", PNG)]
    reclamo, guardados = presentado(api, plataforma, enviados)
    assert [(a["nombre"], a["sha256"], a["bytes"]) for a in guardados] == [
        (n, sha(c), len(c)) for n, c in enviados
    ]
    assert [a["tipo_mime"] for a in guardados] == ["application/pdf", "image/png"]
    listo(api, plataforma, reclamo)

    # The timeline's registration step carries each file with its SHA-256, also in its words.
    visto = seguir(api, reclamo)
    assert visto["adjuntos"] == guardados
    registro = next(h for h in visto["historial"] if h["estado"] == "registrado")
    assert registro["adjuntos"] == guardados
    assert all(sha(c) in registro["texto"] for _, c in enviados)

    # The citizen gets the very bytes back; the hash matches the one recorded.
    for (_, contenido), adjunto in zip(enviados, guardados, strict=True):
        r = del_ciudadano(api, reclamo, adjunto["id"])
        assert r.status_code == 200, r.text
        assert r.content == contenido
        assert sha(r.content) == adjunto["sha256"] == r.headers["X-Contenido-SHA256"]
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["cache-control"] == "no-store"
        assert "attachment" in r.headers["content-disposition"]

    # The entity that has it (and its unit) too; anyone else: 404 (401 without a key).
    minsa, munilima = clave(plataforma, "minsa"), clave(plataforma, "munilima")
    pdf_id = guardados[0]["id"]
    r = de_la_entidad(api, reclamo.codigo, pdf_id, minsa)
    assert r.status_code == 200 and r.content == PDF
    unidad = esperar(
        lambda: api.get(f"/bandeja/{reclamo.codigo}", headers=minsa).json().get("unidad_id"),
        "la unidad del reclamo",
    )
    assert (
        de_la_entidad(
            api, reclamo.codigo, pdf_id, clave_de_unidad(plataforma, "minsa", unidad)
        ).content
        == PDF
    )
    otra = "integridad" if unidad != "integridad" else "infraestructura"
    otra_unidad = clave_de_unidad(plataforma, "minsa", otra)
    assert de_la_entidad(api, reclamo.codigo, pdf_id, otra_unidad).status_code == 404
    r = de_la_entidad(api, reclamo.codigo, pdf_id, munilima)
    assert r.status_code == 404 and r.json()["error"] == "no_encontrado"
    assert PDF not in r.content
    assert de_la_entidad(api, reclamo.codigo, pdf_id, {}).status_code == 401
    assert de_la_entidad(api, reclamo.codigo, "0" * 24, minsa).status_code == 404
    assert del_ciudadano(api, reclamo, pdf_id, "12345678").status_code == 404
    assert del_ciudadano(api, reclamo, "0" * 24).status_code == 404

    # Right after filing, one more file: its own timeline entry with its hash.
    r = adjuntar(api, reclamo, [("informe.docx", docx)])
    assert r.status_code == 201, r.text
    (nuevo,) = r.json()["adjuntos"]
    assert nuevo["sha256"] == sha(docx) and nuevo["nombre"] == "informe.docx"
    visto = seguir(api, reclamo)
    assert [a["id"] for a in visto["adjuntos"]] == [*(a["id"] for a in guardados), nuevo["id"]]
    entrada = next(h for h in visto["historial"] if h["adjuntos"] == [nuevo])
    assert sha(docx) in entrada["texto"]
    assert del_ciudadano(api, reclamo, nuevo["id"]).content == docx

    # A traslado moves access: munilima now, minsa no longer.
    razon = "Es competencia de la municipalidad del distrito."
    r = accion(api, reclamo.codigo, "traslado", minsa, {"entidad_id": "munilima", "razon": razon})
    assert r.status_code == 200, r.text
    esperar(
        lambda: de_la_entidad(api, reclamo.codigo, pdf_id, munilima).status_code == 200,
        "munilima descarga tras el traslado",
    )
    assert de_la_entidad(api, reclamo.codigo, nuevo["id"], munilima).content == docx
    assert de_la_entidad(api, reclamo.codigo, pdf_id, minsa).status_code == 404
    assert del_ciudadano(api, reclamo, pdf_id).content == PDF  # the citizen, always


def multipart_truncado(frontera: str, datos: dict) -> bytes:
    return (
        f'--{frontera}\r\nContent-Disposition: form-data; name="hoja"\r\n\r\n'
        f"{json.dumps(datos)}\r\n"
        f'--{frontera}\r\nContent-Disposition: form-data; name="archivos"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + PDF  # ... and no closing boundary


def test_archivos_malos_se_rechazan_en_castellano_sin_guardar_nada(plataforma, api):
    antes = archivos_guardados(plataforma)

    def rechazado(r: httpx.Response, estado: int, error: str) -> None:
        assert r.status_code == estado, r.text
        assert r.json()["error"] == error, r.text
        assert r.json()["mensaje"]
        assert archivos_guardados(plataforma) == antes

    # A type by content: a text file named .pdf; the good one beside it is not kept either.
    falso = b"No soy un PDF, solo texto."
    r = con_adjuntos(api, hoja(), [("ok.pdf", PDF), ("constancia.pdf", falso)])
    rechazado(r, 422, "tipo_no_permitido")
    assert r.json()["detalle"][0]["campo"] == "archivos.1"
    assert "no es de un tipo permitido" in r.json()["mensaje"]
    rechazado(con_adjuntos(api, hoja(), [("vacio.pdf", b"")]), 422, "archivo_vacio")
    rechazado(con_adjuntos(api, hoja(), [("a.pdf", PDF)] * 11), 422, "demasiados_archivos")
    grande = PDF + bytes(10 * MB)
    rechazado(con_adjuntos(api, hoja(), [("a.pdf", grande)] * 2), 413, "adjuntos_muy_grandes")
    # Beyond what the edge reads for an upload at all.
    rechazado(con_adjuntos(api, hoja(), [("a.pdf", grande)] * 3), 413, "cuerpo_muy_grande")
    # The hoja is checked too, naming the field inside it.
    malo = {**hoja(), "motivo": "no-existe"}
    r = con_adjuntos(api, malo, [("a.pdf", PDF)])
    rechazado(r, 422, "datos_invalidos")
    assert "hoja.motivo" in {d["campo"] for d in r.json()["detalle"]}
    # Multipart with the hoja and no file at all.
    sin_archivos = {"hoja": (None, json.dumps(hoja()))}
    rechazado(api.post("/reclamos/con-adjuntos", files=sin_archivos), 422, "datos_invalidos")

    # A body cut before its closing boundary (the declared length is honest).
    frontera = uuid.uuid4().hex
    r = api.post(
        "/reclamos/con-adjuntos",
        content=multipart_truncado(frontera, hoja()),
        headers={"Content-Type": f"multipart/form-data; boundary={frontera}"},
    )
    rechazado(r, 400, "multipart_incompleto")
    r = api.post("/reclamos/con-adjuntos", json=hoja())
    rechazado(r, 400, "multipart_invalido")

    # After filing: the limits count what the reclamo already has; a wrong document is 404.
    reclamo, _ = presentado(api, plataforma, [("a.pdf", PDF)] * 9)
    antes = archivos_guardados(plataforma)
    rechazado(adjuntar(api, reclamo, [("b.pdf", PDF)] * 2), 422, "demasiados_archivos")
    otro = Reclamo(reclamo.codigo, "87654321", None, "minsa", reclamo.registrado_en)
    rechazado(adjuntar(api, otro, [("b.pdf", PDF)]), 404, "no_encontrado")
    assert adjuntar(api, reclamo, [("b.pdf", PDF)]).status_code == 201
    antes = archivos_guardados(plataforma)
    rechazado(adjuntar(api, reclamo, [("c.pdf", PDF)]), 422, "demasiados_archivos")
    esperar_seguimiento(api, reclamo, lambda s: len(s["adjuntos"]) == 10, "diez adjuntos")


def test_reintento_con_la_misma_clave_no_guarda_dos_veces(plataforma, api):
    datos = hoja()
    clave_idem = {"Idempotency-Key": str(uuid.uuid4())}
    primera = con_adjuntos(api, datos, [("a.pdf", PDF)], headers=clave_idem)
    assert primera.status_code == 201, primera.text
    antes = archivos_guardados(plataforma)
    segunda = con_adjuntos(api, datos, [("a.pdf", PDF)], headers=clave_idem)
    assert (segunda.status_code, segunda.json()) == (201, primera.json())
    assert archivos_guardados(plataforma) == antes
    otra = con_adjuntos(api, datos, [("a.pdf", PDF + b"x")], headers=clave_idem)
    assert otra.status_code == 422 and otra.json()["error"] == "idempotencia_conflicto"
    assert archivos_guardados(plataforma) == antes

    # Adding the tenth file, retried: the first answer, though the reclamo is full now.
    reclamo, _ = presentado(api, plataforma, [("a.pdf", PDF)] * 9)
    clave_idem = {"Idempotency-Key": str(uuid.uuid4())}
    primera = adjuntar(api, reclamo, [("b.png", PNG)], headers=clave_idem)
    assert primera.status_code == 201, primera.text
    antes = archivos_guardados(plataforma)
    segunda = adjuntar(api, reclamo, [("b.png", PNG)], headers=clave_idem)
    assert (segunda.status_code, segunda.json()) == (201, primera.json())
    assert archivos_guardados(plataforma) == antes
    assert len(seguir(api, reclamo)["adjuntos"]) == 10
    # Filing with files is reclamo.registrado; each upload after it, one reclamo.adjuntado
    # (written with the files), and the retry wrote none.
    assert eventos_adjuntado(plataforma, reclamo.codigo) == 1


def test_tras_la_respuesta_no_se_adjunta(plataforma, api):
    reclamo, _ = presentado(api, plataforma, [("a.pdf", PDF)])
    listo(api, plataforma, reclamo)
    assert responder(api, reclamo.codigo, clave(plataforma, "minsa")).status_code == 200
    esperar_seguimiento(api, reclamo, lambda s: s["estado"] == "respondido", "respondido")
    antes = archivos_guardados(plataforma)
    r = adjuntar(api, reclamo, [("b.pdf", PDF)])
    assert r.status_code == 409 and r.json()["error"] == "transicion_invalida", r.text
    assert "respondido" in r.json()["mensaje"]
    assert archivos_guardados(plataforma) == antes
    # The files stay downloadable by the citizen.
    (adjunto,) = seguir(api, reclamo)["adjuntos"]
    assert del_ciudadano(api, reclamo, adjunto["id"]).content == PDF
