"""Structured JSON logs. They carry códigos and event ids, never personal data (DESIGN.md §4).

Every line a request or an event causes carries its correlation id (`correlacion`): the request
id the gateway gave it, kept on every event of the chain, across services and retries. Code that
starts work for a request or an event sets it with `con_correlacion`; the log filter adds it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

_correlacion: ContextVar[str | None] = ContextVar("correlacion", default=None)
# What a correlation / request id may look like: anything else is replaced, never logged.
FORMA_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
acceso = logging.getLogger("acceso")


def id_seguro(valor: object) -> str | None:
    """`valor` if it is an id of a safe shape (FORMA_ID), else None: what may be logged, stored
    as an identifier or passed on as a correlation."""
    return valor if isinstance(valor, str) and FORMA_ID.fullmatch(valor) else None


def correlacion_actual() -> str | None:
    return _correlacion.get()


@contextlib.contextmanager
def con_correlacion(valor: str | None) -> Iterator[None]:
    """Every log line inside carries `valor` as its correlation id."""
    marca = _correlacion.set(valor)
    try:
        yield
    finally:
        _correlacion.reset(marca)


def registrar_acceso(metodo: str, ruta: str, estado: int, segundos: float) -> None:
    """One access-log line per request: the route template, never the path (códigos and tokens
    stay out), never the body."""
    acceso.info(
        "solicitud",
        extra={
            "metodo": metodo,
            "ruta": ruta,
            "estado": estado,
            "duracion_ms": round(segundos * 1000, 1),
        },
    )


class _ConCorrelacion(logging.Filter):
    def filter(self, registro: logging.LogRecord) -> bool:
        if not hasattr(registro, "correlacion"):
            registro.correlacion = _correlacion.get()
        return True


def configurar_logs(servicio: str, nivel: str = "INFO") -> None:
    manejador = logging.StreamHandler(sys.stdout)
    manejador.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "nivel", "name": "logger"},
            static_fields={"servicio": servicio},
        )
    )
    manejador.addFilter(_ConCorrelacion())
    raiz = logging.getLogger()
    raiz.handlers[:] = [manejador]
    raiz.setLevel(nivel.upper())
    # pika logs returned messages with a prefix of their body (personal data): errors only.
    logging.getLogger("pika").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
