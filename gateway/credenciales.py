"""API keys: created by an operator command, stored only as a hash, bound to one role and, for
entity staff, to one entity (and optionally one unit).

    python -m gateway.credenciales crear --rol entidad --entidad minsa --nombre "Mesa de partes"
    python -m gateway.credenciales crear --rol operador --nombre "Operador SGP"
    python -m gateway.credenciales revocar PREFIJO
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.database import Database

ROLES = ("entidad", "supervisor", "operador")
PREFIJO = "pdr_"


@dataclass(frozen=True)
class Credencial:
    rol: str
    entidad: str | None = None
    unidad: str | None = None


def huella(clave: str) -> str:
    # Keys are 256-bit random: a fast hash is safe here (no dictionary to try), unlike passwords.
    return hashlib.sha256(clave.encode()).hexdigest()


def crear(
    db: Database, rol: str, nombre: str, entidad: str | None = None, unidad: str | None = None
) -> str:
    if rol not in ROLES:
        raise ValueError(f"rol debe ser uno de {', '.join(ROLES)}")
    if (rol == "entidad") != bool(entidad):
        raise ValueError("una credencial de entidad necesita --entidad, y solo ella")
    clave = PREFIJO + secrets.token_urlsafe(32)
    db.credenciales.insert_one(
        {
            "_id": huella(clave),
            "prefijo": clave[:10],
            "nombre": nombre,
            "rol": rol,
            "entidad": entidad,
            "unidad": unidad,
            "activa": True,
            "creada_en": datetime.now(UTC),
        }
    )
    return clave


class Verificador:
    """Looks keys up with a short cache, so a request does not cost a database round trip."""

    def __init__(self, db: Database, vigencia: float = 30.0) -> None:
        self.db = db
        self.vigencia = vigencia
        self._cache: dict[str, tuple[float, Credencial | None]] = {}

    def verificar(self, clave: str) -> Credencial | None:
        h = huella(clave)
        guardada = self._cache.get(h)
        if guardada and time.monotonic() - guardada[0] < self.vigencia:
            return guardada[1]
        doc = self.db.credenciales.find_one({"_id": h, "activa": True})
        credencial = Credencial(doc["rol"], doc.get("entidad"), doc.get("unidad")) if doc else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[h] = (time.monotonic(), credencial)
        return credencial


def main(argv: list[str] | None = None) -> int:
    from gateway.ajustes import AjustesGateway

    parser = argparse.ArgumentParser(prog="python -m gateway.credenciales")
    sub = parser.add_subparsers(dest="orden", required=True)
    c = sub.add_parser("crear", help="crea una credencial y muestra la clave una sola vez")
    c.add_argument("--rol", required=True, choices=ROLES)
    c.add_argument("--nombre", required=True)
    c.add_argument("--entidad")
    c.add_argument("--unidad")
    r = sub.add_parser("revocar", help="desactiva las credenciales con ese prefijo")
    r.add_argument("prefijo")
    args = parser.parse_args(argv)
    ajustes = AjustesGateway()
    db = ajustes.almacen("gateway")
    if args.orden == "crear":
        try:
            clave = crear(db, args.rol, args.nombre, args.entidad, args.unidad)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(clave)
        return 0
    hecho = db.credenciales.update_many({"prefijo": args.prefijo}, {"$set": {"activa": False}})
    print(f"revocadas: {hecho.modified_count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
