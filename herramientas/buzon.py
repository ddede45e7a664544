"""A real SMTP server that captures mail for development and tests (aiosmtpd).

    python -m herramientas.buzon --puerto 1025 --carpeta var/correo

Every message is written as an .eml file; nothing is relayed anywhere.
"""

from __future__ import annotations

import argparse
import signal
import threading
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class Buzon:
    def __init__(self, carpeta: Path) -> None:
        self.carpeta = carpeta
        carpeta.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        nombre = self.carpeta / f"{uuid.uuid4().hex}.eml"
        temporal = nombre.with_suffix(".tmp")
        temporal.write_bytes(envelope.original_content or envelope.content)
        temporal.rename(nombre)  # readers never see half a message
        print(
            f"buzón: correo para {len(envelope.rcpt_tos)} destinatario(s) → {nombre.name}",
            flush=True,
        )
        return "250 Mensaje recibido"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m herramientas.buzon")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--puerto", type=int, default=1025)
    parser.add_argument("--carpeta", type=Path, default=Path("var/correo"))
    args = parser.parse_args()
    controlador = Controller(Buzon(args.carpeta), hostname=args.host, port=args.puerto)
    controlador.start()
    print(f"buzón SMTP en {args.host}:{args.puerto}, correos en {args.carpeta}", flush=True)
    parar = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: parar.set())
    signal.signal(signal.SIGINT, lambda *_: parar.set())
    parar.wait()
    controlador.stop()


if __name__ == "__main__":
    main()
