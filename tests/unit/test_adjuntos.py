"""The files' checks (servicios/registro/adjuntos.py): types by content, not by name; the limits
per reclamo counting what it already has; names safe to show."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from servicios.registro.adjuntos import ErrorDeAdjunto, nombre_limpio, revisar

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20)
MB = 1024 * 1024


def ooxml(parte: str) -> bytes:
    salida = io.BytesIO()
    with zipfile.ZipFile(salida, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr(parte, "<x/>")
    return salida.getvalue()


def rechazo(recibidos, *args) -> ErrorDeAdjunto:
    with pytest.raises(ErrorDeAdjunto) as exc:
        revisar(recibidos, *args)
    return exc.value


def test_tipos_reconocidos_por_el_contenido_con_su_sha256():
    recibidos = [
        ("a.pdf", PDF),
        ("foto", PNG),
        ("foto.png", JPEG),  # the name says PNG, the bytes say JPEG: the bytes win
        ("informe.docx", ooxml("word/document.xml")),
        ("cuadro.xlsx", ooxml("xl/workbook.xml")),
    ]
    archivos = revisar(recibidos)
    assert [a.tipo_mime for a in archivos] == [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    assert [a.sha256 for a in archivos] == [hashlib.sha256(c).hexdigest() for _, c in recibidos]


@pytest.mark.parametrize(
    "contenido",
    [b"texto plano que dice ser un PDF", b"MZ\x90\x00" + bytes(60), b"PK\x03\x04" + bytes(40)],
)
def test_un_tipo_no_permitido_se_rechaza_aunque_el_nombre_diga_pdf(contenido):
    exc = rechazo([("ok.pdf", PDF), ("constancia.pdf", contenido)])
    assert (exc.estado, exc.error) == (422, "tipo_no_permitido")
    assert exc.detalle[0]["campo"] == "archivos.1"
    assert "constancia.pdf" in exc.mensaje


def test_limites_contando_lo_que_el_reclamo_ya_tiene():
    assert rechazo([("a.pdf", PDF)] * 11).error == "demasiados_archivos"
    assert rechazo([("a.pdf", PDF)] * 2, 9).error == "demasiados_archivos"
    assert len(revisar([("a.pdf", PDF)], 9)) == 1
    grande = PDF + bytes(10 * MB)
    exc = rechazo([("a.pdf", grande), ("b.pdf", grande)])
    assert (exc.estado, exc.error) == (413, "adjuntos_muy_grandes")
    assert rechazo([("a.pdf", grande)], 1, 10 * MB + 1).estado == 413
    assert rechazo([("vacio.pdf", b"")]).error == "archivo_vacio"
    assert rechazo([]).error == "sin_archivos"


def test_nombres_sin_carpetas_ni_saltos_de_linea():
    assert nombre_limpio("C:\\docs\\..\\x.pdf", 0) == "x.pdf"
    assert nombre_limpio("../../etc/passwd", 0) == "passwd"
    assert nombre_limpio("a\r\nb.pdf", 0) == "ab.pdf"
    assert nombre_limpio("", 2) == "adjunto-3"
    assert nombre_limpio(None, 0) == "adjunto-1"
    assert len(nombre_limpio("x" * 500, 0)) == 200
