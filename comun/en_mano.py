"""Documents in hand (issue 10): a transaction reads each document of a collection once, changes
it in hand, and writes it once.

The store's cost goes by documents written, not by requests: each update of a document pays its
index upkeep and its oplog entry. A handler that writes a reclamo's copy in two steps (its own
fields, then the webhooks' view of it) wrote the document twice. Here the changes made to one
document during a transaction's work are merged into one update, and every document changed
goes in with one request when the work is done (`almacen.antes_de_confirmar`), still inside
the transaction. Reads made meanwhile see the document as changed, from hand.

The operators followed in hand are the ones handlers use: `$set` and `$unset` (dotted paths
included), `$addToSet` of one value, `$setOnInsert`. A change that touches a path already
pending under another operator (or a parent or child of it) first writes what is pending, as
the store refuses both in one update. Outside a transaction every read and write goes to the
store at once."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database

from comun.almacen import antes_de_confirmar, memoria
from comun.tiempo import al_milisegundo

_OPERADORES = ("$set", "$unset", "$addToSet", "$setOnInsert")


class EnMano:
    """The documents of the collection `nombre` of `db` in hand, per transaction. Building one
    touches no database (the topology lists handler tables built without one)."""

    def __init__(self, db: Database, nombre: str) -> None:
        self.db = db
        self.nombre = nombre
        self._clave = f"en_mano.{nombre}"

    @property
    def coleccion(self) -> Collection:
        return self.db[self.nombre]

    def leer(self, _id: Any, s: ClientSession | None) -> dict | None:
        """The document as this transaction left it (None if there is none)."""
        mano = self._mano(s)
        if mano is None:
            return self.coleccion.find_one({"_id": _id}, session=s)
        if _id not in mano.docs:
            mano.docs[_id] = self.coleccion.find_one({"_id": _id}, session=s)
        return copy.deepcopy(mano.docs[_id])

    def cambiar(
        self, _id: Any, s: ClientSession | None, cambio: dict[str, Any], upsert: bool = False
    ) -> None:
        """`cambio` (an update document) to `_id`: in hand and kept for the single write of the
        transaction; at once without one."""
        if ajenos := set(cambio) - set(_OPERADORES):
            raise ValueError(f"operador no seguido en mano: {sorted(ajenos)}")
        mano = self._mano(s)
        if mano is None:
            self.coleccion.update_one({"_id": _id}, cambio, upsert=upsert, session=s)
            return
        if _id not in mano.docs:
            mano.docs[_id] = self.coleccion.find_one({"_id": _id}, session=s)
        doc = mano.docs[_id]
        if doc is None:
            if not upsert:
                return  # matches nothing, as in the store
            doc = {"_id": _id, **_al_milisegundo(cambio.get("$setOnInsert", {}))}
        mano.docs[_id] = _aplicar(doc, cambio)
        pendiente = mano.pendientes.get(_id)
        if pendiente is not None and pendiente.choca(cambio):
            self._escribir([mano.pendientes.pop(_id)], s)
            pendiente = None
        if pendiente is None:
            pendiente = mano.pendientes[_id] = _Pendiente(_id)
        pendiente.sumar(cambio, upsert)

    def _mano(self, s: ClientSession | None) -> _Mano | None:
        guardado = memoria(s)
        if guardado is None or s is None or not s.in_transaction:
            return None
        mano = guardado.get(self._clave)
        if mano is None:
            mano = guardado[self._clave] = _Mano()
            antes_de_confirmar(s, self._clave, lambda: self._escribir(mano.sacar(), s))
        return mano

    def _escribir(self, pendientes: list[_Pendiente], s: ClientSession) -> None:
        if pendientes:
            self.coleccion.bulk_write([p.operacion() for p in pendientes], ordered=True, session=s)


class _Mano:
    def __init__(self) -> None:
        self.docs: dict[Any, dict | None] = {}
        self.pendientes: dict[Any, _Pendiente] = {}

    def sacar(self) -> list[_Pendiente]:
        pendientes, self.pendientes = list(self.pendientes.values()), {}
        return pendientes


class _Pendiente:
    """The changes to one document not yet written, as one update."""

    def __init__(self, _id: Any) -> None:
        self._id = _id
        self.poner: dict[str, Any] = {}
        self.quitar: dict[str, str] = {}
        self.agregar: dict[str, list[Any]] = {}
        self.al_insertar: dict[str, Any] = {}
        self.upsert = False

    def rutas(self) -> dict[str, str]:
        """Every pending path and its operator."""
        return (
            dict.fromkeys(self.poner, "$set")
            | dict.fromkeys(self.quitar, "$unset")
            | dict.fromkeys(self.agregar, "$addToSet")
            | dict.fromkeys(self.al_insertar, "$setOnInsert")
        )

    def choca(self, cambio: dict[str, Any]) -> bool:
        pendientes = self.rutas()
        for operador, campos in cambio.items():
            for ruta in campos:
                for otra, su_operador in pendientes.items():
                    if ruta == otra and operador == su_operador:
                        continue  # merged: the later value wins ($set), or both are added
                    if ruta == otra or ruta.startswith(otra + ".") or otra.startswith(ruta + "."):
                        return True
        return False

    def sumar(self, cambio: dict[str, Any], upsert: bool) -> None:
        self.poner |= cambio.get("$set", {})
        self.quitar |= cambio.get("$unset", {})
        self.al_insertar |= cambio.get("$setOnInsert", {})
        for campo, valor in cambio.get("$addToSet", {}).items():
            valores = self.agregar.setdefault(campo, [])
            if valor not in valores:
                valores.append(valor)
        self.upsert = self.upsert or upsert

    def operacion(self) -> UpdateOne:
        actualizacion: dict[str, Any] = {}
        if self.poner:
            actualizacion["$set"] = self.poner
        if self.quitar:
            actualizacion["$unset"] = self.quitar
        if self.agregar:
            actualizacion["$addToSet"] = {c: {"$each": v} for c, v in self.agregar.items()}
        if self.al_insertar:
            actualizacion["$setOnInsert"] = self.al_insertar
        return UpdateOne({"_id": self._id}, actualizacion, upsert=self.upsert)


def _aplicar(doc: dict, cambio: dict[str, Any]) -> dict:
    """`cambio` applied to a copy of `doc` as the store applies it."""
    nuevo = copy.deepcopy(doc)
    for ruta, valor in cambio.get("$set", {}).items():
        padre, campo = _padre(nuevo, ruta, crear=True)
        padre[campo] = _al_milisegundo(copy.deepcopy(valor))
    for ruta in cambio.get("$unset", {}):
        padre, campo = _padre(nuevo, ruta, crear=False)
        if padre is not None:
            padre.pop(campo, None)
    for ruta, valor in cambio.get("$addToSet", {}).items():
        padre, campo = _padre(nuevo, ruta, crear=True)
        actual = padre.setdefault(campo, [])
        valor = _al_milisegundo(copy.deepcopy(valor))
        if valor not in actual:
            actual.append(valor)
    return nuevo


def _padre(doc: dict, ruta: str, crear: bool) -> tuple[dict | None, str]:
    """The dict that holds the last part of a dotted `ruta`, and that part."""
    *partes, campo = ruta.split(".")
    actual: Any = doc
    for parte in partes:
        siguiente = actual.get(parte)
        if not isinstance(siguiente, dict):
            if not crear:
                return None, campo
            siguiente = actual[parte] = {}
        actual = siguiente
    return actual, campo


def _al_milisegundo(valor: Any) -> Any:
    """Datetimes as the store keeps them, so what is read from hand compares as read back."""
    if isinstance(valor, datetime):
        return al_milisegundo(valor)
    if isinstance(valor, dict):
        return {k: _al_milisegundo(v) for k, v in valor.items()}
    if isinstance(valor, list | tuple):
        return [_al_milisegundo(v) for v in valor]
    return valor
