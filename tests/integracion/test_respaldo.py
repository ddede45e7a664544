"""herramientas.respaldo on real SecantusDB servers: stores filled with documents of every BSON
type the services write, a GridFS file and unique/partial/TTL indexes are backed up, restored
into a FRESH server and compared with the originals (counts, every document, every index spec);
a backup that is corrupted, truncated or interrupted is refused and writes nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import gridfs
import pytest
from bson import Binary, Decimal128, Int64, ObjectId
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from herramientas import respaldo
from tests.conftest import ESPERA_MONGO, _mongo_responde, _parar, _puerto_libre

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(180)]

RECLAMOS = 2345  # more than two batches of respaldo.LOTE_DOCUMENTOS
ADJUNTO = os.urandom(700_000)  # three GridFS chunks of 255 kB
AHORA = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def almacen_fresco(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new SecantusDB server, started for this module only: the stores restored into."""
    directorio = tmp_path_factory.mktemp("fresco")
    ejecutable = Path(sys.executable).parent / "secantusd-py"
    for intento in range(3):
        puerto = _puerto_libre()
        url = f"mongodb://127.0.0.1:{puerto}"
        with (directorio / "secantusd.log").open("ab") as salida:
            proceso = subprocess.Popen(
                [
                    *(str(ejecutable), "--host", "127.0.0.1", "--port", str(puerto)),
                    *("--storage-path", str(directorio / f"datos-{intento}")),
                ],
                stdout=salida,
                stderr=subprocess.STDOUT,
                cwd=directorio,
            )
        limite = time.monotonic() + ESPERA_MONGO
        while proceso.poll() is None and time.monotonic() < limite:
            if _mongo_responde(url):
                break
            time.sleep(0.2)
        if proceso.poll() is None and _mongo_responde(url):
            break
        _parar(proceso)
    else:
        pytest.fail(f"secantusd-py no arrancó; ver {directorio / 'secantusd.log'}", pytrace=False)
    try:
        yield url
    finally:
        _parar(proceso)


@pytest.fixture
def nombres() -> dict[str, str]:
    """Database names of this test, one per service it backs up."""
    sufijo = uuid.uuid4().hex[:8]
    return {s: f"resp_{sufijo}_{s}" for s in ("registro", "gateway", "plazos")}


@pytest.fixture
def origen(mongo_url: str, nombres: dict[str, str]) -> Iterator[dict[str, Database]]:
    """The source stores (the session's server), filled."""
    cliente: MongoClient = MongoClient(mongo_url, tz_aware=True)
    bases = {s: cliente[n] for s, n in nombres.items()}
    _llenar(bases)
    yield bases
    for base in bases.values():
        cliente.drop_database(base.name)
    cliente.close()


@pytest.fixture
def destino(almacen_fresco: str, nombres: dict[str, str]) -> Iterator[dict[str, Database]]:
    cliente: MongoClient = MongoClient(almacen_fresco, tz_aware=True)
    yield {s: cliente[n] for s, n in nombres.items()}
    for nombre in nombres.values():
        cliente.drop_database(nombre)
    cliente.close()


def _llenar(bases: dict[str, Database]) -> None:
    registro = bases["registro"]
    registro.reclamos.insert_many(
        {
            "_id": ObjectId(),
            "codigo": f"R-{i:06d}",
            "estado": "derivado" if i % 3 else "registrado",
            "registrado_en": AHORA - timedelta(minutes=i),
            "version": Int64(2**40 + i),
            "monto": Decimal128(Decimal("12.50")),
            "huella": Binary(hashlib.sha256(str(i).encode()).digest()),
            "historial": [{"tipo": "reclamo.registrado", "n": i}],
            "ciudadano": {"documento": {"tipo": "dni", "numero": f"{i:08d}"}},
        }
        for i in range(RECLAMOS)
    )
    registro.reclamos.create_index("codigo", unique=True, name="codigo_unico")
    registro.reclamos.create_index(
        [("estado", 1), ("registrado_en", -1)],
        name="abiertos",
        partialFilterExpression={"estado": "registrado"},
    )
    registro.idempotencia.insert_many(
        [{"_id": f"clave-{i}", "creado_en": AHORA, "respuesta": {"status": 201}} for i in range(7)]
    )
    registro.idempotencia.create_index("creado_en", name="caducidad", expireAfterSeconds=86400)
    registro["bandeja de salida"].insert_one({"_id": 1, "texto": "nombre con espacio"})
    gridfs.GridFS(registro).put(ADJUNTO, filename="constancia.pdf", codigo="R-000001")
    bases["gateway"].credenciales.insert_one({"_id": "hash-de-clave", "rol": "operador"})
    # plazos stays without collections: an empty database is backed up and restored as such.


def _argumentos(almacen: str, nombres: dict[str, str]) -> list[str]:
    argumentos = []
    for servicio, nombre in nombres.items():
        argumentos += ["--servicio", servicio, "--almacen", f"{servicio}={almacen}/{nombre}"]
    return argumentos


