"""The local launcher: the whole platform on this machine, without Docker (DESIGN.md §5).

    python -m herramientas.local            # what scripts/run calls

Runs, under the process supervisor supervisord: one embedded SecantusDB store per service (unless
MONGO_URL is given; `herramientas.almacen`, durable mode), the SMTP mail catcher, each service's
web (gunicorn) and worker, and the gateway (uvicorn). RabbitMQ must already run (AMQP_URL). Then it
loads the demo catalogue, makes demo credentials, and prints where everything listens. The
end-to-end and fault-injection tests start the platform with this same class, on other ports and
with their own bus names.

Supervision, because one death must cost only that process: a program that dies is restarted on
its own (a program that keeps dying within `startsecs` is retried with supervisord's growing
back-off, for as long as `startretries` allows), and every start, exit and restart is a line in
the shared log. Shutdown goes by tiers in reverse priority, each tier stopped before the next:
gateway and webs first, then workers (they finish the message in hand), the SMTP catcher, and the
stores last, so nothing loses its store while it still works.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from comun.almacen import conectar
from comun.bus import Topologia, broker_responde
from gateway import credenciales
from herramientas.catalogo import cargar
from herramientas.topologia import declarar_todo

SERVICIOS = ("registro", "derivacion", "plazos", "notificaciones", "encuestas")
RAIZ = Path(__file__).resolve().parent.parent
CATALOGO = RAIZ / "infra" / "catalogo" / "entidades.json"
BIN = Path(sys.executable).parent

# Tiers: supervisord group → (priority, seconds a program gets to stop before SIGKILL). A lower
# priority starts first and stops last; supervisord waits for a whole tier to stop before the next.
NIVELES: dict[str, tuple[int, int]] = {
    "almacenes": (100, 20),  # the store drains connections and closes WiredTiger
    "correo": (200, 10),
    "workers": (300, 30),  # time to finish the message in hand
    "webs": (400, 15),  # gunicorn's graceful_timeout is 10 s
}
INICIO_S = 2  # a program must stay up this long to count as started (else back-off)
REINTENTOS = 1000  # so a program that keeps failing keeps being retried instead of going FATAL
DETENCION_S = 90.0  # enough for every tier's stop in turn
SOCKET_MAX = 100  # AF_UNIX paths are limited to ~107 bytes


@dataclass(frozen=True)
class Puertos:
    gateway: int = 8000
    smtp: int = 1025
    web: int = 8100  # registro 8101, derivacion 8102, ...
    metricas: int = 9100  # workers' /metrics, same order
    almacen: int = 27100  # gateway 27100, registro 27101, ...
    metricas_replicas: int = 9200  # 2nd worker of each service 9201..., 3rd 9211...

    @classmethod
    def libres(cls) -> Puertos:
        """A block of free ports, for a run beside another one (the tests)."""
        for _ in range(50):
            # Below Linux's ephemeral range (32768+), where an outgoing connection could take a
            # port between this check and the server binding it.
            base = 20000 + secrets.randbelow(120) * 100
            p = cls(
                gateway=base,
                smtp=base + 1,
                web=base + 10,
                metricas=base + 20,
                almacen=base + 30,
                metricas_replicas=base + 40,
            )
            if all(_libre(x) for x in p.todos()):
                return p
        raise RuntimeError("no encontré puertos libres")

    def todos(self) -> list[int]:
        n = len(SERVICIOS) + 1
        return [
            self.gateway,
            self.smtp,
            *(self.web + i for i in range(n)),
            *(self.metricas + i for i in range(n)),
            *(self.almacen + i for i in range(n)),
            *(self.metricas_replicas + i for i in range(n)),
        ]


def _libre(puerto: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) != 0


@dataclass(frozen=True)
class Programa:
    """One supervised process: its tier, its command, and its own settings."""

    nombre: str
    nivel: str
    comando: list[str]
    entorno: dict[str, str] = field(default_factory=dict)


@dataclass
class Plataforma:
    """The whole platform under one supervisord, its run folder in `carpeta` (configuration,
    shared log, stores' data, captured mail). Also what a fault-injection test needs: the pid of
    each program, a way to kill one, and a wait for its restart."""

    carpeta: Path
    puertos: Puertos = field(default_factory=Puertos)
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    mongo_url: str | None = None
    bus_nombre: str = "pdr"
    token_interno: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # More settings for every process (e.g. a test run raising LIMITE_RECLAMOS_POR_HORA).
    entorno_extra: dict[str, str] = field(default_factory=dict)
    # Worker processes per service (default 1), e.g. {"plazos": 2}.
    workers: dict[str, int] = field(default_factory=dict)
    _supervisor: subprocess.Popen | None = field(default=None, repr=False)
    _socket: Path | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # supervisord and every program run from RAIZ: relative paths would point elsewhere.
        self.carpeta = Path(self.carpeta).resolve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.puertos.gateway}"

    @property
    def correo(self) -> Path:
        return self.carpeta / "correo"

    @property
    def registro_de_procesos(self) -> Path:
        """The shared log: supervisord's lines (spawned, exited, stopped) and every program's
        output, stdout and stderr."""
        return self.carpeta / "plataforma.log"

    @property
    def configuracion(self) -> Path:
        """supervisord's configuration (it holds the internal token: mode 600)."""
        return self.carpeta / "supervisord.conf"

    def _mongo(self, i: int, servicio: str) -> str:
        """The store of the i-th of (gateway, *SERVICIOS); tests read stores through it too."""
        if self.mongo_url:
            return self.mongo_url
        return f"mongodb://127.0.0.1:{self.puertos.almacen + i}"

    def programas(self) -> list[Programa]:
        """Every supervised process, with its tier and the settings only it takes."""
        p = self.puertos
        programas: list[Programa] = []
        if not self.mongo_url:
            for i, nombre in enumerate(("gateway", *SERVICIOS)):
                comando = [sys.executable, "-m", "herramientas.almacen", "--host", "127.0.0.1"]
                comando += ["--port", str(p.almacen + i), "--datos"]
                comando.append(str(self.carpeta / "datos" / nombre))
                programas.append(Programa(f"almacen-{nombre}", "almacenes", comando))
        buzon = [sys.executable, "-m", "herramientas.buzon", "--puerto", str(p.smtp)]
        programas.append(Programa("buzon", "correo", [*buzon, "--carpeta", str(self.correo)]))
        for i, s in enumerate(SERVICIOS, start=1):
            almacen = {"MONGO_URL": self._mongo(i, s), "MONGO_DB": s}
            programas.append(
                Programa(
                    f"{s}-web",
                    "webs",
                    [
                        str(BIN / "gunicorn"),
                        "-c",
                        "python:comun.gunicorn_conf",
                        f"servicios.{s}.service:crear_app()",
                    ],
                    {**almacen, "HOST": "127.0.0.1", "PUERTO": str(p.web + i)},
                )
            )
            programas.append(
                Programa(
                    f"{s}-worker",
                    "workers",
                    [sys.executable, "-m", f"servicios.{s}.worker"],
                    {**almacen, "PUERTO_METRICAS": str(p.metricas + i)},
                )
            )
            # More workers of one service, as an operator scales it (compose --scale).
            for n in range(2, self.workers.get(s, 1) + 1):
                metricas = p.metricas_replicas + 10 * (n - 2) + i
                programas.append(
                    Programa(
                        f"{s}-worker-{n}",
                        "workers",
                        [sys.executable, "-m", f"servicios.{s}.worker"],
                        {**almacen, "PUERTO_METRICAS": str(metricas)},
                    )
                )
        urls = {
            f"URL_{s.upper()}": f"http://127.0.0.1:{p.web + i}"
            for i, s in enumerate(SERVICIOS, start=1)
        }
        programas.append(
            Programa(
                "gateway",
                "webs",
                [
                    str(BIN / "uvicorn"),
                    "gateway.app:crear_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(p.gateway),
                    "--no-access-log",
                    # The client address is the socket peer; the gateway itself believes
                    # X-Forwarded-For only from PROXIES_DE_CONFIANZA (gateway/limites.py).
                    "--no-proxy-headers",
                ],
                {"MONGO_URL": self._mongo(0, "gateway"), "MONGO_DB": "gateway", **urls},
            )
        )
        return programas

    def procesos(self) -> dict[str, str]:
        """Program name → command line (its own settings are in `programas()`)."""
        return {prog.nombre: shlex.join(prog.comando) for prog in self.programas()}

    def entorno(self) -> dict[str, str]:
        """Settings every process shares."""
        return {
            "AMQP_URL": self.amqp_url,
            "BUS_NOMBRE": self.bus_nombre,
            "TOKEN_INTERNO": self.token_interno,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PUERTO": str(self.puertos.smtp),
            "URL_PORTAL": self.url,
            "PYTHONUNBUFFERED": "1",
            **self.entorno_extra,
        }

    def _configuracion(self, socket_unix: Path) -> str:
        registro = _ini(str(self.registro_de_procesos), "la carpeta")
        lineas = [
            "[supervisord]",
            "nodaemon=true",
            "silent=true",  # its own log goes to the shared log, not to the launcher's output
            f"logfile={registro}",
            "logfile_maxbytes=0",  # no rotation: every program appends to the same file
            f"pidfile={_ini(str(self.carpeta / 'supervisord.pid'), 'la carpeta')}",
            f"childlogdir={_ini(str(self.carpeta), 'la carpeta')}",
        ]
        if os.getuid() == 0:
            lineas.append("user=root")  # as intended: silences supervisord's warning
        lineas += [
            "",
            "[unix_http_server]",
            f"file={_ini(str(socket_unix))}",
            "chmod=0700",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{_ini(str(socket_unix))}",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        ]
        comun = self.entorno()
        programas = self.programas()
        for prog in programas:
            prioridad, espera = NIVELES[prog.nivel]
            lineas += [
                "",
                f"[program:{prog.nombre}]",
                f"command={_ini(shlex.join(prog.comando), prog.nombre)}",
                f"directory={_ini(str(RAIZ), 'la raíz')}",
                f"environment={_ini(_entorno_supervisor({**comun, **prog.entorno}))}",
                f"priority={prioridad}",
                "autostart=true",
                "autorestart=true",
                f"startsecs={INICIO_S}",
                f"startretries={REINTENTOS}",
                "stopsignal=TERM",
                f"stopwaitsecs={espera}",
                "stopasgroup=true",  # gunicorn's and uvicorn's children stop with them
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={registro}",
                "stdout_logfile_maxbytes=0",
            ]
        for nivel, (prioridad, _espera) in NIVELES.items():
            miembros = [prog.nombre for prog in programas if prog.nivel == nivel]
            if miembros:
                lineas += ["", f"[group:{nivel}]", f"programs={','.join(miembros)}"]
                lineas.append(f"priority={prioridad}")
        return "\n".join(lineas) + "\n"

    def iniciar(self, salida: IO[bytes] | None = None) -> None:
        """Starts supervisord, which starts every program. `salida` gets what supervisord says
        before its log is open (a bad configuration); all the rest goes to
        `registro_de_procesos`."""
        if not broker_responde(self.amqp_url):
            raise RuntimeError(f"RabbitMQ no responde en {_sin_clave(self.amqp_url)}")
        supervisord = BIN / "supervisord"
        if not supervisord.exists():
            raise RuntimeError(
                f"falta {supervisord}: instale el extra `local` (`pip install -e '.[local]'`)"
            )
        declarar_todo(self.amqp_url, Topologia(self.bus_nombre))
        self.carpeta.mkdir(parents=True, exist_ok=True)
        self._socket = self._ruta_socket()
        _escribir_privado(self.configuracion, self._configuracion(self._socket))
        self._supervisor = subprocess.Popen(
            [str(supervisord), "-c", str(self.configuracion)],
            cwd=RAIZ,
            stdin=subprocess.DEVNULL,
            stdout=salida,
            stderr=subprocess.STDOUT if salida else None,
            # Its own session: Ctrl-C in the terminal reaches the launcher only, which then stops
            # supervisord in order; and what is left of the session can be found and killed.
            start_new_session=True,
        )

    def _ruta_socket(self) -> Path:
        en_carpeta = self.carpeta / "supervisor.sock"
        if len(str(en_carpeta).encode()) <= SOCKET_MAX:
            return en_carpeta
        # pytest's tmp paths can be too long for a unix socket.
        return Path(tempfile.gettempdir()) / f"pdr-supervisor-{secrets.token_hex(6)}.sock"

    def esperar_salud(self, segundos: float = 120) -> None:
        """Waits until the gateway's /health answers 200 (its store and every service's web)."""
        limite = time.monotonic() + segundos
        ultimo = "sin respuesta"
        while time.monotonic() < limite:
            self._vigente()
            try:
                r = httpx.get(self.url + "/health", timeout=5)
                if r.status_code == 200:
                    return
                ultimo = r.text
            except httpx.HTTPError as exc:
                ultimo = str(exc)
            time.sleep(1)
        with contextlib.suppress(RuntimeError, OSError, xmlrpc.client.Error):
            pendientes = {n: e for n, e in self.estado().items() if e != "RUNNING"}
            if pendientes:
                ultimo += f"; programas sin arrancar: {pendientes}"
        raise RuntimeError(
            f"la plataforma no quedó sana en {segundos:.0f} s: {ultimo}; "
            f"ver {self.registro_de_procesos}"
        )

    def _vigente(self) -> subprocess.Popen:
        if self._supervisor is None:
            raise RuntimeError("la plataforma no está iniciada")
        if self._supervisor.poll() is not None:
            raise RuntimeError(
                f"supervisord terminó (código {self._supervisor.returncode}); "
                f"ver {self.registro_de_procesos}"
            )
        return self._supervisor

    def _llamar(self, metodo: str, *argumentos: str) -> Any:
        """One call to supervisord's XML-RPC interface (`supervisor.<metodo>`), over its unix
        socket."""
        from supervisor.xmlrpc import SupervisorTransport  # only the launcher needs supervisor

        self._vigente()
        transporte = SupervisorTransport(None, None, f"unix://{self._socket}")
        with xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transporte) as servidor:
            return getattr(servidor.supervisor, metodo)(*argumentos)

    def _info(self, nombre: str) -> dict[str, Any]:
        niveles = {prog.nombre: prog.nivel for prog in self.programas()}
        if nombre not in niveles:
            raise ValueError(f"no hay un programa llamado {nombre!r}")
        # In supervisord a program is named within its group (its tier).
        return self._llamar("getProcessInfo", f"{niveles[nombre]}:{nombre}")

    def estado(self) -> dict[str, str]:
        """Program → supervisord state name (RUNNING, STARTING, BACKOFF, EXITED, FATAL...)."""
        return {info["name"]: info["statename"] for info in self._llamar("getAllProcessInfo")}

    def pid(self, nombre: str) -> int | None:
        """The current pid of a program, or None while it has no process (between a death and
        its restart, or stopped). For a web it is gunicorn's or uvicorn's master."""
        return self._info(nombre)["pid"] or None

    def matar(self, nombre: str, senal: int = signal.SIGKILL) -> int:
        """Sends `senal` to a program's process (a fault, not a stop: supervisord takes it as a
        death and restarts it). Returns the pid it signalled."""
        pid = self.pid(nombre)
        if pid is None:
            raise RuntimeError(f"{nombre} no tiene proceso ahora ({self.estado().get(nombre)})")
        os.kill(pid, senal)
        return pid

    def esperar_proceso(self, nombre: str, distinto_de: int | None, segundos: float = 60) -> int:
        """Waits until `nombre` is RUNNING again (up for `startsecs`) with a pid other than
        `distinto_de`, and returns that pid."""
        limite = time.monotonic() + segundos
        visto: dict[str, Any] = {}
        while time.monotonic() < limite:
            with contextlib.suppress(OSError, xmlrpc.client.Error):
                visto = self._info(nombre)
                if visto["statename"] == "RUNNING" and visto["pid"] not in (0, distinto_de):
                    return visto["pid"]
            time.sleep(0.2)
        raise RuntimeError(
            f"{nombre} no volvió a RUNNING con otro pid en {segundos:.0f} s "
            f"(estado {visto.get('statename')}, pid {visto.get('pid')}); "
            f"ver {self.registro_de_procesos}"
        )

    def sembrar(self) -> dict[str, str]:
        """Loads the demo catalogue and returns demo credentials (role or entity → key)."""
        db = conectar(self._mongo(0, "gateway"), "gateway")
        claves = {"operador": credenciales.crear(db, "operador", "Operador local")}
        claves["supervisor"] = credenciales.crear(db, "supervisor", "Supervisor SGP local")
        ids = cargar(CATALOGO, self.url, claves["operador"])
        for entidad in ids:
            claves[entidad] = credenciales.crear(db, "entidad", f"Personal de {entidad}", entidad)
        # The catalogue reaches registro as events: wait until citizens can file against it.
        limite = time.monotonic() + 60
        while time.monotonic() < limite:
            conocidas = {e["id"] for e in httpx.get(self.url + "/api/v1/entidades").json()}
            if set(ids) <= conocidas:
                return claves
            time.sleep(0.3)
        raise RuntimeError("registro no recibió el catálogo a tiempo")

    def detener(self, segundos: float = DETENCION_S) -> None:
        """Stops everything: SIGTERM to supervisord, which stops the tiers in reverse priority
        (webs, workers, mail catcher, stores), then whatever is left of its session is killed."""
        proceso, self._supervisor = self._supervisor, None
        if proceso is None:
            return
        if proceso.poll() is None:
            proceso.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proceso.wait(timeout=segundos)
        # Last resort. Programs lead process groups of their own, so killing supervisord's group
        # would miss them; they all stay in its session.
        for pid in _procesos_de_la_sesion(proceso.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proceso.wait()
        if self._socket and self._socket.parent != self.carpeta:
            self._socket.unlink(missing_ok=True)

    def __enter__(self) -> Plataforma:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.detener()


def _procesos_de_la_sesion(sesion: int) -> list[int]:
    """Pids of the processes in a session (read from /proc; none where there is no /proc)."""
    proc = Path("/proc")
    pids = []
    for entrada in proc.iterdir() if proc.is_dir() else ():
        if entrada.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entrada.name)) == sesion:
                    pids.append(int(entrada.name))
    return pids


