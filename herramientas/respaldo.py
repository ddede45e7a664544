"""Backup and restore of every store of the platform (issue 9), streamed through pymongo.

    python -m herramientas.respaldo respaldar --destino DIR [--servicio S ...] [--almacen S=URL ...]
    python -m herramientas.respaldo verificar --origen DIR [--servicio S ...]
    python -m herramientas.respaldo restaurar --origen DIR [--servicio S ...] [--almacen S=URL ...]
                                              [--reemplazar]

Each store (the gateway's and the five services') is found, in this order, in `--almacen S=URL`,
`MONGO_URL_<S>`, `MONGO_URL` (one server, a database per service), or the local launcher's port
for it (27100 + its position). The database is the URL's path when it has one, else the service's
name, as the processes name it (MONGO_DB).

A backup is a folder: `<servicio>/<coleccion>.bson.gz` (the collection's documents as
concatenated BSON, gzip; GridFS's `fs.files`/`fs.chunks` are collections like any other),
`<servicio>/esquema.json` (collection options and index specs in canonical Extended JSON, so that
unique, partial and TTL options and number types come back as they were), and `manifiesto.json`,
written last: per database and collection the number of documents and the SHA-256 of every file.
A folder without a manifest is an interrupted backup and is never restored.

Documents travel in batches (raw BSON, never decoded, never a whole collection in memory). A
restore checks every hash before it writes anything, refuses a database that holds documents
unless told to replace it, inserts, checks the counts, and builds the indexes last (as mongorestore
does: a TTL index built before the documents could expire some of them while they are counted).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import bson
from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient, uri_parser
from pymongo.database import Database
from pymongo.errors import (
    ConfigurationError,
    InvalidURI,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from herramientas.local import SERVICIOS, Puertos

ALMACENES = ("gateway", *SERVICIOS)
MANIFIESTO = "manifiesto.json"
ESQUEMA = "esquema.json"
FORMATO = 1
# A batch is bounded by documents and by bytes: GridFS chunks are ~255 kB each.
LOTE_DOCUMENTOS = 1000
LOTE_BYTES = 8 * 1024 * 1024
TIEMPO_OPERACION_MS = 120_000
CRUDO = CodecOptions(document_class=RawBSONDocument)
JSON_CANONICO = json_util.CANONICAL_JSON_OPTIONS

# Exit codes (argparse already uses 2 for a wrong command line).
SALIDA_ALMACEN = 1  # a store did not answer or refused an operation
SALIDA_USO = 2
SALIDA_RESPALDO_INVALIDO = 3  # no manifest, a file missing or altered, a service not in it
SALIDA_OCUPADO = 4  # the backup folder or a target database already holds data
SALIDA_VERIFICACION = 5  # counts after a restore differ from the manifest

Aviso = Callable[[str], None]


class ErrorRespaldo(Exception):
    salida = SALIDA_ALMACEN


class RespaldoInvalido(ErrorRespaldo):
    salida = SALIDA_RESPALDO_INVALIDO


class Ocupado(ErrorRespaldo):
    salida = SALIDA_OCUPADO


class VerificacionFallida(ErrorRespaldo):
    salida = SALIDA_VERIFICACION


class UsoIncorrecto(ErrorRespaldo):
    salida = SALIDA_USO


@dataclass(frozen=True)
class Almacen:
    """Where one service's database lives."""

    servicio: str
    url: str

    @property
    def base(self) -> str:
        return uri_parser.parse_uri(self.url)["database"] or self.servicio

    @property
    def donde(self) -> str:
        """Hosts and database, never the credentials the URL may carry."""
        nodos = ",".join(f"{host}:{puerto}" for host, puerto in self._nodos())
        return f"{nodos}/{self.base}"

    def _nodos(self) -> list[tuple[str, int]]:
        return sorted(uri_parser.parse_uri(self.url)["nodelist"])

    def identidad(self) -> tuple[tuple[tuple[str, int], ...], str]:
        return tuple(self._nodos()), self.base

    def cliente(self) -> MongoClient:
        return MongoClient(
            self.url,
            # Durable, as the services write (DESIGN.md §3): a restored reclamo must stay restored.
            w="majority",
            journal=True,
            # A bound on each read from the server (timeoutMS would also stretch the wait to
            # find a server that is down).
            socketTimeoutMS=TIEMPO_OPERACION_MS,
            serverSelectionTimeoutMS=5000,
            connectTimeoutMS=5000,
        )


