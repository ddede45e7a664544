"""Operator command: load the entity catalogue through the gateway (role operador).

    python -m herramientas.catalogo infra/catalogo/entidades.json \
        --url http://127.0.0.1:8000 --clave "$CLAVE_OPERADOR"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx


def cargar(archivo: Path, url: str, clave: str) -> list[str]:
    """PUTs every entity of the file; returns their ids. Raises on the first refusal."""
    entidades = json.loads(archivo.read_text(encoding="utf-8"))
    cargadas = []
    with httpx.Client(base_url=url, headers={"X-API-Key": clave}, timeout=15) as cliente:
        for entidad in entidades:
            r = cliente.put(f"/api/v1/catalogo/entidades/{entidad['id']}", json=entidad)
            if r.status_code != 200:
                raise RuntimeError(f"{entidad['id']}: {r.status_code} {r.text}")
            cargadas.append(entidad["id"])
    return cargadas


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m herramientas.catalogo")
    parser.add_argument("archivo", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--clave",
        default=os.environ.get("CLAVE_OPERADOR"),
        help="clave de operador (o variable CLAVE_OPERADOR)",
    )
    args = parser.parse_args()
    if not args.clave:
        print("falta la clave de operador (--clave o CLAVE_OPERADOR)", file=sys.stderr)
        return 2
    try:
        ids = cargar(args.archivo, args.url, args.clave)
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"entidades cargadas: {', '.join(ids)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
