"""Documents in hand (issue 10): a transaction reads each document of a collection once, changes
it in hand, and writes it once.

The store's cost goes by documents written, not by requests: each update of a document pays its
index upkeep and its oplog entry. A handler that writes a reclamo's copy in two steps (its own
fields, then the webhooks' view of it) wrote the document twice. Here the changes made to one
document during a transaction's work are merged into one update, and every document changed
goes in with one request when the work is done (`almacen.antes_de_confirmar`), still inside
the transaction. Reads made meanwhile see the document as changed, from hand.

The operators followed in hand are the ones handlers use: `$set` and `$unset` (dotted paths
included), `$addToSet` and `$push` of one value, `$setOnInsert`. Changes to one path merge as
their sequence would leave it (the later $set or $unset wins; values added pile up). A change
that touches a parent or child of a pending path, or one pending under an operator it does not
merge with, first writes what is pending, as the store refuses both in one update. Outside a
transaction every read and write goes to the store at once."""

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

_OPERADORES = ("$set", "$unset", "$addToSet", "$push", "$setOnInsert")
_LISTAS = ("$addToSet", "$push")  # one value each; several of one path go in with $each


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
        transaction; at once without one. A document not yet in hand is read first (the hand
        must hold it to apply the change): for a blind write, `coleccion.update_one` is
        cheaper."""
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
        else:  # the document exists (or a pending upsert creates it): $setOnInsert does nothing
            cambio = {k: v for k, v in cambio.items() if k != "$setOnInsert"}
            if not any(cambio.values()):
                return
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
    """The changes to one document not yet written, as one update: each path with its operator
    and value (the values added, for $addToSet and $push), in the order they came."""

    def __init__(self, _id: Any) -> None:
        self._id = _id
        self.rutas: dict[str, tuple[str, Any]] = {}
        self.upsert = False

    def choca(self, cambio: dict[str, Any]) -> bool:
        """True if `cambio` cannot join this update: it touches a pending path under an operator
        that does not merge with it, or a parent or child of a pending path."""
        for operador, campos in cambio.items():
            for ruta in campos:
                for otra, (su_operador, _) in self.rutas.items():
                    if ruta == otra:
                        if _reemplaza(operador, su_operador) or (
                            operador == su_operador and operador in _LISTAS
                        ):
                            continue
                        return True
                    if ruta.startswith(otra + ".") or otra.startswith(ruta + "."):
                        return True
        return False

    def sumar(self, cambio: dict[str, Any], upsert: bool) -> None:
        for operador, campos in cambio.items():
            for ruta, valor in campos.items():
                if operador in _LISTAS:
                    _, valores = self.rutas.get(ruta, (operador, []))
                    if operador == "$push" or valor not in valores:
                        valores = [*valores, valor]
                    self.rutas[ruta] = (operador, valores)
                else:  # the later of $set / $unset / $setOnInsert of one path is what stays
                    self.rutas.pop(ruta, None)
                    self.rutas[ruta] = (operador, valor)
        self.upsert = self.upsert or upsert

    def operacion(self) -> UpdateOne:
        actualizacion: dict[str, dict[str, Any]] = {}
        for ruta, (operador, valor) in self.rutas.items():
            actualizacion.setdefault(operador, {})[ruta] = (
                {"$each": valor} if operador in _LISTAS else valor
            )
        return UpdateOne({"_id": self._id}, actualizacion, upsert=self.upsert)


def _reemplaza(operador: str, pendiente: str) -> bool:
    """A later $set or $unset of a path leaves the same as if it alone had been sent: the earlier
    $set, $unset or $setOnInsert of that path is dropped from the update."""
    return operador in ("$set", "$unset") and pendiente in ("$set", "$unset", "$setOnInsert")


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
    for operador in _LISTAS:
        for ruta, valor in cambio.get(operador, {}).items():
            if isinstance(valor, dict) and any(str(k).startswith("$") for k in valor):
                raise ValueError(f"{operador} con modificadores no se sigue en mano: {ruta}")
            padre, campo = _padre(nuevo, ruta, crear=True)
            actual = padre.setdefault(campo, [])
            valor = _al_milisegundo(copy.deepcopy(valor))
            if operador == "$push" or valor not in actual:
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
