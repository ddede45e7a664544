"""Keyset pagination over an index (field, _id): no skip, no cap, each document once."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from pymongo.collection import Collection


def por_clave(
    coleccion: Collection,
    filtro: dict,
    campo: str,
    rango: dict,
    despues: tuple[Any, str] | None,
    limite: int,
    indice: str | None = None,
) -> list[dict]:
    """Up to `limite` documents of `filtro` with `campo` in `rango`, in (campo, _id) order,
    strictly after `despues` = (value, _id). Two queries instead of an $or, so that each one is
    a plain range on the index (ties of `campo` are common: a day's reclamos share a deadline)."""
    docs: list[dict] = []
    if despues is not None:
        valor, ultimo = despues
        empates = coleccion.find({**filtro, campo: valor, "_id": {"$gt": ultimo}}).sort("_id", 1)
        docs = list((empates.hint(indice) if indice else empates).limit(limite))
        rango = {**rango, "$gt": valor}
    if len(docs) < limite:
        resto = coleccion.find({**filtro, campo: rango}).sort([(campo, 1), ("_id", 1)])
        docs += list((resto.hint(indice) if indice else resto).limit(limite - len(docs)))
    return docs


def cursor(valor: datetime, codigo: str) -> str:
    crudo = json.dumps([valor.isoformat(), codigo], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(crudo).decode().rstrip("=")


def leer_cursor(texto: str) -> tuple[datetime, str]:
    """The position a `siguiente` points to; ValueError if it is not one of ours."""
    try:
        crudo = base64.urlsafe_b64decode(texto + "=" * (-len(texto) % 4))
        valor, codigo = json.loads(crudo)
        momento = datetime.fromisoformat(valor)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError("El cursor no es válido; use el valor de «siguiente»") from exc
    if not isinstance(codigo, str) or momento.tzinfo is None:
        raise ValueError("El cursor no es válido; use el valor de «siguiente»")
    return momento, codigo
