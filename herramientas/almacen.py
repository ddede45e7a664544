"""One service's embedded store for the local launcher: a SecantusDB server (MongoDB wire protocol
over TCP on WiredTiger storage), started in durable mode (DESIGN.md §5).

    python -m herramientas.almacen --host 127.0.0.1 --port 27101 --datos var/datos/registro

Why not the `secantusd-py` command: the launcher needs two settings it cannot give together.
- Sync on commit: every commit's log is fsynced before it is acknowledged. Without it, kill -9 of
  the store lost commits it had already acknowledged.
- A short transaction lifetime (`--vida-transacciones`, default 10 s, or VIDA_TRANSACCIONES_S): a
  worker killed in the middle of a transaction leaves its locks held until the store reaps the
  transaction. The store's default of 60 s stalled a whole service for a minute; the CLI cannot
  change it.
- A reaper of abandoned transactions on a timer, as mongod has: SecantusDB aborts a transaction
  idle past its lifetime only when another transaction statement reaches it. A worker killed
  inside a transaction, once the load was over, left its locks held for as long as no other
  transaction came: plain writes (the mail sender's claims) waited on them until the store was
  restarted.
Test-only commands (`configureFailPoint`) stay off, as on mongod. SIGTERM or SIGINT stops the
server cleanly: connections drained, open transactions rolled back, storage closed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

from secantus.server import SecantusDBServer

VIDA_TRANSACCIONES_POR_DEFECTO = 10.0


def segar_transacciones(servidor: SecantusDBServer, parar: threading.Event, cada: float) -> None:
    """Aborts the transactions idle past their lifetime every `cada` seconds until `parar`."""
    while not parar.wait(cada):
        try:
            abortadas = servidor.transactions.prune_expired()
        except Exception:  # a reaper that dies would bring the stall back: log, go on
            logging.getLogger(__name__).exception("almacén: fallo al abortar transacciones")
            continue
        if abortadas:
            logging.getLogger(__name__).warning(
                "almacén: %d transacción(es) abandonada(s) abortada(s)", abortadas
            )


class _Detener(Exception):
    """Raised by the signal handler to leave `wait()`; stopping runs in the main flow."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m herramientas.almacen",
        description="Almacén SecantusDB embebido (modo durable) para el lanzador local.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--datos", type=Path, required=True, help="carpeta de datos (WiredTiger)")
    parser.add_argument(
        "--vida-transacciones",
        type=float,
        default=float(os.environ.get("VIDA_TRANSACCIONES_S", VIDA_TRANSACCIONES_POR_DEFECTO)),
        metavar="S",
        help="segundos tras los que el almacén aborta una transacción abandonada "
        "(por defecto 10, o VIDA_TRANSACCIONES_S)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args.datos.mkdir(parents=True, exist_ok=True)
    servidor = SecantusDBServer(
        host=args.host,
        port=args.port,
        storage_path=str(args.datos),
        sync_on_commit=True,
        transaction_lifetime_seconds=args.vida_transacciones,
        enable_test_commands=False,
    )

    def al_recibir(_senal: int, _marco: FrameType | None) -> None:
        # A second signal while stopping must not interrupt the orderly close of storage.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise _Detener

    signal.signal(signal.SIGTERM, al_recibir)
    signal.signal(signal.SIGINT, al_recibir)
    parar = threading.Event()
    # A quarter of the lifetime: an abandoned transaction goes at most 1.25 lifetimes after its
    # last statement; the idle cost is one wake-up every few seconds.
    segador = threading.Thread(
        target=segar_transacciones,
        args=(servidor, parar, max(0.25, args.vida_transacciones / 4)),
        name="segador-de-transacciones",
        daemon=True,
    )
    try:
        servidor.start()
        segador.start()
        print(
            f"almacén: escuchando en {args.host}:{args.port}, datos en {args.datos} "
            f"(sync on commit, transacciones de {args.vida_transacciones:g} s)",
            flush=True,
        )
        servidor.wait()
    except _Detener:
        pass
    finally:
        parar.set()
        servidor.stop()
    print(f"almacén: {args.host}:{args.port} detenido", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
