"""The gateway's contract as a document (issue 12): the OpenAPI document `gateway.app.crear_app`
builds on the test's store is valid OpenAPI (openapi-spec-validator) and lints clean with
Spectral's default ruleset (`.spectral.yaml` = `spectral:oas`), at every severity, hints
included. Spectral is pinned in package.json / package-lock.json and installed by
scripts/preparar.sh (`npm ci`); without Node.js and npm the lint test is skipped, saying so."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema_path import SchemaPath
from openapi_spec_validator import validate
from openapi_spec_validator.shortcuts import get_validator_cls
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from gateway.ajustes import AjustesGateway
from gateway.app import crear_app
from tests.integracion.servicios import TOKEN

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]

RAIZ = Path(__file__).resolve().parents[2]
SPECTRAL = RAIZ / "node_modules" / ".bin" / "spectral"
REGLAS = RAIZ / ".spectral.yaml"
# @stoplight/spectral-cli's "engines" in its package.json: ^16.20 || ^18.18 || >=20.17.
NODE_MINIMO = "Node.js 20.17 o posterior, o 18.18+"
SEVERIDADES = {0: "error", 1: "aviso", 2: "info", 3: "sugerencia"}


def _node_suficiente(version: str) -> bool:
    """`v20.20.2` → whether @stoplight/spectral-cli's "engines" range admits it."""
    numeros = re.match(r"v?(\d+)\.(\d+)", version.strip())
    if not numeros:
        return False
    mayor, menor = int(numeros[1]), int(numeros[2])
    desde = {16: 20, 18: 18}.get(mayor)  # the older lines admitted, each from a minor on
    return (mayor, menor) >= (20, 17) or (desde is not None and menor >= desde)


def falta_node() -> str | None:
    """Why Spectral cannot run on this machine (the lint test is skipped then), or None. The
    same words scripts/preparar.sh prints."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return (
            f"Falta Node.js con npm (se necesita {NODE_MINIMO}): no se revisa el documento "
            "OpenAPI con Spectral. Instálelos (Debian: sudo apt-get install nodejs npm) y ejecute "
            "scripts/preparar.sh."
        )
    version = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    if not _node_suficiente(version):
        return (
            f"Node.js {version.strip() or '(versión desconocida)'} es muy antiguo para Spectral: "
            f"se necesita {NODE_MINIMO}. No se revisa el documento OpenAPI con Spectral."
        )
    return None


@pytest.fixture
def documento(mongo_url, db) -> dict:
    """The gateway's OpenAPI document, as `/api/v1/openapi.json` serves it."""
    app = crear_app(AjustesGateway(mongo_url=mongo_url, mongo_db=db.name, token_interno=TOKEN))
    # Through JSON and back, as a client downloads it (enums, dates and tuples as plain JSON).
    return json.loads(json.dumps(app.openapi()))


def test_el_documento_es_openapi_valido(documento: dict):
    try:
        validate(documento)
    except OpenAPIValidationError:
        errores = get_validator_cls(documento)(SchemaPath.from_dict(documento)).iter_errors()
        detalle = "\n".join(
            f"  {error.json_path}: {error.message.splitlines()[0]}" for error in errores
        )
        pytest.fail(f"El documento OpenAPI no es válido:\n{detalle}", pytrace=False)


def test_spectral_no_encuentra_nada_en_el_documento(documento: dict, tmp_path: Path):
    if (motivo := falta_node()) is not None:
        pytest.skip(motivo)
    if not SPECTRAL.exists():
        pytest.fail(
            f"Spectral no está instalado ({SPECTRAL.relative_to(RAIZ)} no existe): ejecute "
            "scripts/preparar.sh (o `npm ci` en la raíz del repositorio).",
            pytrace=False,
        )
    archivo = tmp_path / "openapi.json"
    archivo.write_text(json.dumps(documento, indent=2, ensure_ascii=False), encoding="utf-8")
    salida = tmp_path / "spectral.json"

    # The report goes to a file: on stdout Spectral appends a sentence to the JSON.
    proceso = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            str(archivo),
            "--ruleset",
            str(REGLAS),
            "--fail-severity=hint",
            "-f",
            "json",
            "-o",
            str(salida),
        ],
        cwd=RAIZ,
        capture_output=True,
        text=True,
        timeout=50,
    )

    # 0: nothing found; 1: findings at or above hint; anything else: Spectral itself failed.
    assert proceso.returncode in (0, 1) and salida.exists(), (
        f"Spectral falló (código {proceso.returncode}):\n{proceso.stdout}\n{proceso.stderr}"
    )
    resultados = json.loads(salida.read_text(encoding="utf-8"))
    lineas = sorted(
        f"  {r['code']} [{SEVERIDADES.get(r['severity'], r['severity'])}] "
        f"{'.'.join(map(str, r['path'])) or '(raíz)'}: {r['message']}"
        for r in resultados
    )
    assert not resultados, (
        f"Spectral encontró {len(resultados)} problema(s) en el documento OpenAPI:\n"
        + "\n".join(lineas)
    )
    assert proceso.returncode == 0, proceso.stdout + proceso.stderr
