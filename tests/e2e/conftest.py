"""The whole platform, started once for the end-to-end tests by the same launcher as
`scripts/run`: own ports, own stores, own bus names, a real SMTP catcher."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest

from herramientas.local import Plataforma
from tests.plataforma import plataforma_de_prueba


@pytest.fixture(scope="session")
def reloj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The platform's domain clock (comun.reloj): `reloj.adelantar(reloj, dias=...)` makes days
    pass for every service at once. It only moves forward, so a test that moves it must not
    depend on what other tests' reclamos do meanwhile (they may fall due)."""
    archivo = tmp_path_factory.mktemp("reloj") / "desfase"
    archivo.write_text("0")
    return archivo


@pytest.fixture(scope="session")
def plataforma(
    amqp_url: str, tmp_path_factory: pytest.TempPathFactory, reloj: Path
) -> Iterator[Plataforma]:
    entorno = {
        "RELOJ_ARCHIVO": str(reloj),
        "BARRIDO_INTERVALO_S": "1",
        # The suite files dozens of reclamos with a few documents in one day; the limits
        # themselves are tested in tests/integracion/test_limites.py.
        "LIMITE_RECLAMOS_POR_DOCUMENTO_POR_DIA": "100000",
        "LIMITE_FALLOS_POR_DOCUMENTO_POR_HORA": "100000",
    }
    # Two plazos workers: each deadline warning must still be raised once.
    with plataforma_de_prueba(
        amqp_url,
        tmp_path_factory.mktemp("plataforma"),
        "e2e",
        entorno_extra=entorno,
        workers={"plazos": 2},
    ) as p:
        yield p


@pytest.fixture(scope="session")
def api(plataforma: Plataforma) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plataforma.url + "/api/v1", timeout=20) as cliente:
        yield cliente


def correos(carpeta: Path) -> list[EmailMessage]:
    return [
        BytesParser(policy=policy.default).parsebytes(f.read_bytes())
        for f in sorted(carpeta.glob("*.eml"))
    ]


def correo_para(carpeta: Path, para: str, *en_el_asunto: str) -> EmailMessage | None:
    for mensaje in correos(carpeta):
        if mensaje["To"] == para and all(t in mensaje["Subject"] for t in en_el_asunto):
            return mensaje
    return None