def almacenes(
    servicios: Sequence[str] | None = None,
    urls: Mapping[str, str] | None = None,
    entorno: Mapping[str, str] | None = None,
) -> list[Almacen]:
    """The stores of `servicios` (all by default): `urls` first, then the environment
    (MONGO_URL_<SERVICIO>, MONGO_URL), then the local launcher's ports."""
    entorno = os.environ if entorno is None else entorno
    urls = urls or {}
    elegidos = list(dict.fromkeys(servicios or ALMACENES))
    desconocidos = [s for s in [*elegidos, *urls] if s not in ALMACENES]
    if desconocidos:
        raise UsoIncorrecto(
            f"servicio desconocido: {', '.join(desconocidos)} (son: {', '.join(ALMACENES)})"
        )
    resultado = []
    for servicio in elegidos:
        url = (
            urls.get(servicio)
            or entorno.get(f"MONGO_URL_{servicio.upper()}")
            or entorno.get("MONGO_URL")
            or f"mongodb://127.0.0.1:{Puertos().almacen + ALMACENES.index(servicio)}"
        )
        almacen = Almacen(servicio, url)
        try:
            almacen.identidad()
        except (InvalidURI, ConfigurationError, ValueError) as exc:
            raise UsoIncorrecto(f"la URL del almacén de {servicio} no es válida: {exc}") from exc
        resultado.append(almacen)
    vistos: dict[Any, str] = {}
    for almacen in resultado:
        otro = vistos.setdefault(almacen.identidad(), almacen.servicio)
        if otro != almacen.servicio:
            # A shared MONGO_URL with a database in its path would make one database of all.
            raise UsoIncorrecto(
                f"{otro} y {almacen.servicio} apuntan a la misma base ({almacen.donde})"
            )
    return resultado


def _archivo(coleccion: str) -> str:
    # Collection names may hold characters a file name should not ('/', spaces).
    return quote(coleccion, safe="") + ".bson.gz"


def _sha256(ruta: Path) -> str:
    with ruta.open("rb") as archivo:
        return hashlib.file_digest(archivo, "sha256").hexdigest()


def _ahora() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _escribir_durable(ruta: Path, escribir: Callable[[IO[bytes]], None]) -> None:
    """Writes through a temporary name, fsyncs and renames: the file is whole or absent."""
    temporal = ruta.with_name(ruta.name + ".parcial")
    with temporal.open("wb") as archivo:
        escribir(archivo)
        archivo.flush()
        os.fsync(archivo.fileno())
    os.replace(temporal, ruta)


