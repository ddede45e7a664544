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

import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import (
    AlmacenOcupado,
    al_confirmar,
    asegurar_colecciones,
    en_transaccion,
    insertar_al_confirmar,
)
from comun.despertador import Despertador
from comun.tiempo import LIMA
from comun.vigia import Vigia

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
        insertar_al_confirmar(db[PENDIENTES], {"c": filas}, sesion)
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
    """The worker's loop that keeps the buckets folded: woken by `mover` in this process; the
    changes the service's web writes are found every `pausa` seconds while busy and, once quiet
    for `reposo_tras`, through the store's change stream (comun.vigia), with a look of its own
    every `pausa_en_reposo`. A report is exact whatever the lag; the fold keeps reads short."""

    def __init__(
        self,
        db: Database,
        pausa: float = 2.0,
        ventana: float = 0.2,
        reposo_tras: float = 10.0,
        pausa_en_reposo: float = 60.0,
    ) -> None:
        self.db = db
        self.pausa = pausa
        self.ventana = ventana  # gathers what arrives meanwhile into one transaction
        self.reposo_tras = reposo_tras
        self.pausa_en_reposo = pausa_en_reposo
        self.vigia = Vigia(db, PENDIENTES)
        self._ultimo = 0.0

    def correr(self, parar: threading.Event) -> None:
        while not parar.is_set():
            if self._plegar_todo(parar) > 0 or time.monotonic() - self._ultimo < self.reposo_tras:
                if hay_pendientes.dormir(parar, self.pausa):
                    parar.wait(self.ventana)
                continue
            self.vigia.vigilar(
                parar, lambda: self._plegar_todo(parar), self.pausa_en_reposo, self.pausa
            )
            parar.wait(self.ventana)

    def _plegar_todo(self, parar: threading.Event) -> int:
        plegados = 0
        try:
            while not parar.is_set():
                n = plegar(self.db)
                plegados += n
                if n < LOTE:
                    break
        except AlmacenOcupado:
            log.info("cifras: otro plegador trabaja; se reintenta")
        if plegados:
            self._ultimo = time.monotonic()
        return plegados


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
    campos: Iterable[str] | None = None,
) -> dict[str, dict[str, dict]]:
    """The buckets of the months desde..hasta (AAAA-MM, both included), of `entidades` (None:
    all) and, given `unidad`, of that unit only; summed by each grouping asked for ("entidad",
    "mes", "entidad_mes"). Values stay flat and additive: the gateway derives the rest.
    `campos` (None: every counter) keeps only those counters; one ending in ":" is a prefix
    ("dias:" keeps the histogram).

    Read by _id, never by scanning: a unit's or one entity's buckets (a document per month), else
    the months of every entity (a document per month, filtered here)."""
    grupos = leer_si_cambio(db, desde, hasta, entidades, unidad, agrupar, campos)[1]
    assert grupos is not None  # nothing to compare with: always read
    return grupos


