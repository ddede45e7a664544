"""The faults: kill -9 a program of the platform, close the platform's AMQP connections at the
broker, restart the broker. Each returns when its own action is over (the program running again,
the broker answering again); recovering the flow is measured by the caller.

rabbitmqctl talks to the node named by RABBITMQ_NODENAME (default rabbit@<host>): to restart a
broker of the suite's own, give AMQP_URL and RABBITMQ_NODENAME of a second node on this machine
(DESIGN.md §5 shows how to run one)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from comun.bus import broker_responde
from herramientas.local import Plataforma

ESPERA_REINICIO = 60.0


def matar(plataforma: Plataforma, nombre: str) -> None:
    """kill -9 `nombre`; returns once the launcher's supervisor has it running again."""
    pid = plataforma.matar(nombre, signal.SIGKILL)
    plataforma.esperar_proceso(nombre, distinto_de=pid, segundos=ESPERA_REINICIO)


# --- the broker, through rabbitmqctl --------------------------------------------------------------


def rabbitmqctl_o_saltar(amqp_url: str) -> str:
    """rabbitmqctl's path, or skip: it must be installed, usable by this user, and the broker
    must be the one on this machine."""
    anfitrion = urlsplit(amqp_url).hostname or ""
    if anfitrion not in {"127.0.0.1", "localhost", "::1"}:
        pytest.skip(f"el broker ({anfitrion}) no está en esta máquina: rabbitmqctl no lo alcanza")
    ejecutable = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    if not Path(ejecutable).exists():
        pytest.skip("no hay rabbitmqctl (paquete rabbitmq-server): no se pueden cortar conexiones")
    r = _rabbitmqctl(ejecutable, "status", chequear=False)
    if r.returncode != 0:
        pytest.skip(
            f"rabbitmqctl no funciona para este usuario (uid {os.getuid()}; suele requerir root "
            f"o el usuario rabbitmq): {r.stderr.strip()[:300]}"
        )
    return ejecutable


def _rabbitmqctl(ejecutable: str, *args: str, chequear: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ejecutable, *args], capture_output=True, text=True, timeout=120, check=chequear
    )


def cerrar_conexiones(ejecutable: str, plataforma: Plataforma, amqp_url: str) -> list[int]:
    """Closes, at the broker, every AMQP connection opened by the platform's processes (not
    those of other users of the broker, as close_all_connections would). Returns the client
    ports of the connections closed."""
    puerto_broker = urlsplit(amqp_url).port or 5672
    puertos = puertos_amqp(pids_de(plataforma), puerto_broker)
    if not puertos:
        pytest.fail("los procesos de la plataforma no tienen conexiones AMQP que cortar")
    # One Erlang call closes them all at once, as a network cut would (a rabbitmqctl per
    # connection takes about half a second each).
    programa = (
        f"Puertos = {sorted(puertos)}, "
        '[begin rabbit_networking:close_connection(Pid, "prueba de fiabilidad"), Puerto end '
        "|| Info <- rabbit_networking:connection_info_all([pid, peer_port]), "
        "{pid, Pid} <- [lists:keyfind(pid, 1, Info)], "
        "{peer_port, Puerto} <- [lists:keyfind(peer_port, 1, Info)], "
        "lists:member(Puerto, Puertos)]."
    )
    salida = _rabbitmqctl(ejecutable, "eval", programa).stdout
    return [int(x) for x in re.findall(r"\d+", salida)]


def reiniciar_broker(ejecutable: str, amqp_url: str, pausa: float = 5.0) -> None:
    """stop_app, a pause with the broker gone, start_app; returns once it accepts connections."""
    _rabbitmqctl(ejecutable, "stop_app")
    time.sleep(pausa)
    _rabbitmqctl(ejecutable, "start_app")
    limite = time.monotonic() + 120
    while not broker_responde(amqp_url):
        if time.monotonic() > limite:
            pytest.fail("el broker no volvió a aceptar conexiones en 120 s tras start_app")
        time.sleep(0.5)


# --- which sockets belong to the platform (Linux /proc) ------------------------------------------


def pids_de(plataforma: Plataforma) -> set[int]:
    """Every process of the platform: each program and its descendants (gunicorn's workers)."""
    raices = {p for nombre in plataforma.estado() if (p := plataforma.pid(nombre))}
    hijos: dict[int, set[int]] = {}
    for pid, padre in _padres().items():
        hijos.setdefault(padre, set()).add(pid)
    todos, pendientes = set(), list(raices)
    while pendientes:
        pid = pendientes.pop()
        if pid not in todos:
            todos.add(pid)
            pendientes.extend(hijos.get(pid, ()))
    return todos


def _padres() -> dict[int, int]:
    padres = {}
    for entrada in Path("/proc").iterdir():
        if not entrada.name.isdigit():
            continue
        try:
            estado = (entrada / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name may hold spaces and parentheses: fields start after the last ")".
        padres[int(entrada.name)] = int(estado.rsplit(")", 1)[1].split()[1])
    return padres


def puertos_amqp(pids: set[int], puerto_broker: int) -> set[int]:
    """Local ports of the TCP connections to the broker held by `pids`."""
    inodos = set()
    for pid in pids:
        try:
            descriptores = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in descriptores:
            try:
                destino = os.readlink(fd)
            except OSError:
                continue
            if destino.startswith("socket:["):
                inodos.add(destino[8:-1])
    puertos = set()
    for tabla in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lineas = Path(tabla).read_text().splitlines()[1:]
        except OSError:
            continue
        for linea in lineas:
            campos = linea.split()
            local, remoto, inodo = campos[1], campos[2], campos[9]
            if inodo in inodos and int(remoto.rsplit(":", 1)[1], 16) == puerto_broker:
                puertos.add(int(local.rsplit(":", 1)[1], 16))
    return puertos
