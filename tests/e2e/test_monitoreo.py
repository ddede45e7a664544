"""Every dashboard panel and every alert rule of the tree, proven against the real Prometheus the
launcher runs (Debian's `prometheus` and `prometheus-alertmanager`), after traffic through the
gateway: each panel query returns data (an error ratio returns 0 on a healthy platform, not
nothing), each alert expression evaluates, no alert fires, every target is up and the
Alertmanager is reached.

The panels and rules are read from the tree when the tests are collected
(`infra/grafana/dashboards/plataforma.json`, every rules file under `infra/prometheus/`), so
whatever they hold is what is checked: one test per panel query and one per alert.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from herramientas.local import RAIZ, SERVICIOS, Plataforma
from tests.e2e.test_vida_de_un_reclamo import DNI, hoja
from tests.esperas import esperar
from tests.plataforma import plataforma_de_prueba

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not (shutil.which("prometheus") and shutil.which("prometheus-alertmanager")),
        reason="faltan prometheus y prometheus-alertmanager "
        "(Debian: sudo apt-get install prometheus prometheus-alertmanager)",
    ),
]

TABLERO = RAIZ / "infra" / "grafana" / "dashboards" / "plataforma.json"
REGLAS = RAIZ / "infra" / "prometheus"
# Alerts allowed to fire on the healthy platform this module starts. None: each one that fires
# here would page an operator for nothing.
ALERTAS_ESPERADAS: set[str] = set()
# Grafana's built-in variables, as it would fill them for a 5 s scrape over the last hour.
INTERNAS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
RECLAMOS = 3


def _paneles(tablero: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in tablero.get("panels", []):
        yield panel
        yield from _paneles(panel)  # panels inside a collapsed row


def _variables(tablero: dict[str, Any]) -> dict[str, str]:
    """Each template variable as Grafana fills it with "All" selected (its allValue), or with
    its current value."""
    valores = {}
    for variable in tablero.get("templating", {}).get("list", []):
        actual = (variable.get("current") or {}).get("value")
        if isinstance(actual, list):
            actual = actual[0] if actual else None
        if variable.get("includeAll") and (actual in (None, "$__all") or variable.get("allValue")):
            valores[variable["name"]] = variable.get("allValue") or ".*"
        else:
            valores[variable["name"]] = str(actual)
    return valores


def sustituir(expresion: str, variables: dict[str, str]) -> str:
    """A panel's query with `$var`, `${var}`, `${var:fmt}` and `[[var]]` filled in; an unknown
    variable is an error, not an empty string."""
    conocidas = {**INTERNAS, **variables}

    def valor(encontrado: re.Match[str]) -> str:
        nombre = encontrado.group(1) or encontrado.group(2) or encontrado.group(3)
        if nombre not in conocidas:
            raise ValueError(f"variable desconocida ${nombre} en {expresion!r}")
        return conocidas[nombre]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", valor, expresion)


def consultas_de_paneles() -> list[Any]:
    tablero = json.loads(TABLERO.read_text())
    variables = _variables(tablero)
    casos = []
    for panel in _paneles(tablero):
        for objetivo in panel.get("targets", []):
            if "expr" in objetivo and not objetivo.get("hide"):
                expresion = sustituir(objetivo["expr"], variables)
                nombre = f"{panel.get('title', '?')} [{objetivo.get('refId', '?')}]"
                casos.append(pytest.param(expresion, id=nombre))
    return casos


def archivos_de_reglas() -> list[Path]:
    """Every rules file under infra/prometheus/ (top-level `groups`; promtool's test files
    have `tests` instead)."""
    archivos = []
    for ruta in sorted(REGLAS.rglob("*.y*ml")):
        contenido = yaml.safe_load(ruta.read_text())
        if isinstance(contenido, dict) and "groups" in contenido:
            archivos.append(ruta)
    return archivos


def reglas() -> list[dict[str, Any]]:
    todas = []
    for ruta in archivos_de_reglas():
        for grupo in yaml.safe_load(ruta.read_text())["groups"]:
            todas += grupo.get("rules", [])
    return todas


def alertas() -> list[Any]:
    return [pytest.param(r["expr"], id=r["alert"]) for r in reglas() if "alert" in r]


@pytest.fixture(scope="module")
def monitoreada(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plataforma]:
    with plataforma_de_prueba(
        amqp_url,
        tmp_path_factory.mktemp("monitoreo"),
        "monitoreo",
        entorno_extra={"LIMITE_RECLAMOS_POR_DOCUMENTO_POR_DIA": "100000"},
        monitoreo=True,
    ) as p:
        yield p


def consultar(p: Plataforma, expresion: str) -> list[dict[str, Any]]:
    r = httpx.get(p.url_prometheus + "/api/v1/query", params={"query": expresion}, timeout=20)
    cuerpo = r.json()
    assert r.status_code == 200 and cuerpo["status"] == "success", (expresion, cuerpo)
    return cuerpo["data"]["result"]


@pytest.fixture(scope="module")
def trafico(monitoreada: Plataforma) -> Plataforma:
    """Reclamos filed and tracked through the gateway until derivation shows, one tracking with
    the wrong document (404), then scrapes that saw all of it."""
    api = httpx.Client(base_url=monitoreada.url + "/api/v1", timeout=20)
    codigos = []
    for _ in range(RECLAMOS):
        r = api.post("/reclamos", json=hoja())
        assert r.status_code == 201, r.text
        codigos.append(r.json()["codigo"])
    for codigo in codigos:
        esperar(
            lambda codigo=codigo: (
                api.post("/seguimiento", json={"codigo": codigo, "numero_documento": DNI}).json()[
                    "estado"
                ]
                == "derivado"
            ),
            f"{codigo} derivado en el seguimiento",
            plazo=60,
        )
    ajeno = api.post("/seguimiento", json={"codigo": codigos[0], "numero_documento": "11111111"})
    assert ajeno.status_code == 404, ajeno.text
    api.close()
    # Scraped after the traffic: the gateway's 404 and every worker's handled events are in.
    esperar(
        lambda: consultar(monitoreada, 'http_solicitudes_total{servicio="gateway", estado="404"}'),
        "Prometheus vio el 404 del gateway",
        plazo=60,
    )
    esperar(
        lambda: (
            len(consultar(monitoreada, "sum by (servicio) (eventos_procesados_total)"))
            >= len(SERVICIOS) - 1
        ),  # encuestas hears nothing until a reclamo is answered
        "Prometheus vio eventos procesados por los workers",
        plazo=60,
    )
    return monitoreada


def test_prometheus_mide_cada_proceso_y_alcanza_al_alertmanager(trafico: Plataforma) -> None:
    p = trafico
    # 5 webs, 5 workers, the gateway, the broker twice (node and per queue), itself, Alertmanager.
    esperados = {"servicios-web": 5, "servicios-worker": 5, "gateway": 1, "rabbitmq": 1}
    esperados |= {"rabbitmq-colas": 1, "prometheus": 1, "alertmanager": 1}

    def objetivos() -> list[dict[str, Any]]:
        datos = httpx.get(p.url_prometheus + "/api/v1/targets", timeout=10).json()["data"]
        return datos["activeTargets"]

    esperar(lambda: all(o["health"] == "up" for o in objetivos()), "todos los objetivos up")
    vistos: dict[str, int] = {}
    for objetivo in objetivos():
        trabajo = objetivo["labels"]["job"]
        vistos[trabajo] = vistos.get(trabajo, 0) + 1
        assert objetivo["health"] == "up", objetivo
    assert vistos == esperados
    componentes = {
        o["labels"].get("componente") for o in objetivos() if o["labels"]["job"] != "prometheus"
    }
    assert {f"{s}-web" for s in SERVICIOS} | {f"{s}-worker" for s in SERVICIOS} <= componentes

    gestores = httpx.get(p.url_prometheus + "/api/v1/alertmanagers", timeout=10).json()["data"]
    assert [a["url"] for a in gestores["activeAlertmanagers"]] == [
        f"{p.url_alertmanager}/api/v2/alerts"
    ]
    assert gestores["droppedAlertmanagers"] == []
    assert httpx.get(p.url_alertmanager + "/-/ready", timeout=5).status_code == 200
    # Reached, not just configured: Prometheus counts it as discovered and sent nothing in vain.
    descubiertos = consultar(p, "prometheus_notifications_alertmanagers_discovered")
    assert [m["value"][1] for m in descubiertos] == ["1"]
    assert [m["value"][1] for m in consultar(p, "prometheus_notifications_errors_total")] in (
        [],
        ["0"],
    )


@pytest.mark.parametrize("expresion", consultas_de_paneles())
def test_cada_panel_del_tablero_devuelve_datos(trafico: Plataforma, expresion: str) -> None:
    # A few scrapes of slack: a rate needs two samples of a series born with the traffic.
    resultado = esperar(lambda: consultar(trafico, expresion), f"datos para {expresion}", 20)
    assert resultado


def test_la_proporcion_de_errores_es_cero_en_una_plataforma_sana(trafico: Plataforma) -> None:
    """The 5xx-ratio panels (a query over estado=~"5..") show 0, not "No data": the platform had
    requests and none failed."""
    paneles = [c.values[0] for c in consultas_de_paneles() if '"5.."' in c.values[0]]
    assert paneles, "el tablero no tiene un panel de la proporción de errores 5xx"
    for expresion in paneles:
        resultado = esperar(
            lambda e=expresion: consultar(trafico, e), f"datos para {expresion}", 20
        )
        assert {float(m["value"][1]) for m in resultado} == {0.0}, resultado


def test_prometheus_cargo_cada_regla_del_arbol(trafico: Plataforma) -> None:
    datos = httpx.get(trafico.url_prometheus + "/api/v1/rules", timeout=10).json()["data"]
    cargadas = [regla for grupo in datos["groups"] for regla in grupo["rules"]]
    nombres = sorted(r.get("alert") or r.get("record") for r in reglas())
    assert sorted(r["name"] for r in cargadas) == nombres
    for regla in cargadas:
        # Evaluated at least once, without error.
        esperar(
            lambda nombre=regla["name"]: _regla(trafico, nombre)["health"] == "ok",
            f"la regla {regla['name']} evaluada sin error",
            plazo=30,
        )


def _regla(p: Plataforma, nombre: str) -> dict[str, Any]:
    datos = httpx.get(p.url_prometheus + "/api/v1/rules", timeout=10).json()["data"]
    return next(r for g in datos["groups"] for r in g["rules"] if r["name"] == nombre)


@pytest.mark.parametrize("expresion", alertas())
def test_cada_alerta_se_evalua(trafico: Plataforma, expresion: str) -> None:
    consultar(trafico, expresion)  # fails on a parse or evaluation error


def test_ninguna_alerta_suena_en_una_plataforma_sana(trafico: Plataforma) -> None:
    datos = httpx.get(trafico.url_prometheus + "/api/v1/alerts", timeout=10).json()["data"]
    sonando = {a["labels"]["alertname"] for a in datos["alerts"] if a["state"] == "firing"}
    assert sonando <= ALERTAS_ESPERADAS, datos["alerts"]
    recibidas = httpx.get(trafico.url_alertmanager + "/api/v2/alerts", timeout=10).json()
    assert {a["labels"]["alertname"] for a in recibidas} <= ALERTAS_ESPERADAS, recibidas