def leer_si_cambio(
    db: Database,
    desde: str,
    hasta: str,
    entidades: Iterable[str] | None = None,
    unidad: str | None = None,
    agrupar: str = "entidad,mes",
    campos: Iterable[str] | None = None,
    previa: str | None = None,
    anexo: str = "",
) -> tuple[str | None, dict[str, dict[str, dict]] | None]:
    """`leer`, and the fingerprint of what it read: (huella, grupos). When the months of every
    entity are read, the fingerprint names the state exactly — the request, the version of each
    month document and the id of each change not folded yet, all from one snapshot, plus `anexo`
    (what else the caller answers with) — and, if it equals `previa`, the figures are not summed
    at all: (huella, None). A unit's or one entity's buckets carry no version: (None, grupos)."""
    meses = lista_de_meses(desde, hasta)
    grupos = [g for g in agrupar.split(",") if g in ("entidad", "mes", "entidad_mes")]
    pedidas = sorted(set(entidades)) if entidades is not None else None
    por_cubeta = bool(unidad or (pedidas is not None and len(pedidas) == 1))
    quedan = set(pedidas) if pedidas is not None else None
    filtro = _Campos.de(campos)

    def cuenta(entidad: str, unidad_fila: str, mes: str) -> bool:
        """Whether a pending change of this bucket belongs to what is asked."""
        if mes < desde or mes > hasta:
            return False
        if por_cubeta:
            return entidad in (quedan or ()) and unidad_fila == (unidad or TODAS)
        return unidad_fila == TODAS and (quedan is None or entidad in quedan)

    def trabajo(sesion: ClientSession) -> tuple[str | None, dict[str, dict[str, dict]] | None]:
        salida: dict[str, dict[str, dict]] = {g: {} for g in grupos}
        huella = None

        def anotar(entidad: str, mes: str, valores: dict) -> None:
            for grupo in grupos:
                if grupo == "entidad":
                    clave = entidad
                elif grupo == "mes":
                    clave = mes
                else:
                    clave = f"{entidad}|{mes}"
                _acumular(salida[grupo], clave, valores)

        if por_cubeta:
            ids = [_id(e, unidad or TODAS, m) for e in pedidas or [] for m in meses]
            proyeccion = {"entidad": 1, "mes": 1, "v": 1}
            for doc in db[COLECCION].find({"_id": {"$in": ids}}, proyeccion, session=sesion):
                anotar(doc["entidad"], doc["mes"], filtro.tomar(doc.get("v") or {}))
            pendientes = list(db[PENDIENTES].find({}, {"c": 1}, session=sesion))
        else:
            ids = [_id(TODAS, TODAS, m) for m in meses]
            versiones = _MESES.versiones(db, ids, sesion)
            pendientes = list(db[PENDIENTES].find({}, {"c": 1}, session=sesion))
            huella = _huella(
                [desde, hasta, pedidas, agrupar, filtro.clave, anexo],
                sorted(versiones.items()),
                [str(doc["_id"]) for doc in pendientes],
            )
            if huella == previa:
                return huella, None
            por_entidad = [g for g in grupos if g != "mes" or quedan is not None]
            for doc in _MESES.leer(db, versiones, ids, sesion):
                if "mes" in grupos and quedan is None:
                    # The month's sum over every entity, kept with the decoded month.
                    _acumular(salida["mes"], doc["mes"], _MESES.total(db, doc, filtro))
                for entidad, anidado in (doc.get("e") or {}).items():
                    if quedan is None or entidad in quedan:
                        valores = filtro.tomar(anidado)
                        for grupo in por_entidad:
                            if grupo == "entidad":
                                clave = entidad
                            elif grupo == "mes":
                                clave = doc["mes"]
                            else:
                                clave = f"{entidad}|{doc['mes']}"
                            _acumular(salida[grupo], clave, valores)
        # The changes not folded yet, in the same snapshot as the buckets: exact at any lag.
        for doc in pendientes:
            for entidad, unidad_fila, mes, inc in doc["c"]:
                if cuenta(entidad, unidad_fila, mes):
                    anotar(entidad, mes, filtro.tomar(inc))
        # A counter at zero (or taken back to zero by a pending change) is shown as absent.
        return huella, {g: {k: _sin_ceros(v) for k, v in c.items()} for g, c in salida.items()}

    return en_transaccion(db, trabajo)


def _acumular(grupo: dict[str, dict], clave: str, valores: dict) -> None:
    """Adds `valores` to grupo[clave]; the first time as a copy (a C-level copy: most keys of a
    report are seen once, and the cached months must never be changed)."""
    destino = grupo.get(clave)
    if destino is None:
        grupo[clave] = dict(valores)
        return
    anterior = destino.get
    for nombre, valor in valores.items():
        destino[nombre] = anterior(nombre, 0) + valor


def _huella(*partes: object) -> str:
    """An ETag (quoted) for `partes`: the same state always gives the same one."""
    return '"' + hashlib.sha256(repr(partes).encode()).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _Campos:
    """The counters a caller wants: exact names and prefixes (None: every counter)."""

    exactos: frozenset[str] | None
    prefijos: tuple[str, ...]

    @classmethod
    def de(cls, campos: Iterable[str] | None) -> _Campos:
        if campos is None:
            return cls(None, ())
        lista = sorted({c for c in campos if c})
        return cls(
            frozenset(c for c in lista if not c.endswith(":")),
            tuple(c for c in lista if c.endswith(":")),
        )

    @property
    def clave(self) -> tuple | None:
        return None if self.exactos is None else (tuple(sorted(self.exactos)), self.prefijos)

    def tomar(self, valores: dict) -> dict:
        if self.exactos is None:
            return valores
        if not self.prefijos:
            return {c: valores[c] for c in self.exactos if c in valores}
        return {
            c: v for c, v in valores.items() if c in self.exactos or c.startswith(self.prefijos)
        }


