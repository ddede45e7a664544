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

Folded, not incremented in place (issue 10): every transition of a month would otherwise write
the same "*|*|mes" document (and a busy entity's), so concurrent handlers' transactions conflicted
and waited for the retry queue. `mover` writes the change as one new document in
`cifras_pendientes` (no conflict: nobody else writes it), and `plegar` — a loop in the service's
worker — folds a batch of them into the buckets and deletes them in one transaction (a change is
folded once: two folders conflict and one retries). A report reads the buckets and the changes
not folded yet in one snapshot, so it is exact whatever the folder's lag.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import AlmacenOcupado, al_confirmar, asegurar_colecciones, en_transaccion
from comun.despertador import Despertador
from comun.tiempo import LIMA

log = logging.getLogger(__name__)
COLECCION = "cifras"
PENDIENTES = "cifras_pendientes"  # changes written by handlers, not folded yet
LOTE = 500  # changes folded per transaction
# Touched after a commit that wrote changes in this process: the worker's folder wakes at once.
hay_pendientes = Despertador()
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
    asegurar_colecciones(db, COLECCION, PENDIENTES)  # not created inside a transaction


def _id(entidad: str, unidad: str, mes: str) -> str:
    return f"{entidad}|{unidad}|{mes}"


def mover(
    db: Database, antes: Aporte | None, despues: Aporte | None, sesion: ClientSession | None
) -> None:
    """Replaces `antes` by `despues` in the buckets (either may be None), in `sesion`: one
    pending change, folded later (`plegar`) and read at once (`leer`)."""
    cambios: dict[tuple[str, str, str], dict[str, int | float]] = defaultdict(dict)
    for aporte, signo in ((antes, -1), (despues, 1)):
        if aporte is None:
            continue
        for unidad in (aporte.unidad, TODAS):
            sumar(
                cambios[(aporte.entidad, unidad, aporte.mes)],
                {clave: signo * valor for clave, valor in aporte.valores.items()},
            )
    filas = [[e, u, m, inc] for (e, u, m), inc in sorted(cambios.items()) if _sin_ceros(inc)]
    if filas:
        db[PENDIENTES].insert_one({"c": filas}, session=sesion)
        al_confirmar(sesion, hay_pendientes.tocar)


def _sin_ceros(inc: dict) -> dict:
    for clave in [k for k, v in inc.items() if not v]:
        del inc[clave]
    return inc


def plegar(db: Database, lote: int = LOTE) -> int:
    """Folds up to `lote` pending changes (oldest first) into the buckets and deletes them, in
    one transaction; returns how many. Each bucket gets one `$inc` for the whole batch."""

    def trabajo(sesion: ClientSession) -> int:
        docs = list(db[PENDIENTES].find({}, session=sesion).sort("_id", 1).limit(lote))
        if not docs:
            return 0
        cubetas: dict[tuple[str, str, str], dict] = defaultdict(dict)
        for doc in docs:
            for entidad, unidad, mes, inc in doc["c"]:
                sumar(cubetas[(entidad, unidad, mes)], inc)
        por_mes: dict[str, dict] = defaultdict(dict)
        operaciones = []
        for (entidad, unidad, mes), inc in sorted(cubetas.items()):
            if not _sin_ceros(inc):
                continue
            if unidad == TODAS:
                por_mes[mes].update({f"e.{entidad}.{k}": v for k, v in inc.items()})
            operaciones.append(
                _incremento(entidad, unidad, mes, {f"v.{k}": v for k, v in inc.items()})
            )
        for mes, inc in sorted(por_mes.items()):
            # `version` tells a reader's cache that the month changed (see _Meses).
            operaciones.append(_incremento(TODAS, TODAS, mes, {**inc, "version": 1}))
        if operaciones:
            db[COLECCION].bulk_write(operaciones, ordered=False, session=sesion)
        db[PENDIENTES].delete_many({"_id": {"$in": [d["_id"] for d in docs]}}, session=sesion)
        return len(docs)

    return en_transaccion(db, trabajo)


def _incremento(entidad: str, unidad: str, mes: str, inc: dict) -> UpdateOne:
    return UpdateOne(
        {"_id": _id(entidad, unidad, mes)},
        {"$inc": inc, "$setOnInsert": {"entidad": entidad, "unidad": unidad, "mes": mes}},
        upsert=True,
    )


class Plegador:
    """The worker's loop that keeps the buckets folded: woken by `mover` in this process, and
    every `pausa` seconds for changes written by the service's web."""

    def __init__(self, db: Database, pausa: float = 2.0, ventana: float = 0.2) -> None:
        self.db = db
        self.pausa = pausa
        self.ventana = ventana  # gathers what arrives meanwhile into one transaction

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            try:
                while plegar(self.db) == LOTE and not parar.is_set():
                    pass
            except AlmacenOcupado:
                log.info("cifras: otro plegador trabaja; se reintenta")
            if hay_pendientes.dormir(parar, self.pausa):
                parar.wait(self.ventana)


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
    pedidas = sorted(set(entidades)) if entidades is not None else None
    por_cubeta = bool(unidad or (pedidas is not None and len(pedidas) == 1))
    quedan = set(pedidas) if pedidas is not None else None

    def cuenta(entidad: str, unidad_fila: str, mes: str) -> bool:
        """Whether a pending change of this bucket belongs to what is asked."""
        if mes < desde or mes > hasta:
            return False
        if por_cubeta:
            return entidad in (quedan or ()) and unidad_fila == (unidad or TODAS)
        return unidad_fila == TODAS and (quedan is None or entidad in quedan)

    def trabajo(sesion: ClientSession) -> dict[str, dict[str, dict]]:
        salida: dict[str, dict[str, dict]] = {g: defaultdict(dict) for g in grupos}

        def anotar(entidad: str, mes: str, valores: dict) -> None:
            for grupo in grupos:
                if grupo == "entidad":
                    clave = entidad
                elif grupo == "mes":
                    clave = mes
                else:
                    clave = f"{entidad}|{mes}"
                sumar(salida[grupo][clave], valores)

        if por_cubeta:
            ids = [_id(e, unidad or TODAS, m) for e in pedidas or [] for m in meses]
            campos = {"entidad": 1, "mes": 1, "v": 1}
            for doc in db[COLECCION].find({"_id": {"$in": ids}}, campos, session=sesion):
                anotar(doc["entidad"], doc["mes"], doc.get("v") or {})
        else:
            for doc in _MESES.leer(db, [_id(TODAS, TODAS, m) for m in meses], sesion):
                for entidad, anidado in (doc.get("e") or {}).items():
                    if quedan is None or entidad in quedan:
                        anotar(entidad, doc["mes"], anidado)
        # The changes not folded yet, in the same snapshot as the buckets: exact at any lag.
        for doc in db[PENDIENTES].find({}, {"c": 1}, session=sesion):
            for entidad, unidad_fila, mes, inc in doc["c"]:
                if cuenta(entidad, unidad_fila, mes):
                    anotar(entidad, mes, inc)
        # A pending change may take a counter back to zero: shown as absent, as before.
        return {g: {k: _sin_ceros(v) for k, v in c.items()} for g, c in salida.items()}

    return en_transaccion(db, trabajo)


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

    def leer(self, db: Database, ids: list[str], sesion: ClientSession) -> list[dict]:
        coleccion = db[COLECCION]
        versiones = {
            d["_id"]: d.get("version", 0)
            for d in coleccion.find({"_id": {"$in": ids}}, {"version": 1}, session=sesion)
        }
        vigentes: dict[str, dict] = {}
        with self._candado:
            for i, version in versiones.items():
                guardado = self._docs.get((db.name, i))
                if guardado is not None and guardado[0] == version:
                    vigentes[i] = guardado[1]
        faltan = [i for i in versiones if i not in vigentes]
        if faltan:
            campos = {"mes": 1, "e": 1, "version": 1}
            for doc in coleccion.find({"_id": {"$in": faltan}}, campos, session=sesion):
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
