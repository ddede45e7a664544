"""Structured JSON logs. They carry códigos and event ids, never personal data (DESIGN.md §4)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configurar_logs(servicio: str, nivel: str = "INFO") -> None:
    manejador = logging.StreamHandler(sys.stdout)
    manejador.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "nivel", "name": "logger"},
            static_fields={"servicio": servicio},
        )
    )
    raiz = logging.getLogger()
    raiz.handlers[:] = [manejador]
    raiz.setLevel(nivel.upper())
    # pika logs returned messages with a prefix of their body (personal data): errors only.
    logging.getLogger("pika").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