class _Meses:
    """The "every entity" month documents, kept decoded in this process and read again only when
    their `version` moved. Such a document weighs ~300 KB at 300 entities, and the local store
    takes ~15 ms to hand one over; asking for the versions of the months is a small read. Never
    stale: a month is served from memory only if its version is the one the store has now (a
    document written without a version is version 0 until its next change). Each month's sum
    over every entity is kept with it (per set of counters asked for)."""

    def __init__(self, maximo: int = 2 * MAX_MESES) -> None:
        self._docs: OrderedDict[tuple[str, str], tuple[int, dict]] = OrderedDict()
        self._totales: OrderedDict[tuple, dict] = OrderedDict()
        self._maximo = maximo
        self._candado = threading.Lock()

    def versiones(self, db: Database, ids: list[str], sesion: ClientSession) -> dict[str, int]:
        return {
            d["_id"]: d.get("version", 0)
            for d in db[COLECCION].find({"_id": {"$in": ids}}, {"version": 1}, session=sesion)
        }

    def leer(
        self, db: Database, versiones: dict[str, int], ids: list[str], sesion: ClientSession
    ) -> list[dict]:
        """The documents `ids` at `versiones` (read in `sesion`), from memory when current."""
        vigentes: dict[str, dict] = {}
        with self._candado:
            for i, version in versiones.items():
                guardado = self._docs.get((db.name, i))
                if guardado is not None and guardado[0] == version:
                    vigentes[i] = guardado[1]
        faltan = [i for i in versiones if i not in vigentes]
        if faltan:
            proyeccion = {"mes": 1, "e": 1, "version": 1}
            for doc in db[COLECCION].find({"_id": {"$in": faltan}}, proyeccion, session=sesion):
                doc.setdefault("version", 0)
                vigentes[doc["_id"]] = doc
                with self._candado:
                    self._docs[(db.name, doc["_id"])] = (doc["version"], doc)
        with self._candado:
            for i in vigentes:
                if (db.name, i) in self._docs:
                    self._docs.move_to_end((db.name, i))
            while len(self._docs) > self._maximo:
                self._docs.popitem(last=False)
        return [vigentes[i] for i in ids if i in vigentes]

    def total(self, db: Database, doc: dict, filtro: _Campos) -> dict:
        """The sum over every entity of the month `doc` (as `leer` returned it); not to be
        changed by the caller."""
        clave = (db.name, doc["_id"], doc.get("version", 0), filtro.clave)
        with self._candado:
            guardado = self._totales.get(clave)
        if guardado is not None:
            return guardado
        total: dict[str, dict] = {}
        for anidado in (doc.get("e") or {}).values():
            _acumular(total, "", filtro.tomar(anidado))
        suma = total.get("", {})
        with self._candado:
            self._totales[clave] = suma
            while len(self._totales) > self._maximo:
                self._totales.popitem(last=False)
        return suma


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
    campos: list[str] | None = None


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
    campos = [c for c in args["campos"].split(",") if c] if "campos" in args else None
    return Pedido(desde, hasta, pedidas, unidad_pedida, args.get("agrupar", "entidad,mes"), campos)


def responder(
    db: Database,
    args: dict[str, str],
    quien,
    previa: str | None = None,
    anexo: dict | None = None,
) -> tuple[str | dict, int, dict[str, str]]:
    """The body, status and headers of a service's `GET /cifras` (quien: comun.web.Identidad):
    `{"grupos": ..., **anexo}`. With an ETag (the fingerprint of what was read, `leer_si_cambio`)
    when there is one, and a 304 without summing anything when it equals `previa` (the caller's
    If-None-Match). The JSON is written here, compact and unsorted: a report of every entity
    is a few hundred kilobytes."""
    try:
        p = pedido(args, quien.rol, quien.entidad, quien.unidad)
    except PermissionError:
        return {"error": "prohibido", "mensaje": "No tiene permiso para esta operación."}, 403, {}
    except ValueError as exc:
        return {"error": "datos_invalidos", "mensaje": str(exc)}, 422, {}
    anexo = anexo or {}
    huella, grupos = leer_si_cambio(
        db,
        p.desde,
        p.hasta,
        p.entidades,
        p.unidad,
        p.agrupar,
        p.campos,
        previa=previa,
        anexo=json.dumps(anexo, sort_keys=True) if anexo else "",
    )
    cabeceras = {"ETag": huella} if huella else {}
    if grupos is None:
        return "", 304, cabeceras
    cuerpo = json.dumps({"grupos": grupos, **anexo}, ensure_ascii=False, separators=(",", ":"))
    return cuerpo, 200, {**cabeceras, "Content-Type": "application/json"}
