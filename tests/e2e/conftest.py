"""The whole platform, started once for the end-to-end tests by the same launcher as
`scripts/run`: own ports, own stores, own bus names, a real SMTP catcher."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest

from herramientas.local import Plataforma, Puertos
from tests.conftest import NombreBus, _borrar_topologia


@pytest.fixture(scope="session")
def plataforma(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plataforma]:
    carpeta = tmp_path_factory.mktemp("plataforma")
    bus = NombreBus(f"e2e-{uuid.uuid4().hex[:8]}")
    p = Plataforma(carpeta=carpeta, puertos=Puertos.libres(), amqp_url=amqp_url, bus_nombre=bus)
    registro = carpeta / "plataforma.log"
    with registro.open("wb") as salida:
        try:
            p.iniciar(salida)
            p.esperar_salud(180)
            p.claves = p.sembrar()
        except Exception:
            p.detener()
            pytest.fail(f"la plataforma no arrancó:\n{registro.read_text()[-4000:]}", pytrace=False)
        yield p
        p.detener()
    _borrar_topologia(amqp_url, bus)


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
