"""The Prometheus configuration, the alert rules and their unit tests, checked by promtool (the
Debian `prometheus` package): the config loads with its rule files, every rule parses, and every
alert fires on a synthetic unhealthy series and stays silent on a healthy one
(infra/prometheus/pruebas/alertas_test.yml). Also: that file covers every alert both ways, and
every alert carries a severity, a summary and a description."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RAIZ = Path(__file__).resolve().parents[2]
PROMETHEUS = RAIZ / "infra" / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
PRUEBAS = PROMETHEUS / "pruebas" / "alertas_test.yml"
PROMTOOL = shutil.which("promtool")

requiere_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool no está instalado (Debian: apt-get install prometheus)",
)


def _archivos_de_reglas() -> list[Path]:
    config = yaml.safe_load(CONFIG.read_text())
    return [PROMETHEUS / nombre for nombre in config["rule_files"]]


def _alertas() -> dict[str, dict]:
    return {
        regla["alert"]: regla
        for archivo in _archivos_de_reglas()
        for grupo in yaml.safe_load(archivo.read_text())["groups"]
        for regla in grupo["rules"]
        if "alert" in regla
    }


def _promtool(*argumentos: str) -> str:
    assert PROMTOOL is not None
    resultado = subprocess.run(
        [PROMTOOL, *argumentos],
        cwd=RAIZ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    salida = resultado.stdout + resultado.stderr
    assert resultado.returncode == 0, f"promtool {' '.join(argumentos)} falló:\n{salida}"
    return salida


@requiere_promtool
def test_la_configuracion_de_prometheus_es_valida():
    salida = _promtool("check", "config", str(CONFIG))
    assert f"SUCCESS: {len(_archivos_de_reglas())} rule files found" in salida


@requiere_promtool
def test_las_reglas_son_validas():
    archivos = _archivos_de_reglas()
    assert archivos, "prometheus.yml no carga ningún archivo de reglas"
    salida = _promtool("check", "rules", *map(str, archivos))
    assert salida.count("SUCCESS:") == len(archivos), salida


@requiere_promtool
def test_cada_alerta_dispara_con_una_serie_enferma_y_calla_con_una_sana():
    salida = _promtool("test", "rules", str(PRUEBAS))
    assert "SUCCESS" in salida and "FAILED" not in salida


def test_cada_alerta_tiene_su_prueba_en_los_dos_sentidos():
    pruebas = yaml.safe_load(PRUEBAS.read_text())
    dispara: set[str] = set()
    calla: set[str] = set()
    for grupo in pruebas["tests"]:
        for caso in grupo.get("alert_rule_test", []):
            (dispara if caso.get("exp_alerts") else calla).add(caso["alertname"])
    alertas = set(_alertas())
    assert alertas, "no hay alertas"
    assert alertas - dispara == set(), "alertas sin una prueba en que disparen"
    assert alertas - calla == set(), "alertas sin una prueba en que callen"
    # The test file loads the same rule files prometheus.yml loads.
    cargadas = {(PRUEBAS.parent / r).resolve() for r in pruebas["rule_files"]}
    assert cargadas == {archivo.resolve() for archivo in _archivos_de_reglas()}


def test_cada_alerta_tiene_severidad_resumen_y_descripcion():
    for nombre, regla in _alertas().items():
        assert regla["labels"]["severity"] in ("critica", "aviso"), nombre
        anotaciones = regla["annotations"]
        assert anotaciones["summary"].strip() and anotaciones["description"].strip(), nombre


@pytest.mark.skipif(
    shutil.which("amtool") is None,
    reason="amtool no está instalado (Debian: apt-get install prometheus-alertmanager)",
)
def test_la_configuracion_de_alertmanager_es_valida():
    archivo = RAIZ / "infra" / "alertmanager" / "alertmanager.yml"
    resultado = subprocess.run(
        ["amtool", "check-config", str(archivo)], capture_output=True, text=True, timeout=60
    )
    assert resultado.returncode == 0, resultado.stdout + resultado.stderr
    assert "SUCCESS" in resultado.stdout
