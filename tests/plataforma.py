"""The whole platform for a test module or session, started by the same launcher as `scripts/run`
on its own ports, stores and bus names; stopped and its broker topology deleted afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from herramientas.local import Plataforma, Puertos
from tests.conftest import NombreBus, _borrar_topologia


@contextlib.contextmanager
def plataforma_de_prueba(
    amqp_url: str,
    carpeta: Path,
    prefijo: str,
    sembrar: bool = True,
    entorno_extra: dict[str, str] | None = None,
    workers: dict[str, int] | None = None,
    **ajustes: Any,
) -> Iterator[Plataforma]:
    """Yields a healthy platform; with `sembrar`, the demo catalogue is loaded and `.claves`
    holds the demo credentials (entity id or role → key). `ajustes` go to `Plataforma` as they
    are (e.g. `monitoreo=True`, `workers_max=...`)."""
    bus = NombreBus(f"{prefijo}-{uuid.uuid4().hex[:8]}")
    p = Plataforma(
        carpeta=carpeta,
        puertos=Puertos.libres(),
        amqp_url=amqp_url,
        bus_nombre=bus,
        entorno_extra=entorno_extra or {},
        workers=workers or {},
        **ajustes,
    )
    registro = carpeta / "plataforma.log"
    with registro.open("wb") as salida:
        try:
            p.iniciar(salida)
            p.esperar_salud(180)
            if sembrar:
                p.claves = p.sembrar()  # type: ignore[attr-defined]
        except Exception:
            p.detener()
            pytest.fail(f"la plataforma no arrancó:\n{registro.read_text()[-4000:]}", pytrace=False)
        try:
            yield p
        finally:
            p.detener()
    _borrar_topologia(amqp_url, bus)