def _sincronizar_carpeta(carpeta: Path) -> None:
    descriptor = os.open(carpeta, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _contar(lote: bytes) -> int:
    """Documents in a batch of concatenated BSON (each starts with its int32 length)."""
    cuantos = posicion = 0
    while posicion < len(lote):
        posicion += int.from_bytes(lote[posicion : posicion + 4], "little")
        cuantos += 1
    return cuantos


def _volcar(db: Database, coleccion: str, ruta: Path) -> int:
    cuantos = 0

    def escribir(archivo: IO[bytes]) -> None:
        nonlocal cuantos
        with gzip.GzipFile(fileobj=archivo, mode="wb", compresslevel=6, mtime=0) as comprimido:
            for lote in db[coleccion].find_raw_batches(batch_size=LOTE_DOCUMENTOS):
                comprimido.write(lote)
                cuantos += _contar(lote)

    _escribir_durable(ruta, escribir)
    return cuantos


def _indices(db: Database, coleccion: str) -> list[dict[str, Any]]:
    """Index specs as createIndexes takes them: every option kept (unique, partial filter,
    expireAfterSeconds...), the version and namespace left to the target server."""
    return [
        {clave: valor for clave, valor in indice.items() if clave not in ("v", "ns")}
        for indice in db[coleccion].list_indexes()
        if indice["name"] != "_id_"
    ]


def respaldar(destino: Path, elegidos: Sequence[Almacen], aviso: Aviso = print) -> dict[str, Any]:
    """Backs up every database of `elegidos` into `destino` (a new or empty folder) and
    returns the manifest, which is written last."""
    destino = Path(destino)
    if destino.exists() and (not destino.is_dir() or any(destino.iterdir())):
        raise Ocupado(f"{destino} ya existe y no está vacía: elija una carpeta nueva")
    destino.mkdir(parents=True, exist_ok=True)
    manifiesto: dict[str, Any] = {
        "formato": FORMATO,
        "herramienta": "herramientas.respaldo",
        "inicio": _ahora(),
        "bases": {},
    }
    for almacen in elegidos:
        with _en(almacen):
            manifiesto["bases"][almacen.servicio] = _respaldar_base(destino, almacen, aviso)
    manifiesto["fin"] = _ahora()
    texto = json.dumps(manifiesto, indent=2, ensure_ascii=False)
    _escribir_durable(destino / MANIFIESTO, lambda archivo: archivo.write(texto.encode()))
    _sincronizar_carpeta(destino)
    return manifiesto


@contextlib.contextmanager
def _en(almacen: Almacen) -> Iterator[None]:
    """A store's failure, named by its service and hosts (never by its URL, which may hold a
    password)."""
    try:
        yield
    except ServerSelectionTimeoutError as exc:
        raise ErrorRespaldo(
            f"el almacén de {almacen.servicio} ({almacen.donde}) no responde"
        ) from exc
    except PyMongoError as exc:
        raise ErrorRespaldo(
            f"almacén de {almacen.servicio} ({almacen.donde}): {type(exc).__name__}: {exc}"[:400]
        ) from exc


def _respaldar_base(destino: Path, almacen: Almacen, aviso: Aviso) -> dict[str, Any]:
    carpeta = destino / almacen.servicio
    carpeta.mkdir()
    colecciones: dict[str, Any] = {}
    esquema: dict[str, Any] = {}
    with almacen.cliente() as cliente:
        db = cliente[almacen.base]
        for info in sorted(db.list_collections(), key=lambda info: info["name"]):
            nombre = info["name"]
            if nombre.startswith("system."):
                continue
            tipo = info.get("type", "collection")
            esquema[nombre] = {
                "tipo": tipo,
                "opciones": info.get("options", {}),
                "indices": _indices(db, nombre) if tipo == "collection" else [],
            }
            if tipo != "collection":
                continue  # a view has a definition, no documents
            ruta = carpeta / _archivo(nombre)
            cuantos = _volcar(db, nombre, ruta)
            colecciones[nombre] = {
                "archivo": ruta.name,
                "documentos": cuantos,
                "bytes": ruta.stat().st_size,
                "sha256": _sha256(ruta),
            }
            aviso(f"  {almacen.servicio}.{nombre}: {cuantos} documentos")
    texto = json_util.dumps(esquema, json_options=JSON_CANONICO, indent=1)
    _escribir_durable(carpeta / ESQUEMA, lambda archivo, t=texto: archivo.write(t.encode()))
    _sincronizar_carpeta(carpeta)
    total = sum(c["documentos"] for c in colecciones.values())
    aviso(f"{almacen.servicio} ({almacen.donde}): {len(colecciones)} colecciones, {total} doc.")
    return {
        "base": almacen.base,
        "esquema": {"archivo": ESQUEMA, "sha256": _sha256(carpeta / ESQUEMA)},
        "colecciones": colecciones,
    }


def leer_manifiesto(origen: Path) -> dict[str, Any]:
    ruta = Path(origen) / MANIFIESTO
    if not ruta.is_file():
        raise RespaldoInvalido(
            f"{origen} no tiene {MANIFIESTO}: no es un respaldo o el respaldo se interrumpió"
        )
    try:
        manifiesto = json.loads(ruta.read_text())
        bases = manifiesto["bases"]
        formato = manifiesto["formato"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RespaldoInvalido(f"{ruta} está dañado: {exc}") from exc
    if formato != FORMATO:
        raise RespaldoInvalido(f"{ruta}: formato {formato!r} desconocido (se espera {FORMATO})")
    extranos = [s for s in bases if s not in ALMACENES]
    if extranos:
        raise RespaldoInvalido(f"{ruta} nombra servicios desconocidos: {', '.join(extranos)}")
    return manifiesto


def verificar(origen: Path, servicios: Sequence[str], manifiesto: dict[str, Any]) -> None:
    """Every file of `servicios` present, named as the tool names it, with its SHA-256."""
    origen = Path(origen)
    faltan = [s for s in servicios if s not in manifiesto["bases"]]
    if faltan:
        raise RespaldoInvalido(f"el respaldo no incluye: {', '.join(faltan)}")
    for servicio in servicios:
        base = manifiesto["bases"][servicio]
        try:
            esperados = [(ESQUEMA, base["esquema"]["sha256"])]
            for nombre, coleccion in base["colecciones"].items():
                if coleccion["archivo"] != _archivo(nombre):  # never a path out of the folder
                    raise RespaldoInvalido(
                        f"{servicio}.{nombre}: archivo inesperado en el manifiesto"
                    )
                esperados.append((coleccion["archivo"], coleccion["sha256"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise RespaldoInvalido(f"{MANIFIESTO} está dañado ({servicio}): {exc}") from exc
        for archivo, sha in esperados:
            ruta = origen / servicio / archivo
            if not ruta.is_file():
                raise RespaldoInvalido(f"falta {ruta}")
            if _sha256(ruta) != sha:
                raise RespaldoInvalido(
                    f"{ruta} no coincide con su SHA-256 del manifiesto (dañado o alterado)"
                )


def _leer_esquema(origen: Path, servicio: str) -> dict[str, Any]:
    return json_util.loads(
        (Path(origen) / servicio / ESQUEMA).read_text(), json_options=JSON_CANONICO
    )


def _documentos(ruta: Path) -> Iterator[RawBSONDocument]:
    with gzip.open(ruta, "rb") as comprimido:
        yield from bson.decode_file_iter(comprimido, codec_options=CRUDO)


def _lotes(documentos: Iterator[RawBSONDocument]) -> Iterator[list[RawBSONDocument]]:
    lote: list[RawBSONDocument] = []
    tamano = 0
    for documento in documentos:
        lote.append(documento)
        tamano += len(documento.raw)
        if len(lote) >= LOTE_DOCUMENTOS or tamano >= LOTE_BYTES:
            yield lote
            lote, tamano = [], 0
    if lote:
        yield lote


def _con_documentos(db: Database) -> list[str]:
    return [
        nombre
        for nombre in db.list_collection_names()
        if not nombre.startswith("system.") and db[nombre].find_one({}, {"_id": 1}) is not None
    ]


def restaurar(
    origen: Path,
    elegidos: Sequence[Almacen],
    reemplazar: bool = False,
    aviso: Aviso = print,
) -> dict[str, dict[str, int]]:
    """Restores the databases of `elegidos` from the backup in `origen`; returns, per service,
    the documents per collection found after the restore."""
    origen = Path(origen)
    manifiesto = leer_manifiesto(origen)
    servicios = [almacen.servicio for almacen in elegidos]
    verificar(origen, servicios, manifiesto)
    esquemas = {servicio: _leer_esquema(origen, servicio) for servicio in servicios}
    clientes = {almacen.servicio: almacen.cliente() for almacen in elegidos}
    try:
        # Every target is checked before the first write: a refusal writes nothing anywhere.
        for almacen in elegidos:
            with _en(almacen):
                ocupadas = _con_documentos(clientes[almacen.servicio][almacen.base])
            if ocupadas and not reemplazar:
                raise Ocupado(
                    f"la base {almacen.donde} tiene documentos ({', '.join(ocupadas[:5])}); "
                    "restaure en un almacén vacío o use --reemplazar"
                )
        resultado = {}
        for almacen in elegidos:
            with _en(almacen):
                resultado[almacen.servicio] = _restaurar_base(
                    origen,
                    almacen,
                    clientes[almacen.servicio],
                    manifiesto["bases"][almacen.servicio],
                    esquemas[almacen.servicio],
                    aviso,
                )
        return resultado
    finally:
        for cliente in clientes.values():
            cliente.close()


def _restaurar_base(
    origen: Path,
    almacen: Almacen,
    cliente: MongoClient,
    base: dict[str, Any],
    esquema: dict[str, Any],
    aviso: Aviso,
) -> dict[str, int]:
    # What is there is either empty or meant to be replaced: start from nothing, so that no
    # stale collection or index of a previous start survives.
    cliente.drop_database(almacen.base)
    db = cliente[almacen.base]
    for nombre, definicion in esquema.items():
        db.command("create", nombre, **definicion["opciones"])
    for nombre, coleccion in base["colecciones"].items():
        ruta = origen / almacen.servicio / coleccion["archivo"]
        for lote in _lotes(_documentos(ruta)):
            db[nombre].insert_many(lote, ordered=True, bypass_document_validation=True)
    encontrados = {nombre: db[nombre].count_documents({}) for nombre in base["colecciones"]}
    distintos = {
        nombre: (coleccion["documentos"], encontrados[nombre])
        for nombre, coleccion in base["colecciones"].items()
        if encontrados[nombre] != coleccion["documentos"]
    }
    if distintos:
        detalle = "; ".join(
            f"{n}: {esp} esperados, {hay} hallados" for n, (esp, hay) in distintos.items()
        )
        raise VerificacionFallida(f"{almacen.servicio}: los conteos no coinciden ({detalle})")
    for nombre, definicion in esquema.items():
        if definicion["indices"]:
            db.command("createIndexes", nombre, indexes=definicion["indices"])
    total = sum(encontrados.values())
    aviso(f"{almacen.servicio} ({almacen.donde}): {len(encontrados)} colecciones, {total} doc.")
    return encontrados


def _pares(valores: Sequence[str]) -> dict[str, str]:
    pares = {}
    for valor in valores:
        servicio, signo, url = valor.partition("=")
        if not signo or not re.fullmatch(r"[a-z]+", servicio) or not url:
            raise UsoIncorrecto(f"--almacen espera SERVICIO=URL, no {valor.split('=')[0]!r}=…")
        pares[servicio] = url
    return pares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m herramientas.respaldo",
        description="Respaldo y restauración de las bases de la plataforma (gateway y los cinco "
        "servicios). Cada almacén se toma de --almacen, MONGO_URL_<SERVICIO>, MONGO_URL o, "
        "por defecto, del puerto del lanzador local (27100 en adelante).",
    )
    ordenes = parser.add_subparsers(dest="orden", required=True)

    def comunes(sub: argparse.ArgumentParser, con_almacen: bool = True) -> None:
        sub.add_argument(
            "--servicio",
            action="append",
            choices=ALMACENES,
            help="solo este servicio (repetible; por defecto todos)",
        )
        if con_almacen:
            sub.add_argument(
                "--almacen",
                action="append",
                default=[],
                metavar="SERVICIO=URL",
                help="URL de MongoDB de un servicio (repetible)",
            )

    sub = ordenes.add_parser("respaldar", help="copia cada base a una carpeta nueva")
    sub.add_argument("--destino", type=Path, required=True, help="carpeta nueva o vacía")
    comunes(sub)
    sub = ordenes.add_parser("verificar", help="comprueba un respaldo sin escribir nada")
    sub.add_argument("--origen", type=Path, required=True)
    comunes(sub, con_almacen=False)
    sub = ordenes.add_parser("restaurar", help="restaura un respaldo en almacenes vacíos")
    sub.add_argument("--origen", type=Path, required=True)
    sub.add_argument(
        "--reemplazar",
        action="store_true",
        help="borra y reemplaza las bases que ya tengan documentos",
    )
    comunes(sub)
    args = parser.parse_args(argv)
    try:
        if args.orden == "verificar":
            manifiesto = leer_manifiesto(args.origen)
            servicios = args.servicio or list(manifiesto["bases"])
            verificar(args.origen, servicios, manifiesto)
            print(f"respaldo íntegro ({manifiesto.get('fin')}): {', '.join(servicios)}")
            return 0
        elegidos = almacenes(args.servicio, _pares(args.almacen))
        if args.orden == "respaldar":
            manifiesto = respaldar(args.destino, elegidos)
            print(f"respaldo completo en {args.destino} ({manifiesto['fin']})")
        else:
            restaurar(args.origen, elegidos, args.reemplazar)
            print(f"restauración completa desde {args.origen}")
        return 0
    except ErrorRespaldo as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.orden == "respaldar" and not isinstance(exc, (Ocupado, UsoIncorrecto)):
            print(f"respaldo interrumpido: {args.destino} no tiene manifiesto", file=sys.stderr)
        return exc.salida
    except OSError as exc:
        print(f"error de archivo: {exc}", file=sys.stderr)
        return SALIDA_ALMACEN


if __name__ == "__main__":
    raise SystemExit(main())
