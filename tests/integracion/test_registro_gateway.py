"""The citizen's subsanación and desistimiento through the gateway (issue 6): the document in
the body, the código checked in the path, Idempotency-Key forwarded, and failed attempts counted
with failed tracking of the same código. The gateway runs in-process in front of a real registro
web server on the test's store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.ajustes import AjustesGateway
from gateway.app import crear_app
from tests.integracion.ciudadano import DNI, Ciudadano
from tests.integracion.servicios import TOKEN, servido

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]
LIMITE = 3


@pytest.fixture
def api(registro: Ciudadano, mongo_url) -> Iterator[TestClient]:
    with servido(registro.cliente.application) as url_registro:
        ajustes = AjustesGateway(
            mongo_url=mongo_url,
            mongo_db=registro.db.name,
            token_interno=TOKEN,
            url_registro=url_registro,
            limite_fallos_seguimiento_por_hora=LIMITE,
        )
        with TestClient(crear_app(ajustes), base_url="http://testserver/api/v1") as cliente:
            yield cliente


def subsanacion(documento: str = DNI, **extra) -> dict:
    return {
        "numero_documento": documento,
        "texto": "Adjunto el ticket número 1234 que me entregaron.",
        **extra,
    }


def test_subsanacion_por_el_gateway_con_reintento_seguro(
    registro: Ciudadano,
    api: TestClient,
):
    codigo = registro.presentar()
    registro.observar(codigo)
    visto = api.post("/seguimiento", json={"codigo": codigo, "numero_documento": DNI})
    assert visto.status_code == 200
    assert visto.json()["estado"] == "observado"
    for campo in ("vencido", "observacion", "subsanar_hasta", "reloj_pausado", "encuesta"):
        assert campo in visto.json()

    clave = {"Idempotency-Key": "6b1d1f8e-subsanar"}
    r = api.post(f"/reclamos/{codigo}/subsanacion", json=subsanacion(), headers=clave)
    otra = api.post(f"/reclamos/{codigo}/subsanacion", json=subsanacion(), headers=clave)

    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "subsanado"
    assert otra.status_code == 200 and otra.json() == r.json()
    assert len(registro.emitidos("reclamo.subsanado")) == 1


def test_desistimiento_por_el_gateway(registro: Ciudadano, api: TestClient):
    codigo = registro.presentar()

    r = api.post(f"/reclamos/{codigo}/desistimiento", json={"numero_documento": DNI})
    otra = api.post(f"/reclamos/{codigo}/desistimiento", json={"numero_documento": DNI})

    assert r.status_code == 200 and r.json()["estado"] == "desistido"
    assert otra.status_code == 409
    assert otra.json()["error"] == "transicion_invalida"
    assert "desistido" in otra.json()["mensaje"]


def test_el_documento_va_en_el_cuerpo_y_el_codigo_se_valida(
    registro: Ciudadano,
    api: TestClient,
):
    codigo = registro.presentar()

    sin_documento = api.post(f"/reclamos/{codigo}/subsanacion", json={"texto": "x" * 20})
    mal_codigo = api.post("/reclamos/R-2222/desistimiento", json={"numero_documento": DNI})
    minusculas = api.post(
        f"/reclamos/{codigo.lower()}/desistimiento", json={"numero_documento": DNI}
    )
    razon_larga = api.post(
        f"/reclamos/{codigo}/desistimiento", json={"numero_documento": DNI, "razon": "x" * 1001}
    )

    assert sin_documento.status_code == 422
    assert "numero_documento" in {d["campo"] for d in sin_documento.json()["detalle"]}
    assert mal_codigo.status_code == 422
    assert minusculas.status_code == 422
    assert razon_larga.status_code == 422
    assert registro.seguir(codigo).get_json()["estado"] == "derivado"


def test_los_intentos_fallidos_cuentan_con_los_del_seguimiento(
    registro: Ciudadano,
    api: TestClient,
):
    codigo = registro.presentar()
    otro = registro.presentar()
    registro.observar(codigo)
    ajeno = "87654321"

    fallos = [
        api.post(f"/reclamos/{codigo}/subsanacion", json=subsanacion(ajeno)),
        api.post(f"/reclamos/{codigo}/desistimiento", json={"numero_documento": ajeno}),
        api.post("/seguimiento", json={"codigo": codigo, "numero_documento": ajeno}),
    ]
    assert [r.status_code for r in fallos] == [404] * LIMITE
    assert fallos[0].json() == fallos[2].json()  # the same answer as tracking

    # Past the limit, even the right document waits: guessing stops here, for every route.
    for r in (
        api.post(f"/reclamos/{codigo}/subsanacion", json=subsanacion()),
        api.post(f"/reclamos/{codigo}/desistimiento", json={"numero_documento": DNI}),
        api.post("/seguimiento", json={"codigo": codigo, "numero_documento": DNI}),
    ):
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
    assert registro.seguir(codigo).get_json()["estado"] == "observado"
    # Another código is not affected.
    r = api.post(f"/reclamos/{otro}/desistimiento", json={"numero_documento": DNI})
    assert r.status_code == 200
