"""What durable writes cost (issue 5): transactions per second against an embedded SecantusDB
store, with and without the store's sync-on-commit and the client's journaled write concern.

    .venv/bin/python -m bench.durabilidad [--n 400]

Each transaction is what a handler commits: the processed event id, its effect and one outbox
event. A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pymongo import MongoClient

from comun import almacen


def _puerto() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _store(carpeta: Path, sincronizar: bool) -> tuple[subprocess.Popen, str]:
    puerto = _puerto()
    orden = [
        str(Path(sys.executable).parent / "secantusd-py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(puerto),
        "--storage-path",
        str(carpeta),
        "--log-level",
        "WARNING",
    ] + (["--sync-on-commit"] if sincronizar else [])
    proceso = subprocess.Popen(orden, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"mongodb://127.0.0.1:{puerto}"
    limite = time.monotonic() + 30
    while time.monotonic() < limite:
        try:
            MongoClient(url, serverSelectionTimeoutMS=300).admin.command("ping")
            return proceso, url
        except Exception:
            time.sleep(0.2)
    proceso.kill()
    raise RuntimeError("el almacén no arrancó")


def _medir(url: str, j: bool, n: int) -> float:
    db = almacen.conectar(url, f"bench_{uuid.uuid4().hex[:6]}", w=1, j=j)
    almacen.asegurar_colecciones(db, "procesados", "efectos", "outbox")

    def transaccion(sesion):
        evento = str(uuid.uuid4())
        db.procesados.insert_one({"_id": evento}, session=sesion)
        db.efectos.update_one({"_id": evento[:2]}, {"$inc": {"n": 1}}, upsert=True, session=sesion)
        db.outbox.insert_one({"_id": evento, "pendiente": True}, session=sesion)

    for _ in range(20):  # warm-up
        almacen.en_transaccion(db, transaccion)
    inicio = time.perf_counter()
    for _ in range(n):
        almacen.en_transaccion(db, transaccion)
    return n / (time.perf_counter() - inicio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="transactions per configuration")
    n = parser.parse_args().n
    print(f"{'store':<22} {'client write concern':<22} {'tx/s':>8}")
    for sincronizar in (False, True):
        # On the project's disk: /tmp may be a tmpfs, where an fsync costs nothing.
        Path("var").mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(dir="var") as carpeta:
            proceso, url = _store(Path(carpeta), sincronizar)
            try:
                for j in (False, True):
                    tasa = _medir(url, j, n)
                    modo = "--sync-on-commit" if sincronizar else "default"
                    print(f"{modo:<22} {'j: true' if j else 'j: false':<22} {tasa:>8.0f}")
            finally:
                proceso.terminate()
                proceso.wait(10)


if __name__ == "__main__":
    main()
