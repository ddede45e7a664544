"""Safe retries of POSTs that create or change something (DESIGN.md §4): `Idempotency-Key`.

A client that did not get an answer (a timeout, the gateway restarted) sends the same request
again with the same key. The first response is kept in the service's own store, written in the
same transaction as the effect, so every replica sees it: the same key with the same body within
24 hours gets that response again, and nothing happens twice; the same key with another body is
a 422, because it is a client's mistake that must not pass silently.

The key is scoped by who calls (role and entity) and by the route, so two clients never share one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import g, request
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from comun.errores import ErrorDeDominio

CABECERA = "Idempotency-Key"
COLECCION = "idempotencia"
VIGENCIA_S = 24 * 3600
# Printable ASCII without spaces: a UUID, a ULID, or any opaque token of the client's.
FORMATO = re.compile(r"^[\x21-\x7e]{1,200}$")


def preparar(db: Database) -> None:
    db[COLECCION].create_index("creado_en", name="caducidad", expireAfterSeconds=VIGENCIA_S)


class YaRegistrada(Exception):
    """Another request with the same key committed first (raised inside the transaction)."""


@dataclass(frozen=True)
class Solicitud:
    """One request that carries an Idempotency-Key."""

    db: Database
    id: str
    huella: str

    def previa(self) -> tuple[Any, int] | None:
        """The response given the first time, or None if this key is new."""
        doc = self.db[COLECCION].find_one({"_id": self.id})
        if doc is None:
            return None
        if doc["huella"] != self.huella:
            raise ErrorDeDominio(
                422,
                "idempotencia_conflicto",
                f"La clave {CABECERA} ya se usó con otro contenido; use una clave nueva "
                "para una solicitud distinta.",
            )
        return doc["cuerpo"], doc["estado"]

    def guardar(self, sesion: ClientSession, cuerpo: Any, estado: int) -> None:
        """Keeps the response with the effect (call it inside the effect's transaction)."""
        try:
            self.db[COLECCION].insert_one(
                {
                    "_id": self.id,
                    "huella": self.huella,
                    "cuerpo": cuerpo,
                    "estado": estado,
                    "creado_en": datetime.now(UTC),
                },
                session=sesion,
            )
        except DuplicateKeyError as exc:
            raise YaRegistrada from exc


def de_la_solicitud(db: Database) -> Solicitud | None:
    """The current Flask request's key (None without one); a malformed key is a 400."""
    clave = request.headers.get(CABECERA)
    if clave is None:
        return None
    if not FORMATO.match(clave):
        raise ErrorDeDominio(
            400,
            "idempotencia_invalida",
            f"La cabecera {CABECERA} debe tener de 1 a 200 caracteres visibles, sin espacios.",
        )
    quien = g.identidad
    alcance = f"{quien.rol}|{quien.entidad or ''}|{quien.unidad or ''}|{request.path}|{clave}"
    cuerpo = request.get_json(silent=True)
    contenido = json.dumps(cuerpo, sort_keys=True, ensure_ascii=False, default=str)
    return Solicitud(
        db,
        hashlib.sha256(alcance.encode()).hexdigest(),
        hashlib.sha256(contenido.encode()).hexdigest(),
    )