def _indices(db: Database, coleccion: str) -> dict[str, dict]:
    return {
        i["name"]: {k: v for k, v in i.items() if k not in ("v", "ns")}
        for i in db[coleccion].list_indexes()
    }


def _respaldar(mongo_url: str, nombres: dict[str, str], carpeta: Path) -> None:
    assert (
        respaldo.main(["respaldar", "--destino", str(carpeta), *_argumentos(mongo_url, nombres)])
        == 0
    )


def test_respaldo_y_restauracion_en_almacenes_nuevos(
    mongo_url, almacen_fresco, nombres, origen, destino, tmp_path, capsys
):
    carpeta = tmp_path / "respaldo"
    _respaldar(mongo_url, nombres, carpeta)

    manifiesto = json.loads((carpeta / "manifiesto.json").read_text())
    registro = manifiesto["bases"]["registro"]["colecciones"]
    assert registro["reclamos"]["documentos"] == RECLAMOS
    assert registro["idempotencia"]["documentos"] == 7
    assert registro["fs.chunks"]["documentos"] == 3  # ceil(700 000 / 261 120)
    assert registro["fs.files"]["documentos"] == 1
    assert registro["bandeja de salida"]["documentos"] == 1
    assert manifiesto["bases"]["plazos"]["colecciones"] == {}
    for nombre, coleccion in registro.items():
        archivo = carpeta / "registro" / coleccion["archivo"]
        assert hashlib.sha256(archivo.read_bytes()).hexdigest() == coleccion["sha256"], nombre
    # The data really is compressed: far smaller than the 700 kB of random bytes plus rows.
    with gzip.open(carpeta / "registro" / registro["reclamos"]["archivo"]) as f:
        assert len(f.read()) > 2 * registro["reclamos"]["bytes"]

    argumentos = _argumentos(almacen_fresco, nombres)
    assert respaldo.main(["restaurar", "--origen", str(carpeta), *argumentos]) == 0

    for servicio, fuente in origen.items():
        restaurada = destino[servicio]
        assert sorted(restaurada.list_collection_names()) == sorted(
            fuente.list_collection_names()
        ), servicio
        for coleccion in fuente.list_collection_names():
            esperados = list(fuente[coleccion].find().sort("_id", 1))
            hallados = list(restaurada[coleccion].find().sort("_id", 1))
            assert len(hallados) == len(esperados), coleccion
            assert hallados == esperados, coleccion
            assert _indices(restaurada, coleccion) == _indices(fuente, coleccion), coleccion

    restaurada = destino["registro"]
    # The options themselves, as written above (not only "equal to the source").
    indices = _indices(restaurada, "reclamos")
    assert indices["codigo_unico"]["unique"] is True
    assert indices["abiertos"]["partialFilterExpression"] == {"estado": "registrado"}
    assert _indices(restaurada, "idempotencia")["caducidad"]["expireAfterSeconds"] == 86400
    with pytest.raises(DuplicateKeyError):
        restaurada.reclamos.insert_one({"codigo": "R-000007"})
    documento = restaurada.reclamos.find_one({"codigo": "R-000005"})
    assert documento["version"] == 2**40 + 5 and isinstance(documento["version"], Int64)
    assert documento["monto"] == Decimal128(Decimal("12.50"))
    assert documento["registrado_en"] == AHORA - timedelta(minutes=5)
    adjunto = gridfs.GridFS(restaurada).find_one({"filename": "constancia.pdf"})
    assert adjunto.codigo == "R-000001"
    assert hashlib.sha256(adjunto.read()).digest() == hashlib.sha256(ADJUNTO).digest()

    # Once restored, the same stores are not overwritten by mistake...
    capsys.readouterr()
    assert respaldo.main(["restaurar", "--origen", str(carpeta), *argumentos]) == 4
    assert "--reemplazar" in capsys.readouterr().err
    assert restaurada.reclamos.count_documents({}) == RECLAMOS
    # ...and with --reemplazar they hold the backup again, not the backup twice.
    restaurada.reclamos.insert_one({"codigo": "posterior al respaldo"})
    restaurar = ["restaurar", "--origen", str(carpeta), "--reemplazar", *argumentos]
    assert respaldo.main(restaurar) == 0
    assert restaurada.reclamos.count_documents({}) == RECLAMOS
    assert restaurada.reclamos.find_one({"codigo": "posterior al respaldo"}) is None


