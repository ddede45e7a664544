"""The gateway's bandeja routes: what they accept, what they refuse before calling derivacion, and
what they forward (derivacion itself is replaced by a recorder)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from gateway.credenciales import Credencial
from gateway.dependencias import quien_llama, servicios
from gateway.rutas import bandeja
from servicios.derivacion.dominio import codificar_cursor

CODIGO = "R-ABCD-2345-WXYZ"


class Grabadora:
    def __init__(self) -> None:
        self.llamadas: list[dict] = []

    async def llamar(self, request, servicio, metodo, ruta, quien, json=None, params=None, **kw):
        self.llamadas.append(
            {"servicio": servicio, "metodo": metodo, "ruta": ruta, "json": json, "params": params}
            | kw
        )
        return JSONResponse({"items": [], "siguiente": None})


@pytest.fixture
def grabadora() -> Grabadora:
    return Grabadora()


def cliente(grabadora: Grabadora, credencial: Credencial) -> TestClient:
    app = FastAPI()
    app.include_router(bandeja.router)
    app.dependency_overrides[servicios] = lambda: grabadora
    app.dependency_overrides[quien_llama] = lambda: credencial
    return TestClient(app)


ENTIDAD = Credencial(rol="entidad", entidad="minsa")
SUPERVISOR = Credencial(rol="supervisor")


def test_listar_reenvia_solo_lo_pedido(grabadora):
    assert cliente(grabadora, ENTIDAD).get("/bandeja").status_code == 200
    assert grabadora.llamadas[-1]["params"] == {"limite": 50}
    assert grabadora.llamadas[-1]["ruta"] == "/bandeja"


def test_listar_reenvia_cada_filtro(grabadora):
    cursor = codificar_cursor("0|2027-01-04T04:59:59.000Z|R-ABCD-2345-WXYZ")
    params = {
        "estado": "en_atencion",
        "unidad": "ogc",
        "motivo": "trato",
        "vence_antes": "2027-01-10",
        "vencido": "true",
        "entidad": "sunat",
        "limite": 7,
        "cursor": cursor,
    }
    r = cliente(grabadora, SUPERVISOR).get("/bandeja", params=params)
    assert r.status_code == 200, r.json()
    assert grabadora.llamadas[-1]["params"] == {**params, "vencido": "true"}
    cliente(grabadora, SUPERVISOR).get("/bandeja", params={"vencido": "0"})
    assert grabadora.llamadas[-1]["params"]["vencido"] == "false"


@pytest.mark.parametrize(
    ("params", "campo"),
    [
        ({"cursor": "no-es-un-cursor"}, "cursor"),
        ({"cursor": "a/b"}, "cursor"),
        ({"limite": 0}, "limite"),
        ({"limite": 201}, "limite"),
        ({"estado": "perdido"}, "estado"),
        ({"unidad": "Ogc!"}, "unidad"),
        ({"vence_antes": "2026-02-30"}, "vence_antes"),
        ({"vence_antes": "pronto"}, "vence_antes"),
        ({"vencido": "quizas"}, "vencido"),
    ],
)
def test_listar_rechaza_parametros_invalidos_sin_llamar(grabadora, params, campo):
    r = cliente(grabadora, ENTIDAD).get("/bandeja", params=params)
    assert r.status_code == 422
    assert [e["loc"][-1] for e in r.json()["detail"]] == [campo]
    assert grabadora.llamadas == []


@pytest.mark.parametrize(
    ("accion", "cuerpo"),
    [
        ("reasignacion", {"unidad_id": "rrhh", "razon": "Es de su competencia."}),
        ("observacion", {"observacion": "Falta la boleta de pago."}),
        ("traslado", {"entidad_id": "sunat", "razon": "Tema aduanero."}),
        ("respuesta", {"texto": "Respuesta completa al ciudadano."}),
        ("atencion", None),
    ],
)
def test_acciones_se_reenvian_con_su_clave(grabadora, accion, cuerpo):
    r = cliente(grabadora, ENTIDAD).post(
        f"/bandeja/{CODIGO}/{accion}", json=cuerpo, headers={"Idempotency-Key": "k-1"}
    )
    assert r.status_code == 200, r.json()
    llamada = grabadora.llamadas[-1]
    assert (llamada["metodo"], llamada["ruta"]) == ("POST", f"/bandeja/{CODIGO}/{accion}")
    assert llamada["json"] == cuerpo
    assert llamada["idempotencia"] == "k-1"


@pytest.mark.parametrize(
    ("accion", "cuerpo", "campo"),
    [
        ("reasignacion", {"unidad_id": "rrhh", "razon": "x"}, "razon"),
        ("reasignacion", {"unidad_id": "RRHH!", "razon": "Es de su competencia."}, "unidad_id"),
        ("observacion", {"observacion": "corto"}, "observacion"),
        ("observacion", {"observacion": "x" * 2001}, "observacion"),
        ("traslado", {"entidad_id": "sunat"}, "razon"),
        ("traslado", {"entidad_id": "sunat", "razon": "x" * 1001}, "razon"),
    ],
)
def test_acciones_con_cuerpo_invalido(grabadora, accion, cuerpo, campo):
    r = cliente(grabadora, ENTIDAD).post(f"/bandeja/{CODIGO}/{accion}", json=cuerpo)
    assert r.status_code == 422
    assert [e["loc"][-1] for e in r.json()["detail"]] == [campo]
    assert grabadora.llamadas == []


@pytest.mark.parametrize("accion", ["reasignacion", "observacion", "traslado"])
def test_el_supervisor_no_actua_sobre_el_reclamo(grabadora, accion):
    r = cliente(grabadora, SUPERVISOR).post(f"/bandeja/{CODIGO}/{accion}", json={})
    assert r.status_code == 403
    assert grabadora.llamadas == []


def test_codigo_mal_formado_no_llega_al_servicio(grabadora):
    r = cliente(grabadora, ENTIDAD).post("/bandeja/..%2Fcatalogo/traslado", json={})
    assert r.status_code in {404, 422}
    assert grabadora.llamadas == []
