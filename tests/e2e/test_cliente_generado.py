"""The gateway's contract as an integrator meets it (issue 12): a Python client generated with
openapi-python-client from the live document of a running platform, the code that uses it
(tests/e2e/cliente/flujos.py) type-checked with `mypy --strict` against the generated package, and
the whole life of a reclamo, for the citizen and for the entity, run with that client: every
response, refusals included, parsed into a generated model (`Error` for each 4xx)."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from herramientas.local import Plataforma
from tests.e2e.conftest import correo_para
from tests.esperas import esperar

pytestmark = pytest.mark.e2e

RAIZ = Path(__file__).resolve().parents[2]
FLUJOS = RAIZ / "tests" / "e2e" / "cliente" / "flujos.py"
PAQUETE = "reclamos_pdr_client"  # from the document's info.title, "Reclamos PDR"
BIN = Path(sys.executable).parent


def ejecutar(orden: list[str], carpeta: Path, **entorno: str) -> subprocess.CompletedProcess[str]:
    # The venv's bin first: the generator's post-hooks run its ruff.
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"} | entorno
    return subprocess.run(
        orden, cwd=carpeta, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def generado(plataforma: Plataforma, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the package generated from the platform's live document."""
    carpeta = tmp_path_factory.mktemp("cliente")
    url = f"{plataforma.url}/api/v1/openapi.json"
    generar = [str(BIN / "openapi-python-client"), "generate", "--url", url, "--meta", "none"]
    hecho = ejecutar([*generar, "--fail-on-warning"], carpeta)
    assert hecho.returncode == 0, f"la generación falló:\n{hecho.stdout}\n{hecho.stderr}"
    assert (carpeta / PAQUETE / "api" / "reclamos" / "registrar.py").is_file(), sorted(
        str(p.relative_to(carpeta)) for p in carpeta.rglob("*.py")
    )
    return carpeta


@pytest.fixture
def flujos(generado: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """tests.e2e.cliente.flujos, imported with the generated package on the path (and both
    forgotten afterwards: another generation must not meet this one)."""
    monkeypatch.syspath_prepend(str(generado))
    yield importlib.import_module("tests.e2e.cliente.flujos")
    for nombre in [n for n in sys.modules if n.split(".")[0] == PAQUETE]:
        del sys.modules[nombre]
    sys.modules.pop("tests.e2e.cliente.flujos", None)


def test_el_codigo_que_usa_el_cliente_pasa_mypy_estricto(generado):
    # The generated package's own insides are not the subject (silent): what is checked is that
    # code written against its functions and models type-checks strictly (no Any, no Optional
    # misuse, a Client where the route is public, an AuthenticatedClient where it needs a key).
    mypy = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"]
    cache = ["--cache-dir", str(generado / ".mypy_cache")]
    revisado = ejecutar([*mypy, *cache, str(FLUJOS)], RAIZ, MYPYPATH=str(generado))
    assert revisado.returncode == 0, f"mypy --strict:\n{revisado.stdout}{revisado.stderr}"


def test_cada_error_llega_como_el_modelo_error(generado):
    """Every 4xx and 5xx the document declares is parsed into `Error` by the generated client
    (not FastAPI's HTTPValidationError, not an untyped body): read off the generated code."""
    rama = r"if response\.status_code == (\d{3}):"
    con_error = rama + r"\s+response_\d{3} = Error\.from_dict\("
    otros: list[str] = []
    for modulo in sorted((generado / PAQUETE / "api").rglob("*.py")):
        fuente = modulo.read_text()
        errores = {e for e in re.findall(rama, fuente) if int(e) >= 400}
        otros += [
            f"{modulo.stem}: {e}" for e in sorted(errores - set(re.findall(con_error, fuente)))
        ]
    assert not otros, "respuestas de error que el cliente no lee como Error:\n" + "\n".join(otros)


def test_ciudadano_y_entidad_con_el_cliente_generado(plataforma, flujos):
    def token_de_encuesta(codigo: str, email: str) -> str:
        invitacion = esperar(
            lambda: correo_para(plataforma.correo, email, codigo, "Cuéntenos"),
            f"la invitación a la encuesta de {codigo}",
            60.0,
        )
        enlace = re.search(r"/encuestas/([\w-]+)", invitacion.get_content())
        assert enlace, invitacion.get_content()
        return enlace.group(1)

    flujos.flujo_completo(
        flujos.Acceso(
            url=plataforma.url,
            entidad_id="minsa",
            clave_entidad=plataforma.claves["minsa"],
            clave_otra_entidad=plataforma.claves["munilima"],
            token_de_encuesta=token_de_encuesta,
        )
    )
