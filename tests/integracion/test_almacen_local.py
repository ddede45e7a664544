"""The launcher's store (herramientas.almacen) reaps a transaction its client abandoned, even
when no other transaction comes.

A CI run of the fault suite lost an acuse's timeline entry: the notificaciones worker was killed
inside the transaction that records a sent mail, after updating the delivery. SecantusDB aborts
an idle transaction past its lifetime only when another transaction statement reaches it; the
load was over, the only later writes were the mail sender's claims (no transaction), and they
waited on the dead transaction's lock until the store itself was restarted, minutes later."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.conftest import _mongo_responde, _parar, _puerto_libre
from tests.esperas import esperar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(90)]

RAIZ = Path(__file__).resolve().parents[2]

# A client that opens a transaction, writes a document and dies (kill -9) without ending it.
ABANDONA = textwrap.dedent(
    """
    import os, signal, sys
    from pymongo import MongoClient
    cliente = MongoClient(sys.argv[1])
    with cliente.start_session() as s:
        s.start_transaction()
        cliente.prueba.entregas.update_one(
            {"_id": "R-1:acuse"}, {"$set": {"estado": "enviada"}}, session=s
        )
        print("escrito", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_una_transaccion_abandonada_se_aborta_sin_esperar_otra_transaccion(tmp_path):
    puerto = _puerto_libre()
    url = f"mongodb://127.0.0.1:{puerto}/?directConnection=true"
    almacen = subprocess.Popen(
        [
            sys.executable,
            *("-m", "herramientas.almacen", "--port", str(puerto)),
            *("--datos", str(tmp_path / "datos"), "--vida-transacciones", "1"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        cwd=RAIZ,
    )
    try:
        esperar(lambda: _mongo_responde(url), "el almacén responde", 30)
        cliente: MongoClient = MongoClient(url, timeoutMS=15_000)
        entregas = cliente.prueba.entregas
        entregas.insert_one({"_id": "R-1:acuse", "estado": "pendiente"})

        muerto = subprocess.run(
            [sys.executable, "-c", ABANDONA, url], capture_output=True, text=True, timeout=30
        )
        assert "escrito" in muerto.stdout, muerto.stderr
        assert muerto.returncode == -9

        # No transaction follows: only a plain write, as the mail sender's claim. It waits for
        # the dead transaction's lock until the store reaps it (1 s of lifetime here); before,
        # it waited until its own time limit and failed.
        hecho = entregas.update_one({"_id": "R-1:acuse"}, {"$set": {"proximo_intento": 1}})
        assert hecho.modified_count == 1
        assert entregas.find_one({"_id": "R-1:acuse"}) == {
            "_id": "R-1:acuse",
            "estado": "pendiente",  # the dead transaction's write was rolled back
            "proximo_intento": 1,
        }
        cliente.close()
    finally:
        _parar(almacen)
