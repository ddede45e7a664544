"""Monitoring for the local launcher: a real Prometheus and Alertmanager (Debian packages
`prometheus`, `prometheus-alertmanager`) configured like compose's, without Docker.

What is shared with compose is read from the tree, so both stay the same: the alert rule files
(`rule_files` of `infra/prometheus/prometheus.yml`, plus any `infra/prometheus/alertas*.yml`) and
each job's `metrics_path` and `params` (e.g. which per-queue families the broker's plugin gives).
What differs is where targets come from: compose finds replicas by DNS; here every supervised
process is a file_sd target, with the labels compose adds by relabelling (`componente`, the
compose service's name; `proceso`: web, worker, gateway). A file_sd file can change while
Prometheus runs (it re-reads it), which is how a worker started or stopped by the scaler
(`herramientas.escalado`) joins or leaves the scrape without a reload.

Prometheus reads JSON as YAML, so the generated files are written as JSON (no YAML writer).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

RAIZ = Path(__file__).resolve().parent.parent
PROMETHEUS_REPO = RAIZ / "infra" / "prometheus" / "prometheus.yml"
# Where compose mounts infra/prometheus/ (rule_files may name it).
PROMETHEUS_EN_COMPOSE = "/etc/prometheus/"
INTERVALO = "5s"  # local runs: short scrape and evaluation, so a test sees data soon
INSTALAR = "sudo apt-get install prometheus prometheus-alertmanager"

# The jobs whose targets are the launcher's programs, and the `proceso` label of each.
TRABAJOS = {"servicios-web": "web", "servicios-worker": "worker", "gateway": "gateway"}
# Per-queue families when the repo's config does not say (compose's choice).
FAMILIAS_COLAS = ["queue_coarse_metrics", "queue_consumer_count"]


def binario(*nombres: str) -> str | None:
    """The first of `nombres` on PATH (Debian names Alertmanager `prometheus-alertmanager`)."""
    for nombre in nombres:
        ruta = shutil.which(nombre)
        if ruta:
            return ruta
    return None


def aviso_sin_monitoreo(faltan: list[str]) -> str:
    return (
        f"Monitoreo apagado: no encontré {' ni '.join(faltan)}. La plataforma funciona igual, sin "
        f"Prometheus ni Alertmanager locales. Para tenerlos (Debian): {INSTALAR}"
    )


def _config_repo() -> dict[str, Any]:
    """The compose Prometheus configuration, or {} where PyYAML is missing or it does not parse
    (the rule files are then found by the glob alone)."""
    try:
        import yaml  # the launcher's `local` extra; not needed by the services
    except ImportError:
        return {}
    try:
        return yaml.safe_load(PROMETHEUS_REPO.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _es_archivo_de_reglas(ruta: Path) -> bool:
    """A rules file has top-level `groups`; promtool's unit-test files (`rule_files`, `tests`)
    would make Prometheus refuse to start."""
    try:
        import yaml
    except ImportError:
        return "groups:" in ruta.read_text()
    try:
        contenido = yaml.safe_load(ruta.read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(contenido, dict) and "groups" in contenido


def archivos_de_reglas() -> list[Path]:
    """Every alert/recording rule file of the tree, as absolute paths: what the compose config
    lists in `rule_files` (relative to its folder, or under compose's /etc/prometheus/), and
    any `infra/prometheus/alertas*.yml`."""
    carpeta = PROMETHEUS_REPO.parent
    patrones = []
    for patron in _config_repo().get("rule_files") or []:
        patron = str(patron)
        if patron.startswith(PROMETHEUS_EN_COMPOSE):
            patron = patron[len(PROMETHEUS_EN_COMPOSE) :]
        patrones.append(str(carpeta / patron))
    patrones.append(str(carpeta / "alertas*.yml"))
    vistos: dict[Path, None] = {}
    for patron in patrones:
        for ruta in sorted(glob.glob(patron)):
            camino = Path(ruta).resolve()
            if camino.is_file() and _es_archivo_de_reglas(camino):
                vistos[camino] = None
    return list(vistos)


def _del_repo(trabajo: str) -> dict[str, Any]:
    """`metrics_path` and `params` of the compose job with this name (nothing else: its targets
    and relabelling are compose's)."""
    for config in _config_repo().get("scrape_configs") or []:
        if config.get("job_name") == trabajo:
            return {k: config[k] for k in ("metrics_path", "params") if k in config}
    return {}


def configuracion_prometheus(
    carpeta: Path,
    prometheus: str,
    alertmanager: str,
    rabbitmq: str,
    vhost: str,
    bus: str,
) -> dict[str, Any]:
    """Prometheus's configuration: `carpeta` holds the file_sd files (`objetivos/<job>.json`);
    the other arguments are host:port addresses, the broker's vhost and the bus's name prefix."""
    objetivos = carpeta / "objetivos"
    trabajos: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": [prometheus]}]},
        {"job_name": "alertmanager", "static_configs": [{"targets": [alertmanager]}]},
    ]
    for trabajo in TRABAJOS:
        trabajos.append(
            {
                "job_name": trabajo,
                "metrics_path": "/metrics",
                "file_sd_configs": [{"files": [str(objetivos / f"{trabajo}.json")]}],
            }
        )
    trabajos.append(
        {
            "job_name": "rabbitmq",
            "metrics_path": "/metrics",
            **_del_repo("rabbitmq"),
            "static_configs": [{"targets": [rabbitmq], "labels": {"componente": "rabbitmq"}}],
        }
    )
    colas = {
        "job_name": "rabbitmq-colas",
        "metrics_path": "/metrics/detailed",
        "params": {"vhost": [vhost], "family": FAMILIAS_COLAS},
        **_del_repo("rabbitmq-colas"),
        "static_configs": [{"targets": [rabbitmq], "labels": {"componente": "rabbitmq"}}],
        # The broker is shared (other runs, other test prefixes): only this platform's queues,
        # so another run's parked messages do not raise this platform's alerts.
        "metric_relabel_configs": [
            {"source_labels": ["queue"], "regex": rf"{re.escape(bus)}\..+", "action": "keep"}
        ],
    }
    colas["params"] = {**colas["params"], "vhost": [vhost]}
    trabajos.append(colas)
    return {
        "global": {
            "scrape_interval": INTERVALO,
            "scrape_timeout": INTERVALO,
            "evaluation_interval": INTERVALO,
            "external_labels": {"plataforma": "reclamos"},
        },
        "rule_files": [str(ruta) for ruta in archivos_de_reglas()],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": trabajos,
    }


def configuracion_alertmanager(smtp: str) -> dict[str, Any]:
    """Alertmanager's configuration: every alert by mail to the local SMTP catcher (`smtp`,
    host:port), so an operator reads it in the captured mail folder; a new alert is mailed after
    10 s, a still-firing one again every 4 h."""
    return {
        "global": {
            "smtp_smarthost": smtp,
            "smtp_from": "alertas@plataforma.local",
            "smtp_require_tls": False,
        },
        "route": {
            "receiver": "operaciones",
            "group_by": ["alertname", "servicio"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "operaciones",
                "email_configs": [{"to": "operaciones@plataforma.local", "send_resolved": True}],
            }
        ],
    }


def escribir_json(ruta: Path, contenido: Any) -> None:
    """Atomically (a reader never sees half a file: Prometheus re-reads file_sd files as they
    change)."""
    ruta.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporal = tempfile.mkstemp(dir=ruta.parent, prefix=f".{ruta.name}.")
    try:
        with os.fdopen(descriptor, "w") as archivo:
            json.dump(contenido, archivo, indent=2, ensure_ascii=False)
        os.replace(temporal, ruta)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporal)
        raise


