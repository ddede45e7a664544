"""The deployment, checked offline (no Docker engine, no cluster): compose.yaml against the Compose
schema and the rules an operator relies on (health checks, --scale, one public port, secrets as
files, volumes a `down -v` cannot delete, pinned images, the dev profile), the Kubernetes manifests
against the API's schemas, the lock files against pyproject.toml, and the settings' X_FILE
secrets. Expected sets are written here from the design, not read from the files under test."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import pika
import pytest
import yaml
from pydantic import ValidationError
from pymongo.uri_parser import parse_uri

from comun.ajustes import Ajustes
from gateway.ajustes import AjustesGateway
from servicios.notificaciones.ajustes import AjustesNotificaciones

RAIZ = Path(__file__).resolve().parents[2]
K8S = RAIZ / "infra" / "k8s"
COMPOSE = yaml.safe_load((RAIZ / "compose.yaml").read_text(encoding="utf-8"))
SERVICIOS: dict[str, dict] = COMPOSE["services"]

# DESIGN.md §1: five services, each a web and a worker process, and the gateway.
NOMBRES = ("registro", "derivacion", "plazos", "notificaciones", "encuestas")
PROCESOS = {f"{s}-{tipo}" for s in NOMBRES for tipo in ("web", "worker")} | {"gateway"}
WEBS = {f"{s}-web" for s in NOMBRES} | {"gateway"}
# Kubernetes versions the manifests must be valid for: an old one still common on managed
# clusters, and the newest schemas kubernetes-validate ships.
VERSIONES_K8S = ("1.30.0", "1.37.0")
# Development and local-only packages: none may reach the runtime lock (and so the image).
SOLO_DESARROLLO = {
    "pytest",
    "pytest-timeout",
    "ruff",
    "mypy",
    "schemathesis",
    "aiosmtpd",
    "supervisor",
    "secantusdb",
    "honcho",
    "uv",
    "check-jsonschema",
    "kubernetes-validate",
    "openapi-python-client",
    "psutil",
}


# --- compose ------------------------------------------------------------------------------------


def _check_jsonschema(archivo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(archivo),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_cumple_el_esquema_de_compose(tmp_path: Path) -> None:
    resultado = _check_jsonschema(RAIZ / "compose.yaml")
    assert resultado.returncode == 0, resultado.stdout + resultado.stderr
    # The validator does reject: a misspelled key in a copy fails.
    roto = dict(COMPOSE, services=dict(SERVICIOS, gateway={"image": "x:1.0.0", "portz": ["80"]}))
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(roto), encoding="utf-8")
    assert _check_jsonschema(tmp_path / "compose.yaml").returncode != 0


def test_compose_corre_cada_proceso_de_la_plataforma() -> None:
    propios = {nombre for nombre, s in SERVICIOS.items() if "build" in s}
    assert propios == PROCESOS


def test_cada_servicio_tiene_healthcheck() -> None:
    sin = [n for n, s in SERVICIOS.items() if not s.get("healthcheck", {}).get("test")]
    assert sin == []
    assert not any(s["healthcheck"].get("disable") for s in SERVICIOS.values())


def test_cada_servicio_tiene_limites_de_cpu_y_memoria() -> None:
    for nombre, servicio in SERVICIOS.items():
        limites = servicio.get("deploy", {}).get("resources", {}).get("limits", {})
        assert float(limites.get("cpus", 0)) > 0, nombre
        assert re.fullmatch(r"\d+[MG]", str(limites.get("memory", ""))), nombre


def test_los_procesos_escalan_sin_nombres_ni_puertos_fijos() -> None:
    for nombre in PROCESOS:
        servicio = SERVICIOS[nombre]
        for clave in ("container_name", "hostname", "ports"):
            assert clave not in servicio, f"{nombre} tiene {clave}: --scale choca"


def _interfaces(puerto: str | dict) -> str:
    """The host address a published port listens on ("" = every interface)."""
    if isinstance(puerto, dict):
        return puerto.get("host_ip", "")
    partes = str(puerto).split(":")
    return partes[0] if len(partes) == 3 else ""


def test_solo_el_proxy_publica_en_todas_las_interfaces() -> None:
    publicos = {
        nombre
        for nombre, servicio in SERVICIOS.items()
        for puerto in servicio.get("ports", [])
        if _interfaces(puerto) not in ("127.0.0.1", "::1")
    }
    assert publicos == {"proxy"}
    assert {"80:80", "443:443"} <= set(SERVICIOS["proxy"]["ports"])
    # The gateway is reached only through the proxy's network, and trusts only that network.
    assert SERVICIOS["gateway"]["networks"] == ["interna", "borde"]
    assert SERVICIOS["proxy"]["networks"] == ["borde"]
    borde = COMPOSE["networks"]["borde"]["ipam"]["config"][0]["subnet"]
    assert SERVICIOS["gateway"]["environment"]["PROXIES_DE_CONFIANZA"] == borde


def test_los_secretos_llegan_como_archivos() -> None:
    declarados = set(COMPOSE["secrets"])
    usados: set[str] = set()
    for nombre, servicio in SERVICIOS.items():
        propios = set(servicio.get("secrets", []))
        assert propios <= declarados, nombre
        usados |= propios
        entorno = servicio.get("environment", {})
        for clave, valor in entorno.items():
            if clave.endswith("_FILE"):
                secreto = str(valor).removeprefix("/run/secrets/")
                assert secreto in propios, f"{nombre}: {clave} apunta a {valor}"
            # No password in the environment, nor inside a URL.
            assert not re.search(r"(PASSWORD|CLAVE|TOKEN_INTERNO)$", clave), f"{nombre}: {clave}"
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", str(valor)), f"{nombre}: {clave}"
    assert usados == declarados
    esperados = {
        "token_interno",
        "rabbitmq_clave",
        "mongo_root_clave",
        "mongo_app_clave",
        "mongo_keyfile",
        "smtp_clave",
        "grafana_admin_clave",
        "alertmanager_smtp_clave",
        "alertmanager_webhook_token",
    }
    assert declarados == esperados
    # Every file Alertmanager's configuration reads is mounted in its container.
    config_alertas = (RAIZ / "infra" / "alertmanager" / "alertmanager.yml").read_text()
    leidos = set(re.findall(r"/run/secrets/([\w-]+)", config_alertas))
    assert leidos and leidos <= set(SERVICIOS["alertmanager"]["secrets"])
    assert all("file" in s for s in COMPOSE["secrets"].values())
    entorno_grafana = SERVICIOS["grafana"]["environment"]
    assert entorno_grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_clave"
    # Only the worker that sends mail holds the SMTP password.
    con_smtp = {n for n, s in SERVICIOS.items() if "smtp_clave" in s.get("secrets", [])}
    assert con_smtp == {"notificaciones-worker"}


def test_mongo_con_autenticacion_y_replica() -> None:
    mongo = SERVICIOS["mongo"]
    comando = mongo["command"]
    assert comando[comando.index("--replSet") + 1] == "rs0"
    assert "--keyFile" in comando
    assert (
        mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == "/run/secrets/mongo_root_clave"
    )
    url = SERVICIOS["registro-web"]["environment"]["MONGO_URL"]
    assert parse_uri(url)["options"]["replicaSet"] == "rs0"
    assert parse_uri(url)["options"]["authSource"] == "admin"
    # The app user's databases: every service's own and the gateway's.
    script = (RAIZ / "infra/mongo/initdb/10-usuario-plataforma.js").read_text(encoding="utf-8")
    bases = set(re.findall(r'"(\w+)"', script.split("const bases")[1].split(";")[0]))
    assert bases == {*NOMBRES, "gateway"}
    assert {SERVICIOS[p]["environment"]["MONGO_DB"] for p in PROCESOS} == bases


def test_los_volumenes_de_datos_son_externos() -> None:
    for nombre, volumen in COMPOSE["volumes"].items():
        assert volumen.get("external") is True, nombre
        assert volumen.get("name", "").startswith("pdr-"), nombre
    for nombre, servicio in SERVICIOS.items():
        for montaje in servicio.get("volumes", []):
            origen = montaje["source"] if isinstance(montaje, dict) else montaje.split(":")[0]
            if not origen.startswith((".", "/")):
                assert origen in COMPOSE["volumes"], f"{nombre}: {origen}"


def test_las_imagenes_tienen_version_exacta() -> None:
    for nombre, servicio in SERVICIOS.items():
        if "build" in servicio:
            continue
        assert re.search(r":v?\d+\.\d+\.\d+(-[a-z]+)?$", servicio["image"]), nombre
    dockerfile = (RAIZ / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+$", dockerfile, re.M)


def test_el_buzon_solo_en_desarrollo() -> None:
    con_perfil = {n: s["profiles"] for n, s in SERVICIOS.items() if "profiles" in s}
    assert con_perfil == {"mailpit": ["dev"]}
    for nombre, servicio in SERVICIOS.items():
        if "profiles" not in servicio:
            assert "mailpit" not in servicio.get("depends_on", {}), nombre
    # Production names its mail server explicitly: no silent default to the dev catcher.
    smtp = SERVICIOS["notificaciones-worker"]["environment"]["SMTP_HOST"]
    assert smtp.startswith("${SMTP_HOST:?")


def test_prometheus_y_alertmanager_montan_su_configuracion() -> None:
    assert "./infra/prometheus:/etc/prometheus:ro" in SERVICIOS["prometheus"]["volumes"]
    assert (
        "./infra/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"
        in SERVICIOS["alertmanager"]["volumes"]
    )


@pytest.mark.skipif(
    shutil.which("caddy") is None,
    reason="caddy no está instalado (Debian: apt-get install caddy): no se valida el Caddyfile",
)
def test_caddyfile_valido_y_apunta_al_gateway() -> None:
    entorno = {**os.environ, "DOMINIO": "reclamos.example.gob.pe", "CADDY_TLS": "internal"}
    comando = ["caddy", "adapt", "--config", str(RAIZ / "infra/caddy/Caddyfile")]
    resultado = subprocess.run(comando, capture_output=True, text=True, env=entorno, timeout=60)
    assert resultado.returncode == 0, resultado.stderr
    texto = resultado.stdout
    proxy = re.search(r'"dynamic_upstreams":\s*(\{[^}]*\})', texto)
    assert proxy is not None, texto
    destino = json.loads(proxy.group(1))
    assert (destino["source"], destino["name"], destino["port"]) == ("a", "gateway", "8000")
    assert "8000" in SERVICIOS["gateway"]["expose"]


# --- Kubernetes ---------------------------------------------------------------------------------


def _documentos() -> dict[str, list[dict]]:
    return {
        archivo.name: [d for d in yaml.safe_load_all(archivo.read_text(encoding="utf-8")) if d]
        for archivo in sorted(K8S.glob("*.yaml"))
        if archivo.name != "kustomization.yaml"
    }


def _por_tipo(tipo: str) -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d
        for docs in _documentos().values()
        for d in docs
        if d["kind"] == tipo
    }


def test_manifiestos_al_dia_con_compose() -> None:
    resultado = subprocess.run(
        [sys.executable, str(K8S / "generar.py"), "--comprobar"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resultado.returncode == 0, resultado.stderr


@pytest.mark.parametrize("version", VERSIONES_K8S)
def test_manifiestos_validos_para_kubernetes(version: str) -> None:
    validados = 0
    for archivo, docs in _documentos().items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{archivo} {doc['kind']}/{doc['metadata']['name']}: {exc.message}")
            validados += 1
    # 11 Deployments, HPAs and PDBs, 6 Services, namespace, 3 ConfigMaps, Ingress, Secret.
    assert validados == 11 * 3 + 6 + 1 + 3 + 1 + 1
    # Strict validation does reject: a misspelled probe fails.
    roto = yaml.safe_load(yaml.safe_dump(_por_tipo("Deployment")["gateway"]))
    roto["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(roto, version, strict=True)


def test_cada_deployment_tiene_sondas_recursos_hpa_y_pdb() -> None:
    deployments = _por_tipo("Deployment")
    assert set(deployments) == PROCESOS
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in _por_tipo("HorizontalPodAutoscaler").values()
    }
    pdbs = list(_por_tipo("PodDisruptionBudget").values())
    for nombre, dep in deployments.items():
        plantilla = dep["spec"]["template"]
        (contenedor,) = plantilla["spec"]["containers"]
        vivo = contenedor["livenessProbe"]["httpGet"]["path"]
        listo = contenedor["readinessProbe"]["httpGet"]["path"]
        if nombre in WEBS:
            assert (vivo, listo) == ("/alive", "/health"), nombre
        else:
            assert (vivo, listo) == ("/metrics", "/metrics"), nombre
        for clase in ("requests", "limits"):
            assert set(contenedor["resources"][clase]) == {"cpu", "memory"}, nombre
        assert hpas[nombre]["spec"]["minReplicas"] >= 2
        assert hpas[nombre]["spec"]["maxReplicas"] > hpas[nombre]["spec"]["minReplicas"]
        etiquetas = plantilla["metadata"]["labels"]
        suyos = [
            p for p in pdbs if p["spec"]["selector"]["matchLabels"].items() <= etiquetas.items()
        ]
        assert len(suyos) == 1, nombre
        # The same command as in compose.
        assert contenedor["command"] == SERVICIOS[nombre]["command"], nombre
    assert set(_por_tipo("Service")) == WEBS


def test_el_secreto_es_solo_una_plantilla() -> None:
    (secreto,) = _por_tipo("Secret").values()
    assert set(secreto["stringData"].values()) == {"CAMBIAR"}
    usados = {
        item["key"]
        for dep in _por_tipo("Deployment").values()
        for volumen in dep["spec"]["template"]["spec"]["volumes"]
        if "secret" in volumen
        for item in volumen["secret"]["items"]
    }
    assert usados == set(secreto["stringData"])
    kustomizacion = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    esperados = {p.name for p in K8S.glob("*.yaml")} - {
        "kustomization.yaml",
        "secretos.plantilla.yaml",
    }
    assert set(kustomizacion["resources"]) == esperados


# --- lock files ---------------------------------------------------------------------------------


def _normal(nombre: str) -> str:
    return re.sub(r"[-_.]+", "-", nombre).lower()


def _pins(lineas: list[str]) -> dict[str, str]:
    return {
        _normal(m.group(1)): m.group(2)
        for m in (re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", linea) for linea in lineas)
        if m
    }


def _lock(nombre: str) -> dict[str, str]:
    texto = (RAIZ / nombre).read_text(encoding="utf-8")
    # Every package is pinned with at least one hash (pip --require-hashes).
    for bloque in re.split(r"\n(?=\S)", texto):
        if re.match(r"^[A-Za-z0-9]", bloque):
            assert "--hash=sha256:" in bloque, bloque.splitlines()[0]
    return _pins(texto.splitlines())


def test_los_locks_fijan_lo_que_declara_pyproject() -> None:
    proyecto = tomllib.loads((RAIZ / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    directas = _pins(proyecto["dependencies"])
    extras = _pins(
        proyecto["optional-dependencies"]["dev"] + proyecto["optional-dependencies"]["local"]
    )
    ejecucion, desarrollo = _lock("requirements.lock"), _lock("requirements-dev.lock")
    for nombre, version in directas.items():
        assert ejecucion.get(nombre) == version, nombre
        assert desarrollo.get(nombre) == version, nombre
    for nombre, version in extras.items():
        assert desarrollo.get(nombre) == version, nombre
    # What the image runs is what development runs, with the same versions.
    assert {n: desarrollo.get(n) for n in ejecucion} == ejecucion
    assert SOLO_DESARROLLO.isdisjoint(ejecucion), SOLO_DESARROLLO & set(ejecucion)
    assert len(ejecucion) > len(directas)  # the transitive packages are pinned too


def test_la_imagen_y_la_preparacion_instalan_desde_el_lock() -> None:
    dockerfile = (RAIZ / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "requirements-dev.lock" not in dockerfile
    preparar = (RAIZ / "scripts/preparar.sh").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r requirements-dev.lock" in preparar
    ignorados = (RAIZ / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {"secretos", "tests", ".env"} <= set(ignorados)
    assert "requirements.lock" not in ignorados


# --- secrets as files in the settings -----------------------------------------------------------

VARIABLES = (
    "TOKEN_INTERNO",
    "AMQP_URL",
    "AMQP_USUARIO",
    "AMQP_CLAVE",
    "MONGO_URL",
    "MONGO_USUARIO",
    "MONGO_CLAVE",
    "SMTP_CLAVE",
)


@pytest.fixture
def entorno(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(f"{variable}_FILE", raising=False)
    return monkeypatch


def _archivo(tmp_path: Path, nombre: str, contenido: str) -> str:
    ruta = tmp_path / nombre
    ruta.write_text(contenido, encoding="utf-8")
    return str(ruta)


def test_un_secreto_se_lee_de_su_archivo(entorno: pytest.MonkeyPatch, tmp_path: Path) -> None:
    entorno.setenv("TOKEN_INTERNO_FILE", _archivo(tmp_path, "t", "0123456789abcdef-token\n"))
    entorno.setenv("SMTP_CLAVE_FILE", _archivo(tmp_path, "s", "clave con espacios \r\n"))
    ajustes = AjustesNotificaciones()
    assert ajustes.token_interno.get_secret_value() == "0123456789abcdef-token"
    assert ajustes.smtp_clave.get_secret_value() == "clave con espacios "
    assert "0123456789abcdef" not in repr(ajustes)


def test_un_secreto_no_puede_venir_de_dos_lados(
    entorno: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    entorno.setenv("TOKEN_INTERNO", "0123456789abcdef-entorno")
    entorno.setenv("TOKEN_INTERNO_FILE", _archivo(tmp_path, "t", "0123456789abcdef-archivo"))
    with pytest.raises(ValueError, match="TOKEN_INTERNO y TOKEN_INTERNO_FILE"):
        Ajustes()


def test_un_archivo_de_secreto_que_falta_detiene_el_arranque(
    entorno: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    entorno.setenv("TOKEN_INTERNO_FILE", str(tmp_path / "no-existe"))
    with pytest.raises(ValueError, match="TOKEN_INTERNO_FILE: no se puede leer"):
        AjustesGateway()


def test_un_secreto_vacio_no_basta_como_token(entorno: pytest.MonkeyPatch, tmp_path: Path) -> None:
    entorno.setenv("TOKEN_INTERNO_FILE", _archivo(tmp_path, "t", "\n"))
    with pytest.raises(ValidationError):
        Ajustes()


def test_las_claves_se_ponen_en_las_urls(entorno: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clave = "s3cr@t/:x%"
    entorno.setenv("TOKEN_INTERNO", "0123456789abcdef-token")
    entorno.setenv("AMQP_URL", "amqp://rabbitmq:5672/%2F")
    entorno.setenv("AMQP_USUARIO", "pdr")
    entorno.setenv("AMQP_CLAVE_FILE", _archivo(tmp_path, "a", clave + "\n"))
    entorno.setenv("MONGO_URL", "mongodb://m0:27017,m1:27017/?replicaSet=rs0&authSource=admin")
    entorno.setenv("MONGO_USUARIO", "plataforma")
    entorno.setenv("MONGO_CLAVE_FILE", _archivo(tmp_path, "m", clave))
    ajustes = AjustesGateway()
    # Percent-encoded by hand: @ → %40, / → %2F, : → %3A, % → %25.
    assert ajustes.amqp_url == "amqp://pdr:s3cr%40t%2F%3Ax%25@rabbitmq:5672/%2F"
    assert ajustes.mongo_url == (
        "mongodb://plataforma:s3cr%40t%2F%3Ax%25@m0:27017,m1:27017/?replicaSet=rs0&authSource=admin"
    )
    # ...and the clients read the original back.
    credenciales = pika.URLParameters(ajustes.amqp_url).credentials
    assert (credenciales.username, credenciales.password) == ("pdr", clave)
    mongo = parse_uri(ajustes.mongo_url)
    assert (mongo["username"], mongo["password"]) == ("plataforma", clave)
    assert mongo["nodelist"] == [("m0", 27017), ("m1", 27017)]


def test_sin_clave_las_urls_quedan_como_estan(entorno: pytest.MonkeyPatch) -> None:
    entorno.setenv("TOKEN_INTERNO", "0123456789abcdef-token")
    entorno.setenv("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    entorno.setenv("AMQP_USUARIO", "otro")
    ajustes = Ajustes()
    assert ajustes.amqp_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert ajustes.mongo_url == "mongodb://127.0.0.1:27017"


def test_la_clave_usa_el_usuario_de_la_url_o_exige_uno(
    entorno: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    entorno.setenv("TOKEN_INTERNO", "0123456789abcdef-token")
    entorno.setenv("AMQP_URL", "amqp://pdr:vieja@rabbitmq:5672/%2F")
    entorno.setenv("AMQP_CLAVE", "nueva")
    assert Ajustes().amqp_url == "amqp://pdr:nueva@rabbitmq:5672/%2F"
    entorno.setenv("MONGO_CLAVE", "nueva")
    with pytest.raises(ValidationError, match="MONGO_CLAVE sin usuario"):
        Ajustes()