def _ini(valor: str, que: str = "un valor") -> str:
    """A value for supervisord's configuration file, which is an ini file with %-expansion.
    `que` names it in the error (the value itself may hold a secret)."""
    if "\n" in valor or re.search(r"\s[;#]", valor):
        # A newline ends the value and " ;" or " #" starts a comment: either would cut it short.
        raise ValueError(f"{que} no cabe en supervisord.conf (salto de línea, ' ;' o ' #')")
    return valor.replace("%", "%%")


def _entorno_supervisor(variables: dict[str, str]) -> str:
    """KEY="value",... as supervisord's environment= reads it: each value quoted (commas and
    most punctuation would end it otherwise) with a quote character it does not contain."""
    partes = []
    for clave, valor in variables.items():
        comilla = '"' if '"' not in valor else "'"
        if (
            not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", clave)
            or comilla in valor
            # supervisord strips quote characters from both ends of every value.
            or valor.startswith(("'", '"'))
            or valor.endswith(("'", '"'))
        ):
            raise ValueError(
                f"{clave} no cabe en supervisord.conf (nombre o comillas en los extremos)"
            )
        _ini(valor, clave)
        partes.append(f"{clave}={comilla}{valor}{comilla}")
    return ",".join(partes)


def _escribir_privado(ruta: Path, texto: str) -> None:
    """Writes a file only its owner can read, with no moment at which it is readable by others."""
    descriptor = os.open(ruta, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # the file may already exist with other permissions
    with os.fdopen(descriptor, "w") as archivo:
        archivo.write(texto)


def _sin_clave(url: str) -> str:
    return url.split("@")[-1]


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m herramientas.local",
        description="Levanta la plataforma completa en esta máquina (lo que llama scripts/run). "
        "Ajustes por entorno: CARPETA_LOCAL (por defecto var/), AMQP_URL, MONGO_URL, "
        "VIDA_TRANSACCIONES_S.",
    ).parse_args(argv)
    carpeta = Path(os.environ.get("CARPETA_LOCAL", RAIZ / "var"))
    plataforma = Plataforma(
        carpeta=carpeta,
        amqp_url=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        mongo_url=os.environ.get("MONGO_URL") or None,
    )
    plataforma.carpeta.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminar)
    # Each run starts a fresh log, as the tests do.
    with plataforma.registro_de_procesos.open("wb") as salida:
        try:
            try:
                plataforma.iniciar(salida)
                plataforma.esperar_salud()
                claves = plataforma.sembrar()
            except (RuntimeError, OSError, httpx.HTTPError) as exc:
                print(f"\nNo se pudo iniciar la plataforma: {exc}", file=sys.stderr)
                print(
                    f"Registro de los procesos: {plataforma.registro_de_procesos}", file=sys.stderr
                )
                return 1
            archivo = plataforma.carpeta / "credenciales.json"
            archivo.write_text(json.dumps(claves, indent=2))
            archivo.chmod(0o600)
            _mostrar(plataforma, archivo)
            proceso = plataforma._supervisor
            return proceso.wait() if proceso else 0
        except KeyboardInterrupt:
            return 0
        finally:
            # A second Ctrl-C must not cut the ordered stop short (detener ends in SIGKILL anyway).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if plataforma._supervisor is not None:
                print("\nDeteniendo: webs, workers, buzón y al final los almacenes...", flush=True)
            plataforma.detener()