def _danar(carpeta: Path, como: str) -> None:
    if como == "corrupto":
        archivo = carpeta / "registro" / "reclamos.bson.gz"
        datos = bytearray(archivo.read_bytes())
        datos[len(datos) // 2] ^= 0xFF
        archivo.write_bytes(bytes(datos))
    elif como == "truncado":
        archivo = carpeta / "registro" / "fs.chunks.bson.gz"
        archivo.write_bytes(archivo.read_bytes()[:1000])
    elif como == "interrumpido":
        (carpeta / "manifiesto.json").unlink()
    elif como == "indices_alterados":
        # A service checked after registro: registro must not be written either.
        archivo = carpeta / "gateway" / "esquema.json"
        archivo.write_text(archivo.read_text().replace("credenciales", "credencialez"))


@pytest.mark.parametrize(
    ("como", "mensaje"),
    [
        ("corrupto", "SHA-256"),
        ("truncado", "SHA-256"),
        ("interrumpido", "no tiene manifiesto.json"),
        ("indices_alterados", "SHA-256"),
    ],
)
def test_un_respaldo_danado_se_rechaza_sin_escribir_nada(
    mongo_url, almacen_fresco, nombres, origen, destino, tmp_path, capsys, como, mensaje
):
    carpeta = tmp_path / "respaldo"
    _respaldar(mongo_url, nombres, carpeta)
    _danar(carpeta, como)
    capsys.readouterr()

    assert respaldo.main(["verificar", "--origen", str(carpeta)]) == 3
    restaurar = ["restaurar", "--origen", str(carpeta), *_argumentos(almacen_fresco, nombres)]
    assert respaldo.main(restaurar) == 3
    assert respaldo.main([*restaurar, "--reemplazar"]) == 3
    error = capsys.readouterr().err
    assert mensaje in error
    cliente = next(iter(destino.values())).client
    assert not set(nombres.values()) & set(cliente.list_database_names())


def test_respaldo_sobre_carpeta_usada_o_almacen_caido(mongo_url, nombres, origen, tmp_path, capsys):
    carpeta = tmp_path / "respaldo"
    _respaldar(mongo_url, nombres, carpeta)
    antes = {p: p.stat().st_mtime_ns for p in carpeta.rglob("*")}
    # A second backup into the same folder would mix two moments: refused, the first intact.
    assert (
        respaldo.main(["respaldar", "--destino", str(carpeta), *_argumentos(mongo_url, nombres)])
        == 4
    )
    assert {p: p.stat().st_mtime_ns for p in carpeta.rglob("*")} == antes

    # A store that does not answer: exit 1, and the folder has no manifest (not restorable).
    caido = f"mongodb://usuario:clave-secreta@127.0.0.1:{_puerto_libre()}"
    otra = tmp_path / "otra"
    capsys.readouterr()
    argumentos = _argumentos(mongo_url, {"registro": nombres["registro"]})
    argumentos += ["--servicio", "gateway", "--almacen", f"gateway={caido}/{nombres['gateway']}"]
    assert respaldo.main(["respaldar", "--destino", str(otra), *argumentos]) == 1
    error = capsys.readouterr().err
    assert "gateway" in error and "no responde" in error
    assert "clave-secreta" not in error
    assert not (otra / "manifiesto.json").exists()
    assert respaldo.main(["verificar", "--origen", str(otra)]) == 3


def test_almacenes_por_defecto_y_por_entorno():
    por_defecto = {a.servicio: a.donde for a in respaldo.almacenes(entorno={})}
    assert por_defecto == {
        "gateway": "127.0.0.1:27100/gateway",
        "registro": "127.0.0.1:27101/registro",
        "derivacion": "127.0.0.1:27102/derivacion",
        "plazos": "127.0.0.1:27103/plazos",
        "notificaciones": "127.0.0.1:27104/notificaciones",
        "encuestas": "127.0.0.1:27105/encuestas",
    }
    entorno = {
        "MONGO_URL": "mongodb://mongo:27017/?replicaSet=rs0",
        "MONGO_URL_PLAZOS": "mongodb://otro:27018/plazos_prod",
    }
    elegidos = respaldo.almacenes(["plazos", "registro"], entorno=entorno)
    assert [a.donde for a in elegidos] == ["otro:27018/plazos_prod", "mongo:27017/registro"]
    # One database for two services would back up (and restore) one over the other.
    with pytest.raises(respaldo.UsoIncorrecto, match="misma base"):
        respaldo.almacenes(entorno={"MONGO_URL": "mongodb://mongo:27017/unasola"})
    with pytest.raises(respaldo.UsoIncorrecto, match="desconocido"):
        respaldo.almacenes(["pagos"], entorno={})
    assert respaldo.main(["respaldar", "--destino", "x", "--almacen", "sin-igual"]) == 2


def test_un_restaurado_vacio_pero_con_colecciones_se_rehace(
    mongo_url, almacen_fresco, nombres, origen, destino, tmp_path
):
    """A store that a service already started on has empty collections and its own indexes:
    that is still an empty store, restored without --reemplazar, and no stale index survives."""
    carpeta = tmp_path / "respaldo"
    _respaldar(mongo_url, nombres, carpeta)
    destino["registro"].reclamos.create_index("obsoleto", name="de_otra_version")
    destino["registro"].create_collection("solo_en_destino")
    restaurar = ["restaurar", "--origen", str(carpeta), *_argumentos(almacen_fresco, nombres)]
    assert respaldo.main(restaurar) == 0
    assert "de_otra_version" not in _indices(destino["registro"], "reclamos")
    assert "solo_en_destino" not in destino["registro"].list_collection_names()
    assert destino["registro"].reclamos.count_documents({}) == RECLAMOS
