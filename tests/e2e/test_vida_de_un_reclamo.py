"""A reclamo's whole life through the gateway's HTTP API, on the real broker, real stores and a
real SMTP server: filed, routed by rule, deadline counted, acknowledged by email, attended,
answered, surveyed, closed; and what another entity, or a wrong document, can not see."""

from __future__ import annotations

import re
from datetime import date, datetime

import httpx
import pytest

from comun.tiempo import dia_en_lima
from servicios.plazos.dominio import (
    Calendario,
    PoliticaPlazos,
    cerrar,
    fecha_recepcion,
    vencimiento,
)
from tests.e2e.conftest import correo_para
from tests.esperas import esperar

pytestmark = pytest.mark.e2e

EMAIL = "maria.quispe@gmail.com"
DNI = "45678912"


def hoja(**cambios) -> dict:
    base = {
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": DNI},
            "nombres": "María",
            "apellidos": "Quispe Huamán",
            "email": EMAIL,
        },
        "entidad_id": "minsa",
        "sede": "Hospital Nacional Arzobispo Loayza",
        "ocurrido_en": "2026-11-20T10:30:00-05:00",
        "motivo": "infraestructura",
        "descripcion": "Los ascensores del pabellón de consulta externa no funcionan hace semanas.",
        "pedido": "Que se reparen los ascensores.",
        "medio_respuesta": "email",
        "acepta_privacidad": True,
    }
    return base | cambios


def seguimiento(api, codigo: str, documento: str = DNI):
    return api.post("/seguimiento", json={"codigo": codigo, "numero_documento": documento})