def _terminar(*_senal: object) -> None:
    # Stopping happens in main's `finally`, not here: a handler that waited on supervisord would
    # deadlock with the wait it interrupted.
    raise SystemExit(0)


def _mostrar(p: Plataforma, archivo: Path) -> None:
    pu = p.puertos
    filas = [("gateway (API pública)", f"{p.url}/api/v1  — documentación: {p.url}/api/v1/docs")]
    for i, s in enumerate(SERVICIOS, start=1):
        filas.append(
            (
                f"{s} web / worker",
                f"http://127.0.0.1:{pu.web + i}  /metrics worker :{pu.metricas + i}",
            )
        )
    filas.append(("buzón SMTP (captura)", f"127.0.0.1:{pu.smtp}  → {p.correo}"))
    almacenes = (p.mongo_url and _sin_clave(p.mongo_url)) or (
        f"SecantusDB 127.0.0.1:{pu.almacen}-{pu.almacen + len(SERVICIOS)} (uno por servicio)"
    )
    filas.append(("MongoDB", almacenes))
    filas.append(("RabbitMQ", _sin_clave(p.amqp_url)))
    filas.append(("credenciales de prueba", str(archivo)))
    ancho = max(len(nombre) for nombre, _donde in filas)
    print("\n=== Plataforma Digital Única de Reclamos: en marcha ===", flush=True)
    for nombre, donde in filas:
        print(f"  {nombre:<{ancho}}  {donde}")
    print(
        "\n  Un proceso que termina se reinicia solo (supervisord, con espera creciente si vuelve"
        "\n  a fallar); los demás siguen. Registro de todos los procesos:"
        f"\n    {p.registro_de_procesos}"
        f"\n  Estado: {BIN / 'supervisorctl'} -c {p.configuracion} status"
        "\n  (Ctrl-C para detener)\n",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
