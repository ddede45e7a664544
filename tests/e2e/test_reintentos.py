"""Safe retries (issue 5): a client that lost the answer sends the same request again with the
same Idempotency-Key and gets the first answer, and nothing is filed or done twice. Counted in
registro's own store, independently of what the API answers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pymongo import MongoClient

from tests.e2e.test_vida_de_un_reclamo import hoja
from tests.esperas import esperar

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def reclamos_guardados(plataforma):
    """registro's hojas, read straight from its store (index 1: gateway is 0)."""
    cliente: MongoClient = MongoClient(plataforma._mongo(1, "registro"))
    yield cliente["registro"]["reclamos"]
    cliente.close()


def _hoja_unica() -> tuple[dict, str]:
    email = f"reintento-{uuid.uuid4().hex[:10]}@prueba.pe"
    datos = hoja()
    datos["ciudadano"] = {**datos["ciudadano"], "email": email}
    return datos, email


def _guardados(coleccion, email: str) -> int:
    return coleccion.count_documents({"hoja.ciudadano.email": email})


def test_el_mismo_reclamo_reintentado_con_su_clave_se_registra_una_vez(api, reclamos_guardados):
    datos, email = _hoja_unica()
    clave = {"Idempotency-Key": str(uuid.uuid4())}

    primera = api.post("/reclamos", json=datos, headers=clave)
    segunda = api.post("/reclamos", json=datos, headers=clave)

    assert primera.status_code == 201
    assert segunda.status_code == 201
    assert segunda.json() == primera.json()
    assert _guardados(reclamos_guardados, email) == 1
    # Without a key the same body is a new reclamo (the citizen may file twice on purpose).
    assert api.post("/reclamos", json=datos).status_code == 201
    assert _guardados(reclamos_guardados, email) == 2


def test_la_misma_clave_con_otro_contenido_es_un_error_y_no_registra(api, reclamos_guardados):
    datos, email = _hoja_unica()
    clave = {"Idempotency-Key": str(uuid.uuid4())}
    assert api.post("/reclamos", json=datos, headers=clave).status_code == 201

    otra = api.post("/reclamos", json=datos | {"motivo": "trato"}, headers=clave)

    assert otra.status_code == 422
    assert otra.json()["error"] == "idempotencia_conflicto"
    assert "Idempotency-Key" in otra.json()["mensaje"]
    assert _guardados(reclamos_guardados, email) == 1


def test_una_clave_malformada_se_rechaza_nombrando_la_cabecera(api, reclamos_guardados):
    datos, email = _hoja_unica()
    r = api.post("/reclamos", json=datos, headers={"Idempotency-Key": "con espacios"})
    assert r.status_code == 422
    assert [d["campo"] for d in r.json()["detalle"]] == ["header.Idempotency-Key"]
    assert _guardados(reclamos_guardados, email) == 0


def test_reintentos_simultaneos_con_la_misma_clave_dan_un_solo_reclamo(
    plataforma, reclamos_guardados
):
    # Entity staff (presencial channel): the public per-address limit does not apply to them.
    datos, email = _hoja_unica()
    datos["canal"] = "presencial"
    cabeceras = {"X-API-Key": plataforma.claves["minsa"], "Idempotency-Key": str(uuid.uuid4())}

    def enviar(_):
        with httpx.Client(base_url=plataforma.url + "/api/v1", timeout=30) as cliente:
            return cliente.post("/reclamos", json=datos, headers=cabeceras)

    with ThreadPoolExecutor(6) as hilos:
        respuestas = list(hilos.map(enviar, range(6)))

    assert [r.status_code for r in respuestas] == [201] * 6
    assert len({r.json()["codigo"] for r in respuestas}) == 1
    assert _guardados(reclamos_guardados, email) == 1


def test_una_accion_de_la_entidad_reintentada_con_su_clave_no_es_un_conflicto(plataforma, api):
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    datos, _ = _hoja_unica()
    codigo = api.post("/reclamos", json=datos).json()["codigo"]
    esperar(
        lambda: api.get(f"/bandeja/{codigo}", headers=minsa).status_code == 200,
        "el reclamo llega a la bandeja",
    )
    con_clave = minsa | {"Idempotency-Key": str(uuid.uuid4())}

    primera = api.post(f"/bandeja/{codigo}/atencion", headers=con_clave)
    segunda = api.post(f"/bandeja/{codigo}/atencion", headers=con_clave)
    sin_clave = api.post(f"/bandeja/{codigo}/atencion", headers=minsa)

    assert primera.status_code == 200
    assert segunda.status_code == 200
    assert segunda.json() == primera.json()
    assert sin_clave.status_code == 409  # a new request, not a retry: the transition is done