def catalogo(carpeta: Path) -> dict[str, dict[str, Any]]:
    return json.loads((carpeta / "objetivos" / "catalogo.json").read_text())


def escribir_objetivos(
    carpeta: Path, activos: set[str], todos: dict[str, dict[str, Any]] | None = None
) -> None:
    """The file_sd files: one per job, listing the programs in `activos`. `todos` (program →
    job, address, labels) is kept in `objetivos/catalogo.json` the first time, so the scaler,
    another process, can rewrite the files knowing only which programs run."""
    if todos is not None:
        escribir_json(carpeta / "objetivos" / "catalogo.json", todos)
    else:
        todos = catalogo(carpeta)
    for trabajo in TRABAJOS:
        grupos = [
            {"targets": [datos["direccion"]], "labels": datos["etiquetas"]}
            for nombre, datos in sorted(todos.items())
            if datos["trabajo"] == trabajo and nombre in activos
        ]
        escribir_json(carpeta / "objetivos" / f"{trabajo}.json", grupos)


def objetivo(nombre: str, direccion: str) -> dict[str, Any]:
    """A program's entry in the catalogue: its job and the labels compose gives it. A scaled
    worker (`plazos-worker-2`) is one more replica of the compose service `plazos-worker`."""
    componente = re.sub(r"-\d+$", "", nombre)
    proceso = "gateway" if componente == "gateway" else componente.rsplit("-", 1)[1]
    trabajo = {"web": "servicios-web", "worker": "servicios-worker"}.get(proceso, "gateway")
    return {
        "trabajo": trabajo,
        "direccion": direccion,
        "etiquetas": {"componente": componente, "proceso": TRABAJOS[trabajo]},
    }
