"""The launcher's monitoring and scaling programs and their configuration, without starting
anything: what runs when the binaries are missing, the ports of a block, the Prometheus
configuration made from the tree (promtool checks it), and the labels compose gives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from herramientas import monitoreo
from herramientas.local import MAX_WORKERS, SERVICIOS, Plataforma, Puertos


def test_sin_binarios_la_plataforma_arranca_sin_monitoreo_y_dice_como_instalarlo(
    tmp_path: Path,
) -> None:
    p = Plataforma(carpeta=tmp_path, monitoreo=True, prometheus_bin=None)
    nombres = {prog.nombre for prog in p.programas()}
    assert "prometheus" not in nombres and "alertmanager" not in nombres
    assert "gateway" in nombres and "registro-worker" in nombres
    aviso = p.aviso_monitoreo()
    assert aviso is not None and "prometheus" in aviso
    assert "apt-get install prometheus prometheus-alertmanager" in aviso
    assert Plataforma(carpeta=tmp_path).aviso_monitoreo() is None  # not asked for
    assert p.puertos.prometheus not in p.puertos_propios()


def test_monitoreo_y_escalador_son_programas_sin_el_entorno_comun(tmp_path: Path) -> None:
    p = Plataforma(
        carpeta=tmp_path,
        monitoreo=True,
        escalado=True,
        prometheus_bin="/usr/bin/prometheus",
        alertmanager_bin="/usr/bin/prometheus-alertmanager",
        workers_max={"derivacion": 3},
    )
    programas = {prog.nombre: prog for prog in p.programas()}
    assert programas["prometheus"].nivel == "monitoreo"
    assert f"--web.listen-address=127.0.0.1:{p.puertos.prometheus}" in (
        programas["prometheus"].comando
    )
    assert "--cluster.listen-address=" in programas["alertmanager"].comando
    assert programas["escalador"].comando[-6:] == ["--min", "1", "--max", "3", "--bus", "pdr"]
    # The extra workers are declared, stopped.
    assert [programas[f"derivacion-worker-{n}"].autostart for n in (2, 3)] == [False, False]
    assert "plazos-worker-2" not in programas
    configuracion = p._configuracion(tmp_path / "s.sock")
    seccion = configuracion.split("[program:prometheus]")[1].split("[program:")[0]
    assert "TOKEN_INTERNO" not in seccion and "environment=" not in seccion
    seccion = configuracion.split("[program:derivacion-worker-3]")[1].split("[program:")[0]
    assert "autostart=false" in seccion and p.token_interno in seccion


def test_un_bloque_de_puertos_no_se_pisa() -> None:
    p = Puertos.desde(20000)
    todos = p.todos(MAX_WORKERS)
    assert len(todos) == len(set(todos))
    assert min(todos) == 20000 and max(todos) < 20100
    assert (p.prometheus, p.alertmanager) == (20002, 20003)
    # The 2nd worker of registro (i=1) as before: metricas_replicas + 1; the 7th of encuestas.
    assert p.metricas_worker(1, 2) == 20041
    assert p.metricas_worker(5, MAX_WORKERS) == 20040 + 10 * (MAX_WORKERS - 2) + 5
    assert Puertos().todos()[:4] == [8000, 1025, 9090, 9093]


def test_demasiados_workers_es_un_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="entre 1 y"):
        Plataforma(carpeta=tmp_path, workers_max={"plazos": MAX_WORKERS + 1})
    with pytest.raises(ValueError):
        Plataforma(carpeta=tmp_path, workers={"no-existe": 2})


def test_etiquetas_como_las_de_compose() -> None:
    assert monitoreo.objetivo("plazos-worker-2", "127.0.0.1:9213") == {
        "trabajo": "servicios-worker",
        "direccion": "127.0.0.1:9213",
        "etiquetas": {"componente": "plazos-worker", "proceso": "worker"},
    }
    assert monitoreo.objetivo("registro-web", "x:1")["etiquetas"] == {
        "componente": "registro-web",
        "proceso": "web",
    }
    assert monitoreo.objetivo("gateway", "x:2")["trabajo"] == "gateway"


def test_configuracion_de_prometheus_valida_con_las_reglas_del_arbol(tmp_path: Path) -> None:
    configuracion = monitoreo.configuracion_prometheus(
        tmp_path,
        prometheus="127.0.0.1:9090",
        alertmanager="127.0.0.1:9093",
        rabbitmq="127.0.0.1:15692",
        vhost="/",
        bus="e2e-1a2b",
    )
    # The rule files: whatever the compose config lists, plus alertas*.yml, never a promtool
    # test file.
    raiz = Path(__file__).resolve().parents[2] / "infra" / "prometheus"
    repo = yaml.safe_load((raiz / "prometheus.yml").read_text())
    listados = {(raiz / f).resolve() for f in repo.get("rule_files") or []}
    listados |= {f.resolve() for f in raiz.glob("alertas*.yml")}
    assert {Path(f) for f in configuracion["rule_files"]} == listados
    trabajos = {t["job_name"]: t for t in configuracion["scrape_configs"]}
    colas = trabajos["rabbitmq-colas"]
    assert colas["metrics_path"] == "/metrics/detailed"
    assert colas["params"]["vhost"] == ["/"]
    compose = next(t for t in repo["scrape_configs"] if t["job_name"] == "rabbitmq-colas")
    assert colas["params"]["family"] == compose["params"]["family"]
    assert colas["metric_relabel_configs"][0]["regex"] == r"e2e\-1a2b\..+"
    assert trabajos["servicios-worker"]["file_sd_configs"] == [
        {"files": [str(tmp_path / "objetivos" / "servicios-worker.json")]}
    ]
    if not shutil.which("promtool"):
        pytest.skip("falta promtool (Debian: sudo apt-get install prometheus)")
    archivo = tmp_path / "prometheus.yml"
    monitoreo.escribir_json(archivo, configuracion)
    monitoreo.escribir_objetivos(
        tmp_path,
        {"gateway"},
        {"gateway": monitoreo.objetivo("gateway", "127.0.0.1:8000")},
    )
    r = subprocess.run(
        ["promtool", "check", "config", str(archivo)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((tmp_path / "objetivos" / "gateway.json").read_text()) == [
        {"targets": ["127.0.0.1:8000"], "labels": {"componente": "gateway", "proceso": "gateway"}}
    ]
    assert json.loads((tmp_path / "objetivos" / "servicios-web.json").read_text()) == []


def test_cada_servicio_tiene_sus_programas(tmp_path: Path) -> None:
    nombres = {prog.nombre for prog in Plataforma(carpeta=tmp_path).programas()}
    for servicio in SERVICIOS:
        assert {f"{servicio}-web", f"{servicio}-worker"} <= nombres
