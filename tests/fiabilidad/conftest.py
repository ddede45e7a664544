"""One platform for the whole fault suite, started by the launcher on its own ports and bus
names (as the end-to-end fixture does), with rate limits a load test needs; and the results table
at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from herramientas.local import Plataforma
from tests.fiabilidad.carga import Perfil, perfil
from tests.fiabilidad.informe import FILAS, tabla
from tests.plataforma import plataforma_de_prueba

# The gateway limits filing per address and per document, and failed lookups per código and per
# document; every simulated citizen comes from 127.0.0.1, with few documents.
LIMITES_DE_CARGA = {
    "LIMITE_RECLAMOS_POR_DIRECCION_POR_HORA": "10000000",
    "LIMITE_RECLAMOS_POR_DOCUMENTO_POR_DIA": "10000000",
    "LIMITE_FALLOS_SEGUIMIENTO_POR_HORA": "10000000",
    "LIMITE_FALLOS_POR_DOCUMENTO_POR_HORA": "10000000",
}


@pytest.fixture(scope="package")
def plataforma_fiable(
    amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Plataforma]:
    carpeta = tmp_path_factory.mktemp("fiabilidad")
    with plataforma_de_prueba(amqp_url, carpeta, "fiab", entorno_extra=LIMITES_DE_CARGA) as p:
        yield p


@pytest.fixture(scope="package")
def carga_perfil() -> Perfil:
    return perfil()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FILAS:
        return
    p = perfil()
    modo = "completa" if p.completa else "breve (FIABILIDAD=completa para la carga completa)"
    terminalreporter.section(
        f"fiabilidad: {modo}; {p.reclamos} reclamos por experimento a {p.tasa:g}/s, "
        f"{p.clientes} clientes"
    )
    for linea in tabla(FILAS):
        terminalreporter.write_line(linea)
