"""reclamo.adjuntado (issue 8): the schema of the event registro emits when a citizen adds files
after filing, what an entity's webhook receives of it, and who consumes it."""

from __future__ import annotations

import hashlib
import json

import pytest

from comun.eventos import (
    ArchivoGuardado,
    EventoInvalido,
    ReclamoAdjuntado,
    leer_evento,
    nuevo_evento,
)
from herramientas.topologia import claves_por_servicio
from servicios.notificaciones import webhooks
from servicios.notificaciones.schemas import EventoWebhook, NuevoWebhook
from servicios.registro.adjuntos import nombre_limpio

CONTENIDO = b"%PDF-1.4\n% constancia\n%%EOF\n"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def archivo(**cambios) -> dict:
    return {
        "id": "65f0c0ffee0000000000abcd",
        "nombre": "constancia.pdf",
        "tipo_mime": "application/pdf",
        "bytes": len(CONTENIDO),
        "sha256": hashlib.sha256(CONTENIDO).hexdigest(),
    } | cambios


def evento(*archivos: dict):
    datos = ReclamoAdjuntado(
        entidad_id="minsa", adjuntos=[ArchivoGuardado.model_validate(a) for a in archivos]
    )
    return nuevo_evento(
        "reclamo.adjuntado", datos, fuente="registro", codigo="R-2222-3333-4444", correlacion="c1"
    )


def test_el_evento_viaja_y_se_lee_con_cada_archivo_y_su_huella():
    oficina = archivo(id="65f0c0ffee0000000000abce", nombre="acta.docx", tipo_mime=DOCX)
    enviado = evento(archivo(), oficina)

    leido, datos = leer_evento(enviado.model_dump_json().encode())

    assert leido.tipo == "reclamo.adjuntado" and leido.correlacion == "c1"
    assert isinstance(datos, ReclamoAdjuntado)
    assert [a.model_dump(mode="json") for a in datos.adjuntos] == [archivo(), oficina]


@pytest.mark.parametrize(
    ("cambios", "campo"),
    [
        ({"sha256": "abc"}, "sha256"),
        ({"sha256": "A" * 64}, "sha256"),
        ({"id": "no-es-un-id"}, "id"),
        ({"nombre": "linea\nnueva.pdf"}, "nombre"),
        ({"bytes": 0}, "bytes"),
        ({"tipo_mime": "pdf"}, "tipo_mime"),
    ],
)
def test_un_archivo_mal_descrito_no_entra_y_el_error_no_repite_el_valor(cambios, campo):
    cuerpo = evento(archivo()).model_dump(mode="json")
    cuerpo["datos"]["adjuntos"][0] |= cambios

    with pytest.raises(EventoInvalido) as error:
        leer_evento(json.dumps(cuerpo).encode())

    assert f"adjuntos.0.{campo}" in str(error.value)
    if isinstance(cambios[campo], str):  # the name may be personal data: never echoed
        assert cambios[campo] not in str(error.value)


@pytest.mark.parametrize("cuantos", [0, 11])
def test_lleva_de_uno_a_diez_archivos(cuantos):
    cuerpo = evento(archivo()).model_dump(mode="json")
    cuerpo["datos"]["adjuntos"] = [archivo()] * cuantos

    with pytest.raises(EventoInvalido):
        leer_evento(json.dumps(cuerpo).encode())


def test_la_entidad_recibe_los_archivos_y_nada_mas_del_reclamo():
    enviado = evento(archivo())
    _, datos = leer_evento(enviado.model_dump_json().encode())

    carga = webhooks.carga(enviado, "minsa", "admision", "derivado") | webhooks._extra(
        enviado, datos
    )

    assert set(carga) == {
        "id",
        "tipo",
        "ocurrido_en",
        "codigo",
        "entidad",
        "unidad",
        "estado",
        "adjuntos",
    }
    assert carga["adjuntos"] == [archivo()]
    assert carga["adjuntos"][0]["sha256"] == hashlib.sha256(CONTENIDO).hexdigest()


def test_se_puede_suscribir_y_una_suscripcion_sin_lista_lo_recibe():
    assert "reclamo.adjuntado" in webhooks.TIPOS
    assert NuevoWebhook(url="https://a.gob.pe/x", eventos=["reclamo.adjuntado"]).eventos == [
        EventoWebhook.adjuntado
    ]
    # The subscription's default list (service.py) is every EventoWebhook.
    assert "reclamo.adjuntado" in [e.value for e in EventoWebhook]


def test_notificaciones_lo_consume_y_registro_que_lo_emite_no():
    claves = claves_por_servicio()
    assert "reclamo.adjuntado" in claves["notificaciones"]
    assert "reclamo.adjuntado" not in claves["registro"]


@pytest.mark.parametrize(
    "recibido",
    [
        "acta\u2028final.pdf",
        "acta\u2029.pdf",
        "C:\\Users\\x\\acta\r\n.pdf",
        "\u200bacta\x7f\x85.pdf",
        "  " + "a" * 300 + ".pdf",
        "\u2028",
    ],
)
def test_todo_nombre_que_guarda_registro_cabe_en_el_evento(recibido):
    # registro cleans the name before storing; the event must accept whatever it stored, or an
    # upload would fail after its files were written.
    nombre = nombre_limpio(recibido, 0)

    guardado = ArchivoGuardado.model_validate(archivo(nombre=nombre))

    assert guardado.nombre == nombre.strip() and "\u2028" not in nombre and "\n" not in nombre
