"""plazos' handlers, deadline view and supervision against the real store (and, for the gateway
test, plazos served over HTTP behind the real gateway).

Dates are hand-counted (holidays 8, 9, 25 Dec 2026 and 1 Jan 2027; see
tests/unit/test_plazos_dominio.py). Received on:
  Monday 23 Nov 2026    → due Friday 8 Jan 2027     (vence_en 2027-01-09T04:59:59Z)
  Tuesday 24 Nov 2026   → due Monday 11 Jan 2027    (vence_en 2027-01-12T04:59:59Z)
  Wednesday 25 Nov 2026 → due Tuesday 12 Jan 2027   (vence_en 2027-01-13T04:59:59Z)
On Friday 15 Jan 2027 those are 5 (11-15 Jan), 4 (12-15) and 3 (13-15) business days overdue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from comun.eventos import (
    Evento,
    ReclamoSubsanado,
    ReclamoTrasladado,
    nuevo_evento,
)
from servicios.plazos.dominio import PoliticaPlazos
from tests.integracion.plazos import (
    OBSERVADO,
    RECIBIDO,
    SUBSANAR_HASTA,
    VENCE,
    cliente_plazos,
    codigo,
    despachador,
    entidad_actualizada,
    eventos_en_outbox,
    observado,
    poner_reloj,
    registrado,
    respondido,
)
from tests.integracion.servicios import TOKEN, como, servido

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

LUNES_23 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
MIERCOLES_25 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
VIERNES_15_ENE = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 Lima


@pytest.fixture
def api(plazos_db, monkeypatch, mongo_url, amqp_url):
    return cliente_plazos(monkeypatch, mongo_url, plazos_db, amqp_url)


def subsanado(cod: str, en: datetime, entidad: str = "minsa") -> Evento:
    datos = ReclamoSubsanado(entidad_id=entidad, texto="Adjunto el recibo pedido")
    return nuevo_evento("reclamo.subsanado", datos, fuente="registro", codigo=cod, ocurrido_en=en)


def trasladado(cod: str, en: datetime, a: str = "sunat") -> Evento:
    datos = ReclamoTrasladado(
        entidad_anterior_id="minsa", entidad_id=a, entidad_nombre="SUNAT", razon="Competencia"
    )
    return nuevo_evento(
        "reclamo.trasladado", datos, fuente="derivacion", codigo=cod, ocurrido_en=en
    )


def iso(momento: datetime) -> str:
    return momento.isoformat().replace("+00:00", "")


# --- the clock through its events ---------------------------------------------------------------


def test_observacion_pausa_el_reloj_y_la_subsanacion_lo_reanuda(
    plazos_db, despachar, api, reloj_archivo
):
    c = codigo(100)
    assert despachar(registrado(c))
    calculado = eventos_en_outbox(plazos_db, "plazo.calculado")[0]["datos"]
    assert calculado["vence_en"].startswith(iso(VENCE))
    obs = observado(c)
    assert despachar(obs)

    abierta = eventos_en_outbox(plazos_db, "plazo.subsanacion_abierta")[0]
    assert abierta["codigo"] == c
    assert abierta["datos"]["observacion_id"] == obs.id
    assert abierta["datos"]["subsanar_hasta"].startswith(iso(SUBSANAR_HASTA))
    assert abierta["datos"]["dias_habiles"] == 2
    assert abierta["datos"]["reloj_pausado"] is True
    poner_reloj(reloj_archivo, OBSERVADO + timedelta(hours=1))
    vista = api.get(f"/plazos/{c}", headers=como("entidad", "minsa")).json
    assert vista["estado"] == "pausado" and vista["reloj_pausado"] is True
    assert vista["vence_en"] is None and vista["vencido"] is False
    assert vista["subsanar_hasta"].startswith(iso(SUBSANAR_HASTA))

    # Subsanado Thursday 10 Dec 10:00 Lima: of (7 Dec, 10 Dec] only the 10th was a business
    # day (8 and 9 are holidays), so the deadline moves one day, to Tuesday 12 Jan.
    assert despachar(subsanado(c, datetime(2026, 12, 10, 15, 0, tzinfo=UTC)))
    recalculado = eventos_en_outbox(plazos_db, "plazo.recalculado")
    assert len(recalculado) == 1
    assert recalculado[0]["datos"]["razon"] == "subsanacion"
    assert recalculado[0]["datos"]["vence_en"].startswith("2027-01-13T04:59:59")
    assert recalculado[0]["datos"]["vence_antes"].startswith(iso(VENCE))
    vista = api.get(f"/plazos/{c}", headers=como("supervisor")).json
    assert vista["estado"] == "corriendo" and vista["reloj_pausado"] is False
    assert vista["vence_en"].startswith("2027-01-13T04:59:59")
    assert vista["subsanar_hasta"] is None
    doc = plazos_db.plazos.find_one({"_id": c})
    assert "subsanacion_pendiente" not in doc


def test_subsanado_antes_que_observado_da_lo_mismo(plazos_db, despachar):
    c = codigo(101)
    obs = observado(c)
    # Arrival order: subsanado, registrado, observado (the others were retried).
    assert despachar(subsanado(c, datetime(2026, 12, 10, 15, 0, tzinfo=UTC)))
    assert despachar(registrado(c))
    assert despachar(obs)
    doc = plazos_db.plazos.find_one({"_id": c})
    assert doc["estado"] == "corriendo"
    assert doc["vence_en"] == datetime(2027, 1, 13, 4, 59, 59, tzinfo=UTC)
    abierta = eventos_en_outbox(plazos_db, "plazo.subsanacion_abierta")[0]["datos"]
    assert abierta["reloj_pausado"] is False  # already answered when the observation came in
    recalculado = eventos_en_outbox(plazos_db, "plazo.recalculado")
    assert [e["datos"]["razon"] for e in recalculado] == ["subsanacion"]


def test_traslado_sigue_la_cuenta_y_cambia_de_entidad(plazos_db, despachar, api):
    c = codigo(102)
    assert despachar(registrado(c))
    assert despachar(trasladado(c, datetime(2026, 12, 14, 15, 0, tzinfo=UTC)))
    assert eventos_en_outbox(plazos_db, "plazo.recalculado") == []
    assert api.get(f"/plazos/{c}", headers=como("entidad", "minsa")).status_code == 404
    vista = api.get(f"/plazos/{c}", headers=como("entidad", "sunat")).json
    assert vista["entidad_id"] == "sunat" and vista["vence_en"].startswith(iso(VENCE))


def test_traslado_que_reinicia_por_politica(plazos_db):
    despachar = despachador(plazos_db, PoliticaPlazos(traslado_reinicia=True))
    c = codigo(103)
    assert despachar(registrado(c))
    # Monday 14 Dec 10:00 Lima: a new count from 14 Dec ends Wednesday 27 Jan 2027.
    assert despachar(trasladado(c, datetime(2026, 12, 14, 15, 0, tzinfo=UTC)))
    recalculado = eventos_en_outbox(plazos_db, "plazo.recalculado")[0]["datos"]
    assert recalculado["razon"] == "traslado" and recalculado["entidad_id"] == "sunat"
    assert recalculado["vence_en"].startswith("2027-01-28T04:59:59")
    assert plazos_db.plazos.find_one({"_id": c})["fecha_recepcion"] == "2026-12-14"


def test_respuesta_antes_que_registro_detiene_una_vez(plazos_db, despachar):
    c = codigo(104)
    # Answered Friday 4 Dec: 25, 26, 27, 30 Nov, 1, 2, 3, 4 Dec = 8 business days.
    assert despachar(respondido(c, datetime(2026, 12, 4, 15, 0, tzinfo=UTC)))
    assert eventos_en_outbox(plazos_db, "plazo.detenido") == []
    registro = registrado(c)
    assert despachar(registro)
    assert despachar(registro) is False  # redelivered: applied once
    detenidos = eventos_en_outbox(plazos_db, "plazo.detenido")
    assert len(detenidos) == 1
    assert detenidos[0]["datos"]["dias_habiles_usados"] == 8
    assert detenidos[0]["datos"]["dentro_del_plazo"] is True
    assert len(eventos_en_outbox(plazos_db, "plazo.calculado")) == 1


# --- supervision --------------------------------------------------------------------------------


@pytest.fixture
def vencidos(plazos_db, despachar, reloj_archivo) -> dict[str, list[str]]:
    """Open overdue reclamos of three entities, plus some that must not be listed."""
    assert despachar(entidad_actualizada("minsa", "Ministerio de Salud"))
    assert despachar(entidad_actualizada("gore-cusco", "Gobierno Regional Cusco", "regional"))
    assert despachar(entidad_actualizada("consulado-madrid", "Consulado en Madrid", pais="ES"))
    grupos = {
        "y": [(codigo(200), "minsa", LUNES_23), (codigo(201), "minsa", LUNES_23)],
        "x": [
            (codigo(210), "gore-cusco", RECIBIDO),
            (codigo(211), "consulado-madrid", RECIBIDO),
            (codigo(212), "gore-cusco", RECIBIDO),
        ],
        "z": [(codigo(220), "minsa", MIERCOLES_25)],
    }
    for grupo in grupos.values():
        for c, entidad, en in grupo:
            assert despachar(registrado(c, en, entidad))
    # Not listed: answered, still in time, waiting for a subsanación (clock paused).
    contestado, a_tiempo, pausado = codigo(230), codigo(231), codigo(232)
    assert despachar(registrado(contestado, LUNES_23))
    assert despachar(respondido(contestado, LUNES_23 + timedelta(days=60)))
    assert despachar(registrado(a_tiempo, datetime(2026, 12, 3, 15, 0, tzinfo=UTC)))
    assert despachar(registrado(pausado, LUNES_23))
    assert despachar(observado(pausado))
    poner_reloj(reloj_archivo, VIERNES_15_ENE)
    return {k: sorted(c for c, _, _ in v) for k, v in grupos.items()} | {"contestado": [contestado]}


def leer_todo(api, limite: int, **filtros) -> list[dict]:
    items, cursor, paginas = [], None, 0
    while True:
        params = {**filtros, "limite": limite, **({"cursor": cursor} if cursor else {})}
        r = api.get("/supervision/vencidos", query_string=params, headers=como("supervisor"))
        assert r.status_code == 200, r.json
        assert len(r.json["items"]) <= limite
        items += r.json["items"]
        cursor = r.json["siguiente"]
        paginas += 1
        assert paginas < 50
        if cursor is None:
            return items


def test_vencidos_los_mas_atrasados_primero_por_cursor(api, vencidos):
    esperado = vencidos["y"] + vencidos["x"] + vencidos["z"]
    for limite in (1, 2, 4, 50):
        items = leer_todo(api, limite)
        assert [i["codigo"] for i in items] == esperado, limite
    por_codigo = {i["codigo"]: i for i in leer_todo(api, 50)}
    y, x, z = (por_codigo[vencidos[g][0]] for g in "yxz")
    assert (y["dias_habiles_vencido"], x["dias_habiles_vencido"], z["dias_habiles_vencido"]) == (
        5,
        4,
        3,
    )
    assert y["vence_en"].startswith("2027-01-09T04:59:59")
    assert y["entidad_nombre"] == "Ministerio de Salud" and y["nivel"] == "nacional"
    assert y["pais"] == "PE" and y["intervenciones"] == 0


def test_vencidos_con_filtros(api, vencidos):
    def codigos(**filtros) -> list[str]:
        return [i["codigo"] for i in leer_todo(api, 2, **filtros)]

    assert codigos(dias_min=5) == vencidos["y"]
    assert codigos(dias_min=4) == vencidos["y"] + vencidos["x"]
    assert codigos(dias_min=6) == []
    assert codigos(entidad="minsa") == vencidos["y"] + vencidos["z"]
    assert codigos(nivel="regional") == [codigo(210), codigo(212)]
    assert codigos(pais="ES") == [codigo(211)]
    # Two entities (minsa and the consulate): through the overdue index, filtered.
    assert codigos(nivel="nacional") == vencidos["y"] + [codigo(211)] + vencidos["z"]
    assert codigos(nivel="nacional", entidad="gore-cusco") == []
    assert codigos(nivel="local") == []
    r = api.get("/supervision/vencidos", query_string={"cursor": "zzz"}, headers=como("supervisor"))
    assert r.status_code == 422
    r = api.get("/supervision/vencidos", query_string={"nivel": "x"}, headers=como("supervisor"))
    assert r.status_code == 422
    for rol in ("entidad", "operador"):
        assert api.get("/supervision/vencidos", headers=como(rol, "minsa")).status_code == 403


def test_intervencion_contada_por_entidad_y_publicada(plazos_db, api, vencidos):
    c = vencidos["x"][0]
    nota = {"nota": "Atienda este reclamo vencido de inmediato."}
    ruta = f"/supervision/reclamos/{c}/intervencion"
    r = api.post(ruta, json=nota, headers=como("supervisor", **{"Idempotency-Key": "int-1"}))
    assert r.status_code == 201, r.json
    assert r.json["codigo"] == c and r.json["entidad_id"] == "gore-cusco"
    assert r.json["nota"] == nota["nota"]
    assert r.json["registrada_en"].startswith("2027-01-15")
    # The same request again: the same answer, counted once.
    otra = api.post(ruta, json=nota, headers=como("supervisor", **{"Idempotency-Key": "int-1"}))
    assert otra.status_code == 201 and otra.json == r.json
    eventos = eventos_en_outbox(plazos_db, "supervision.intervencion")
    assert len(eventos) == 1
    assert eventos[0]["codigo"] == c
    assert eventos[0]["datos"] == {"entidad_id": "gore-cusco", "nota": nota["nota"]}
    # A second intervention, another entity's one, and the counts.
    assert api.post(ruta, json=nota, headers=como("supervisor")).status_code == 201
    otro = vencidos["y"][0]
    r = api.post(
        f"/supervision/reclamos/{otro}/intervencion", json=nota, headers=como("supervisor")
    )
    assert r.status_code == 201
    cuentas = api.get("/supervision/intervenciones", headers=como("supervisor")).json
    assert cuentas == [
        {"entidad_id": "gore-cusco", "intervenciones": 2},
        {"entidad_id": "minsa", "intervenciones": 1},
    ]
    items = {i["codigo"]: i for i in leer_todo(api, 50)}
    assert items[c]["intervenciones"] == 2

    # Refusals: answered (clock closed), unknown, too short, not a supervisor.
    cerrado = api.post(
        f"/supervision/reclamos/{vencidos['contestado'][0]}/intervencion",
        json=nota,
        headers=como("supervisor"),
    )
    assert cerrado.status_code == 409 and "respondido" in cerrado.json["mensaje"]
    desconocido = f"/supervision/reclamos/{codigo(999)}/intervencion"
    assert api.post(desconocido, json=nota, headers=como("supervisor")).status_code == 404
    assert api.post(ruta, json={"nota": "corta"}, headers=como("supervisor")).status_code == 422
    assert api.post(ruta, json=nota, headers=como("entidad", "gore-cusco")).status_code == 403
    assert api.get("/supervision/intervenciones", headers=como("operador")).status_code == 403
    assert len(eventos_en_outbox(plazos_db, "supervision.intervencion")) == 3


# --- through the gateway ------------------------------------------------------------------------


@pytest.fixture
def gateway(api, plazos_db, mongo_url, _cliente_mongo) -> Iterator[tuple[TestClient, dict]]:
    """The real gateway in front of plazos served over HTTP; keys for each role."""
    from gateway.ajustes import AjustesGateway
    from gateway.app import crear_app
    from gateway.credenciales import crear

    base_gateway = _cliente_mongo[plazos_db.name + "_gw"]
    claves = {
        "operador": crear(base_gateway, "operador", "Operador"),
        "supervisor": crear(base_gateway, "supervisor", "SGP"),
        "entidad": crear(base_gateway, "entidad", "Mesa", entidad="minsa"),
    }
    try:
        with servido(api.application) as url_plazos:
            ajustes = AjustesGateway(
                mongo_url=mongo_url,
                mongo_db=base_gateway.name,
                token_interno=TOKEN,
                url_plazos=url_plazos,
            )
            with TestClient(crear_app(ajustes), base_url="http://prueba/api/v1") as cliente:
                yield cliente, claves
    finally:
        _cliente_mongo.drop_database(base_gateway.name)


def test_gateway_calendario_y_supervision(gateway, vencidos):
    cliente, claves = gateway
    operador = {"X-API-Key": claves["operador"]}
    supervisor = {"X-API-Key": claves["supervisor"]}
    entidad = {"X-API-Key": claves["entidad"]}
    for fecha in ("0", "2026-13-01", "2026-02-30", "20261231"):
        r = cliente.put(
            f"/calendario/dias-no-laborables/{fecha}", json={"motivo": "Decreto"}, headers=operador
        )
        assert r.status_code == 422, fecha
        assert r.json()["error"] == "datos_invalidos"
        assert r.json()["detalle"][0]["campo"] == "path.fecha"
    ruta = "/calendario/dias-no-laborables/2026-12-31"
    r = cliente.put(ruta, json={"motivo": "Decreto Supremo 1"}, headers=operador)
    assert r.status_code == 200 and r.json() == {
        "fecha": "2026-12-31",
        "motivo": "Decreto Supremo 1",
    }
    assert cliente.get("/calendario/dias-no-laborables", headers=supervisor).json() == [
        {"fecha": "2026-12-31", "motivo": "Decreto Supremo 1"}
    ]
    assert cliente.put(ruta, json={"motivo": "Decreto"}, headers=supervisor).status_code == 403
    assert cliente.delete(ruta, headers=operador).json() == {"fecha": "2026-12-31"}
    r = cliente.delete(ruta, headers=operador)
    assert r.status_code == 404 and r.json()["error"] == "no_encontrado"

    pagina = cliente.get("/supervision/vencidos", params={"limite": 2}, headers=supervisor).json()
    assert [i["codigo"] for i in pagina["items"]] == vencidos["y"]
    siguiente = cliente.get(
        "/supervision/vencidos",
        params={"limite": 2, "cursor": pagina["siguiente"]},
        headers=supervisor,
    ).json()
    assert [i["codigo"] for i in siguiente["items"]] == vencidos["x"][:2]
    assert cliente.get("/supervision/vencidos", headers=entidad).status_code == 403
    assert cliente.get("/supervision/vencidos").status_code == 401
    r = cliente.get("/supervision/vencidos", params={"dias_min": -1}, headers=supervisor)
    assert r.status_code == 422

    c = vencidos["z"][0]
    r = cliente.post(
        f"/supervision/reclamos/{c}/intervencion",
        json={"nota": "Responda hoy mismo, por favor."},
        headers={**supervisor, "Idempotency-Key": "gw-1"},
    )
    assert r.status_code == 201 and r.json()["entidad_id"] == "minsa"
    assert cliente.get("/supervision/intervenciones", headers=supervisor).json() == [
        {"entidad_id": "minsa", "intervenciones": 1}
    ]
    vista = cliente.get(f"/plazos/{c}", headers=entidad).json()
    assert vista["vencido"] is True and vista["reloj_pausado"] is False
