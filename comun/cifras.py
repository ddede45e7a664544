"""Report figures kept incrementally (issue 8), the part every owning service shares.

A service describes what one of its documents (a reclamo in the bandeja, a clock, a survey)
contributes to the figures: `Aporte(entidad, unidad, mes, valores)`, `valores` a flat dict of
counters ("recibidos": 1, "motivo:trato": 1, "dias:12": 1...; ":" not "." inside a name, so the
store keeps them flat). Whenever it writes that document it
calls `mover(db, aporte_antes, aporte_despues, sesion)` in the same transaction: the old
contribution is taken out and the new one put in, with `$inc` on two buckets each — the unit's
(entidad, unidad, mes) and the entity's total (entidad, "*", mes). Idempotent because the
Despachador applies each event once, and order-proof because the contribution is a function of
the document, not of the event.

Every change also goes, for the entity's total, to one document per month holding every entity
("*|*|mes", counters under `e.<entidad>`): any report reads one document per month.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import asegurar_colecciones
from comun.tiempo import LIMA

COLECCION = "cifras"
TODAS = "*"  # the unidad of an entity's total bucket
SIN_UNIDAD = "-"  # a reclamo whose unit is not known yet
PATRON_MES = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_MESES = 120


@dataclass(frozen=True)
class Aporte:
    entidad: str
    unidad: str
    mes: str
    valores: dict[str, int | float] = field(default_factory=dict)


def mes_de(momento: datetime) -> str:
    """The month (AAAA-MM) of `momento` in Lima."""
    if momento.tzinfo is None:
        momento = momento.replace(tzinfo=UTC)
    return momento.astimezone(LIMA).strftime("%Y-%m")


def preparar(db: Database) -> None:
    # Read by _id only (leer): no other index to keep up on every write.
    asegurar_colecciones(db, COLECCION)  # not created inside a transaction (comun.almacen)


def _id(entidad: str, unidad: str, mes: str) -> str:
    return f"{entidad}|{unidad}|{mes}"


def mover(
    db: Database, antes: Aporte | None, despues: Aporte | None, sesion: ClientSession | None
) -> None:
    """Replaces `antes` by `despues` in the buckets (either may be None), in `sesion`."""
    cambios: dict[tuple[str, str, str], dict[str, int | float]] = defaultdict(dict)
    for aporte, signo in ((antes, -1), (despues, 1)):
        if aporte is None:
            continue
        for unidad in (aporte.unidad, TODAS):
            cubeta = cambios[(aporte.entidad, unidad, aporte.mes)]
            for clave, valor in aporte.valores.items():
                cubeta[clave] = cubeta.get(clave, 0) + signo * valor
    # The month of every entity in one document too ("*|*|mes", counters under e.<entidad>):
    # a report across entities reads one document per month.
    por_mes: dict[str, dict[str, int | float]] = defaultdict(dict)
    for (entidad, unidad, mes), inc in sorted(cambios.items()):
        if unidad == TODAS:
            por_mes[mes].update({f"e.{entidad}.{k}": v for k, v in inc.items() if v})
        _incrementar(db, entidad, unidad, mes, {f"v.{k}": v for k, v in inc.items() if v}, sesion)
    for mes, inc in sorted(por_mes.items()):
        # `version` tells a reader's cache that the month changed (see _Meses).
        _incrementar(db, TODAS, TODAS, mes, {**inc, "version": 1}, sesion)


def _incrementar(
    db: Database, entidad: str, unidad: str, mes: str, inc: dict, sesion: ClientSession | None
) -> None:
    if inc:
        db[COLECCION].update_one(
            {"_id": _id(entidad, unidad, mes)},
            {"$inc": inc, "$setOnInsert": {"entidad": entidad, "unidad": unidad, "mes": mes}},
            upsert=True,
            session=sesion,
        )


def siguiente(mes: str) -> str:
    anio, m = int(mes[:4]), int(mes[5:])
    return f"{anio + m // 12:04d}-{m % 12 + 1:02d}"


def sumar(destino: dict, valores: dict) -> None:
    for clave, valor in valores.items():
        if valor:
            destino[clave] = destino.get(clave, 0) + valor


def leer(
    db: Database,
    desde: str,
    hasta: str,
    entidades: Iterable[str] | None = None,
    unidad: str | None = None,
    agrupar: str = "entidad,mes",
) -> dict[str, dict[str, dict]]:
    """The buckets of the months desde..hasta (AAAA-MM, both included), of `entidades` (None:
    all) and, given `unidad`, of that unit only; summed by each grouping asked for ("entidad",
    "mes", "entidad_mes"). Values stay flat and additive: the gateway derives the rest.

    Read by _id, never by scanning: a unit's or one entity's buckets (a document per month), else
    the months of every entity (a document per month, filtered here)."""
    meses = lista_de_meses(desde, hasta)
    grupos = [g for g in agrupar.split(",") if g in ("entidad", "mes", "entidad_mes")]
    salida: dict[str, dict[str, dict]] = {g: defaultdict(dict) for g in grupos}
    pedidas = sorted(set(entidades)) if entidades is not None else None

    def anotar(entidad: str, mes: str, valores: dict) -> None:
        for grupo in grupos:
            if grupo == "entidad":
                clave = entidad
            elif grupo == "mes":
                clave = mes
            else:
                clave = f"{entidad}|{mes}"
            sumar(salida[grupo][clave], valores)

    if unidad or (pedidas is not None and len(pedidas) == 1):
        ids = [_id(e, unidad or TODAS, m) for e in pedidas or [] for m in meses]
        for doc in db[COLECCION].find({"_id": {"$in": ids}}, {"entidad": 1, "mes": 1, "v": 1}):
            anotar(doc["entidad"], doc["mes"], doc.get("v") or {})
    else:
        quedan = set(pedidas) if pedidas is not None else None
        for doc in _MESES.leer(db, [_id(TODAS, TODAS, m) for m in meses]):
            for entidad, anidado in (doc.get("e") or {}).items():
                if quedan is None or entidad in quedan:
                    anotar(entidad, doc["mes"], anidado)
    return {g: dict(v) for g, v in salida.items()}


class _Meses:
    """The "every entity" month documents, kept decoded in this process and read again only when
    their `version` moved. Such a document weighs ~300 KB at 300 entities, and the local store
    takes ~15 ms to hand one over; asking for the versions of the months is a small read. Never
    stale: a month is served from memory only if its version is the one the store has now (a
    document written without a version is version 0 until its next change)."""

    def __init__(self, maximo: int = 2 * MAX_MESES) -> None:
        self._docs: OrderedDict[tuple[str, str], tuple[int, dict]] = OrderedDict()
        self._maximo = maximo
        self._candado = threading.Lock()

    def leer(self, db: Database, ids: list[str]) -> list[dict]:
        coleccion = db[COLECCION]
        versiones = {
            d["_id"]: d.get("version", 0)
            for d in coleccion.find({"_id": {"$in": ids}}, {"version": 1})
        }
        vigentes: dict[str, dict] = {}
        with self._candado:
            for i, version in versiones.items():
                guardado = self._docs.get((db.name, i))
                if guardado is not None and guardado[0] == version:
                    vigentes[i] = guardado[1]
        faltan = [i for i in versiones if i not in vigentes]
        if faltan:
            for doc in coleccion.find({"_id": {"$in": faltan}}, {"mes": 1, "e": 1, "version": 1}):
                vigentes[doc["_id"]] = doc
                with self._candado:
                    self._docs[(db.name, doc["_id"])] = (doc.get("version", 0), doc)
        with self._candado:
            for i in vigentes:
                if (db.name, i) in self._docs:
                    self._docs.move_to_end((db.name, i))
            while len(self._docs) > self._maximo:
                self._docs.popitem(last=False)
        return [vigentes[i] for i in ids if i in vigentes]


_MESES = _Meses()


def lista_de_meses(desde: str, hasta: str) -> list[str]:
    meses, mes = [], desde
    while mes <= hasta:
        meses.append(mes)
        mes = siguiente(mes)
    return meses


@dataclass(frozen=True)
class Pedido:
    desde: str
    hasta: str
    entidades: list[str] | None
    unidad: str | None
    agrupar: str


def pedido(args: dict[str, str], rol: str, entidad: str | None, unidad: str | None) -> Pedido:
    """The query of an internal `/cifras` route, with the caller's scope applied again here: an
    entity key reads its entity (its unit, for a unit key); the supervisor any; anyone else (the
    gateway's open data) entity totals only. Raises ValueError naming what is wrong."""
    desde, hasta = args.get("desde", ""), args.get("hasta", "")
    if not PATRON_MES.match(desde) or not PATRON_MES.match(hasta) or desde > hasta:
        raise ValueError("desde y hasta deben ser meses AAAA-MM, desde <= hasta")
    if len(lista_de_meses(desde, hasta)) > MAX_MESES:
        raise ValueError(f"el rango no puede superar {MAX_MESES} meses")
    pedidas = [e for e in args.get("entidades", "").split(",") if e] or None
    unidad_pedida = args.get("unidad") or None
    if rol == "entidad":
        if not entidad:
            raise PermissionError
        if pedidas is not None and pedidas != [entidad]:
            raise PermissionError
        pedidas = [entidad]
        if unidad and unidad_pedida and unidad_pedida != unidad:
            raise PermissionError
        unidad_pedida = unidad or unidad_pedida
    elif rol != "supervisor":
        unidad_pedida = None
    if unidad_pedida and (pedidas is None or len(pedidas) != 1):
        raise ValueError("unidad requiere una sola entidad")
    return Pedido(desde, hasta, pedidas, unidad_pedida, args.get("agrupar", "entidad,mes"))


def responder(db: Database, args: dict[str, str], quien) -> tuple[dict, int]:
    """The body and status of a service's `GET /cifras` (quien: comun.web.Identidad)."""
    try:
        p = pedido(args, quien.rol, quien.entidad, quien.unidad)
    except PermissionError:
        return {"error": "prohibido", "mensaje": "No tiene permiso para esta operación."}, 403
    except ValueError as exc:
        return {"error": "datos_invalidos", "mensaje": str(exc)}, 422
    return {"grupos": leer(db, p.desde, p.hasta, p.entidades, p.unidad, p.agrupar)}, 200
