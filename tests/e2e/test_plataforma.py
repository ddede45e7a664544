"""What the platform promises around the happy path: the services' health and metrics, the
documented API, the presencial channel, and that only the gateway can reach a service."""

from __future__ import annotations

import httpx
import pytest

from herramientas.local import SERVICIOS
from tests.e2e.test_vida_de_un_reclamo import hoja
from tests.esperas import esperar

pytestmark = pytest.mark.e2e


def test_cada_servicio_separa_vivo_de_sano_y_expone_metricas(plataforma, api):
    p = plataforma.puertos
    for i, servicio in enumerate(SERVICIOS, start=1):
        web = f"http://127.0.0.1:{p.web + i}"
        assert httpx.get(web + "/alive").json()["servicio"] == servicio
        salud = httpx.get(web + "/health")
        assert salud.status_code == 200
        assert salud.json()["dependencias"] == {"mongodb": True, "rabbitmq": True}
        assert "http_solicitudes_total" in httpx.get(web + "/metrics").text
        metricas_worker = httpx.get(f"http://127.0.0.1:{p.metricas + i}/metrics").text
        assert "evento_duracion_segundos" in metricas_worker
    # A reclamo handled by derivacion's worker is counted by tipo and result.
    assert api.post("/reclamos", json=hoja()).status_code == 201
    linea = (
        'eventos_procesados_total{resultado="aplicado",servicio="derivacion",'
        'tipo="reclamo.registrado"}'
    )
    esperar(
        lambda: linea in httpx.get(f"http://127.0.0.1:{p.metricas + 2}/metrics").text,
        "el evento contado en las métricas del worker",
    )


def test_las_metricas_no_llevan_codigos_ni_datos_personales(plataforma, api):
    r = api.post("/reclamos", json=hoja())
    assert r.status_code == 201
    codigo = r.json()["codigo"]
    api.post("/seguimiento", json={"codigo": codigo, "numero_documento": "45678912"})
    texto = httpx.get(plataforma.url + "/metrics").text
    assert 'ruta="/api/v1/reclamos"' in texto
    assert codigo not in texto and "45678912" not in texto


def test_la_api_esta_documentada(plataforma, api):
    assert api.get("/docs").status_code == 200
    esquema = api.get("/openapi.json").json()
    assert {"/api/v1/reclamos", "/api/v1/seguimiento", "/api/v1/bandeja"} <= set(esquema["paths"])


def test_canal_presencial_solo_para_el_personal_de_la_entidad(plataforma, api):
    presencial = hoja(canal="presencial")
    assert api.post("/reclamos", json=presencial).status_code == 403  # a citizen
    otra = {"X-API-Key": plataforma.claves["munilima"]}
    assert api.post("/reclamos", json=presencial, headers=otra).status_code == 403
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    assert api.post("/reclamos", json=presencial, headers=minsa).status_code == 201


def test_entidad_desconocida_es_un_error_del_campo(api):
    r = api.post("/reclamos", json=hoja(entidad_id="no-existe"))
    assert r.status_code == 422
    assert r.json()["detalle"] == [{"campo": "entidad_id", "mensaje": "Entidad desconocida."}]


def test_un_servicio_no_atiende_a_quien_no_es_el_gateway(plataforma):
    registro = f"http://127.0.0.1:{plataforma.puertos.web + 1}"
    r = httpx.post(registro + "/reclamos", json=hoja(), headers={"X-Rol": "operador"})
    assert r.status_code == 401
    r = httpx.post(
        registro + "/reclamos",
        json=hoja(),
        headers={"X-Token-Interno": "adivinado", "X-Rol": "operador"},
    )
    assert r.status_code == 401


def test_adivinar_el_documento_de_un_codigo_se_bloquea(plataforma, api):
    r = api.post("/reclamos", json=hoja())
    codigo = r.json()["codigo"]
    intentos = [
        api.post("/seguimiento", json={"codigo": codigo, "numero_documento": f"1000000{i}"})
        for i in range(10)
    ]
    assert {i.status_code for i in intentos} == {404}
    bloqueado = api.post("/seguimiento", json={"codigo": codigo, "numero_documento": "45678912"})
    assert bloqueado.status_code == 429
    assert int(bloqueado.headers["Retry-After"]) > 0
    assert bloqueado.json()["error"] == "demasiadas_solicitudes"