def test_la_vida_completa_de_un_reclamo(plataforma, api):
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    otra = {"X-API-Key": plataforma.claves["munilima"]}
    buzon = plataforma.correo

    # Bad input: a clear 422 naming the field, and nothing is filed (checked below).
    rechazado = "Este reclamo tiene un DNI inválido y no debe registrarse nunca."
    malo = hoja(
        ciudadano=hoja()["ciudadano"] | {"documento": {"tipo": "dni", "numero": "123"}},
        descripcion=rechazado,
    )
    r = api.post("/reclamos", json=malo)
    assert r.status_code == 422
    assert r.json()["error"] == "datos_invalidos"
    assert {d["campo"] for d in r.json()["detalle"]} == {"ciudadano.documento.numero"}

    # 1. The citizen files the reclamo and keeps its código.
    r = api.post("/reclamos", json=hoja())
    assert r.status_code == 201, r.text
    codigo = r.json()["codigo"]
    assert re.fullmatch(r"R(-[2-9A-Z]{4}){3}", codigo)
    registrado_en = datetime.fromisoformat(r.json()["registrado_en"])

    # 2-3. Routed by the entity's rule (motivo infraestructura), deadline counted by plazos.
    visto = esperar(
        lambda: (
            (s := seguimiento(api, codigo).json()).get("vence_en")
            and s["estado"] == "derivado"
            and s
        ),
        "derivación y plazo visibles para el ciudadano",
    )
    cal, politica = Calendario(), PoliticaPlazos()
    recepcion = fecha_recepcion(registrado_en, cal, politica)
    vence_en = vencimiento(recepcion, cal, politica)
    assert visto["fecha_recepcion"] == recepcion.isoformat()
    assert datetime.fromisoformat(visto["vence_en"]) == vence_en
    assert visto["entidad"] == {"id": "minsa", "nombre": "Ministerio de Salud"}

    # With its deadline: derivacion learns it from `plazo.calculado`, which may come after the
    # entry itself on a loaded machine.
    entrada = esperar(
        lambda: [
            e for e in bandeja_completa(api, minsa) if e["codigo"] == codigo and e["vence_en"]
        ],
        "el reclamo en la bandeja, con su plazo",
    )[0]
    # The rejected one never reached the entity, though the later good one did.
    assert rechazado not in {e["descripcion"] for e in bandeja_completa(api, minsa)}
    assert entrada["unidad_id"] == "infraestructura"
    assert entrada["estado"] == "derivado"
    assert datetime.fromisoformat(entrada["vence_en"]) == vence_en

    # 4. The acknowledgement by email, with código, entity and deadline; the unit is alerted.
    acuse = esperar(lambda: correo_para(buzon, EMAIL, codigo, "registrado"), "correo de acuse")
    texto = acuse.get_content()
    assert codigo in texto and "Ministerio de Salud" in texto
    assert dia_en_lima(vence_en) in texto
    aviso = esperar(
        lambda: correo_para(buzon, "infraestructura@minsa.example.gob.pe", codigo),
        "aviso al responsable de la unidad",
    )
    assert DNI not in aviso.get_content() and EMAIL not in aviso.get_content()

    # Nobody else sees it: another entity, no key, a bad key, a wrong document.
    assert api.get(f"/bandeja/{codigo}", headers=otra).status_code == 404
    assert codigo not in {e["codigo"] for e in bandeja_completa(api, otra)}
    r = api.post(f"/bandeja/{codigo}/respuesta", headers=otra, json={"texto": "x" * 20})
    assert r.status_code == 404
    assert api.get("/bandeja").status_code == 401
    assert api.get("/bandeja", headers={"X-API-Key": "pdr_falsa"}).status_code == 401
    assert seguimiento(api, codigo, "87654321").status_code == 404

    # 5. The entity attends and answers.
    r = api.post(f"/bandeja/{codigo}/atencion", headers=minsa)
    assert r.status_code == 200 and r.json()["estado"] == "en_atencion"
    assert api.post(f"/bandeja/{codigo}/atencion", headers=minsa).status_code == 409
    respuesta = "Se contrató el mantenimiento de los ascensores; estarán operativos el lunes."
    r = api.post(f"/bandeja/{codigo}/respuesta", headers=minsa, json={"texto": respuesta})
    assert r.status_code == 200 and r.json()["estado"] == "respondido"

    # The answer reaches the citizen by email; plazos stops the clock.
    correo = esperar(
        lambda: correo_para(buzon, EMAIL, codigo, "Respuesta"), "correo con la respuesta"
    )
    assert respuesta in correo.get_content()
    visto = esperar(
        lambda: (s := seguimiento(api, codigo).json())["dias_habiles_usados"] is not None and s,
        "plazo detenido",
    )
    respondido_en = datetime.fromisoformat(r.json()["respondido_en"])
    cierre = cerrar(recepcion, vence_en, respondido_en, cal)
    assert visto["dias_habiles_usados"] == cierre.dias_habiles_usados
    assert visto["dentro_del_plazo"] is True

    # 6. One survey, single use, by the link in the email; answering it closes the reclamo.
    invitacion = esperar(
        lambda: correo_para(buzon, EMAIL, codigo, "Cuéntenos"), "correo de encuesta"
    )
    # The link opens the survey's page (the web portal), not the API.
    enlace = re.search(r"(https?://\S+)/encuestas/(\S+)", invitacion.get_content())
    assert enlace and not enlace.group(1).endswith("/api/v1"), invitacion.get_content()
    token = enlace.group(2)
    encuesta = api.get(f"/encuestas/{token}")
    assert encuesta.status_code == 200 and encuesta.json()["estado"] == "pendiente"
    assert encuesta.json()["codigo"] == codigo
    respuestas = {
        "satisfaccion": 4,
        "resuelto": True,
        "impulsores": {
            "tiempo": 3,
            "trato": 5,
            "informacion": 4,
            "acceso": 4,
            "resultado": 4,
            "confianza": 4,
        },
    }
    incompleta = respuestas | {"impulsores": {"tiempo": 3}}
    assert api.post(f"/encuestas/{token}", json=incompleta).status_code == 422
    assert api.post(f"/encuestas/{token}", json=respuestas).status_code == 200
    assert api.post(f"/encuestas/{token}", json=respuestas).status_code == 409

    # 7. The citizen's timeline: every state, in order, with dates; the emails too.
    final = esperar(
        lambda: (s := seguimiento(api, codigo).json())["estado"] == "cerrado" and s,
        "reclamo cerrado",
    )
    estados = [h["estado"] for h in final["historial"] if h["estado"]]
    assert estados == ["registrado", "derivado", "en_atencion", "respondido", "cerrado"]
    fechas = [h["fecha"] for h in final["historial"]]
    assert fechas == sorted(fechas)
    textos = " ".join(h["texto"] for h in final["historial"])
    assert "constancia de registro" in textos and "respuesta de la entidad" in textos
    assert date.fromisoformat(final["fecha_recepcion"]) == recepcion

    # The survey feeds the entity's satisfaction index.
    indices = api.get("/indices/satisfaccion", headers=minsa).json()
    assert indices[0]["entidad_id"] == "minsa" and indices[0]["respuestas"] >= 1


def bandeja_completa(api: httpx.Client, cabeceras: dict[str, str]) -> list[dict]:
    """Every entry of the caller's bandeja, page after page through the cursor."""
    entradas: list[dict] = []
    params: dict = {"limite": 200}
    while True:
        pagina = api.get("/bandeja", headers=cabeceras, params=params)
        assert pagina.status_code == 200, pagina.text
        entradas += pagina.json()["items"]
        if not (cursor := pagina.json()["siguiente"]):
            return entradas
        params["cursor"] = cursor
