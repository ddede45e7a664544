"""The local launcher: the whole platform on this machine, without Docker (DESIGN.md §5).

    python -m herramientas.local            # what scripts/run calls

Runs, under the process supervisor supervisord: one embedded SecantusDB store per service (unless
MONGO_URL is given; `herramientas.almacen`, durable mode), the SMTP mail catcher, each service's
web (gunicorn) and worker, the gateway (uvicorn) and, with monitoring on (the command's default),
Prometheus and Alertmanager (`herramientas.monitoreo`). RabbitMQ must already run (AMQP_URL). Then
it loads the demo catalogue, makes demo credentials, and prints where everything listens. The
end-to-end and fault-injection tests start the platform with this same class, on other ports and
with their own bus names.

It refuses to start where a platform already runs on its folder (supervisord's pid or socket
alive, or another launcher holding the folder's lock) or on any of its ports, before it writes
anything: the running platform's configuration, credentials and log stay as they are.

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
import fcntl
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
from urllib.parse import unquote, urlsplit

import httpx

from comun.almacen import conectar
from comun.bus import Topologia, broker_responde
from gateway import credenciales
from gateway.portal import cuentas
from herramientas import monitoreo
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
    # Started last and stopped first: nothing depends on it, and it sees everything come up.
    "monitoreo": (500, 20),
}
INICIO_S = 2  # a program must stay up this long to count as started (else back-off)
REINTENTOS = 1000  # so a program that keeps failing keeps being retried instead of going FATAL
DETENCION_S = 90.0  # enough for every tier's stop in turn
SOCKET_MAX = 100  # AF_UNIX paths are limited to ~107 bytes
# Worker programs a service can have locally: each block of free ports has room for this many.
MAX_WORKERS = 7
# supervisord states of a program that is meant to run (a dead one is still a target: it is down).
EN_MARCHA = {"STARTING", "RUNNING", "BACKOFF", "EXITED", "FATAL", "UNKNOWN"}


@dataclass(frozen=True)
class Puertos:
    gateway: int = 8000
    smtp: int = 1025
    web: int = 8100  # registro 8101, derivacion 8102, ...
    metricas: int = 9100  # workers' /metrics, same order
    almacen: int = 27100  # gateway 27100, registro 27101, ...
    metricas_replicas: int = 9200  # 2nd worker of each service 9201..., 3rd 9211...
    prometheus: int = 9090
    alertmanager: int = 9093

    @classmethod
    def desde(cls, base: int) -> Puertos:
        """A block of 100 ports from `base` (room for MAX_WORKERS workers per service)."""
        return cls(
            gateway=base,
            smtp=base + 1,
            prometheus=base + 2,
            alertmanager=base + 3,
            web=base + 10,
            metricas=base + 20,
            almacen=base + 30,
            metricas_replicas=base + 40,
        )

    @classmethod
    def libres(cls) -> Puertos:
        """A block of free ports, for a run beside another one (the tests)."""
        for _ in range(50):
            # Below Linux's ephemeral range (32768+), where an outgoing connection could take a
            # port between this check and the server binding it.
            p = cls.desde(20000 + secrets.randbelow(120) * 100)
            if all(_libre(x) for x in p.todos(MAX_WORKERS)):
                return p
        raise RuntimeError("no encontré puertos libres")

    def metricas_worker(self, i: int, n: int) -> int:
        """/metrics of the n-th worker (1, 2...) of the i-th service (1 = registro)."""
        return self.metricas + i if n == 1 else self.metricas_replicas + 10 * (n - 2) + i

    def todos(self, workers: int = 2) -> list[int]:
        """Every port of the block, with room for `workers` workers per service."""
        n = len(SERVICIOS) + 1
        return [
            self.gateway,
            self.smtp,
            self.prometheus,
            self.alertmanager,
            *(self.web + i for i in range(n)),
            *(self.almacen + i for i in range(n)),
            *(self.metricas_worker(i, r) for r in range(1, max(workers, 2) + 1) for i in range(n)),
        ]


def _libre(puerto: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) != 0


class YaEnMarcha(RuntimeError):
    """A platform already runs on this folder or on these ports: nothing was started or written."""


@dataclass(frozen=True)
class Programa:
    """One supervised process: its tier, its command, and its own settings."""

    nombre: str
    nivel: str
    comando: list[str]
    entorno: dict[str, str] = field(default_factory=dict)
    # Started with the platform; else declared only, for the scaler to start (extra workers).
    autostart: bool = True
    # host:port of its /metrics, for the platform's Prometheus; None if it has none.
    metricas: str | None = None
    # Whether it gets the settings every service shares (the monitoring programs need none of
    # them, and the internal token is a secret).
    comparte_entorno: bool = True


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
    # Worker programs declared per service for the scaler (herramientas.escalado), those beyond
    # `workers` stopped until it starts them, e.g. {"derivacion": 4}.
    workers_max: dict[str, int] = field(default_factory=dict)
    # Prometheus and Alertmanager under the same supervisord (off by default: most tests do
    # not need them; the command turns them on).
    monitoreo: bool = False
    # The scaler (herramientas.escalado, local backend) as one more supervised program, between
    # each service's 1 worker and its `workers_max`.
    escalado: bool = False
    prometheus_bin: str | None = field(default_factory=lambda: monitoreo.binario("prometheus"))
    alertmanager_bin: str | None = field(
        default_factory=lambda: monitoreo.binario("prometheus-alertmanager", "alertmanager")
    )
    # The broker's Prometheus plugin (rabbitmq_prometheus), host:port; default: AMQP host, 15692.
    rabbitmq_metricas: str | None = None
    _supervisor: subprocess.Popen | None = field(default=None, repr=False)
    _socket: Path | None = field(default=None, repr=False)
    _cerrojo: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # supervisord and every program run from RAIZ: relative paths would point elsewhere.
        self.carpeta = Path(self.carpeta).resolve()
        for servicio, n in {**self.workers, **self.workers_max}.items():
            if servicio not in SERVICIOS or not 1 <= n <= MAX_WORKERS:
                raise ValueError(f"workers de {servicio}: entre 1 y {MAX_WORKERS} ({n})")

    def n_workers(self, servicio: str) -> tuple[int, int]:
        """(started with the platform, declared) worker programs of a service."""
        inicial = self.workers.get(servicio, 1)
        return inicial, max(inicial, self.workers_max.get(servicio, 1))

    @property
    def monitoreo_activo(self) -> bool:
        return self.monitoreo and bool(self.prometheus_bin and self.alertmanager_bin)

    def aviso_monitoreo(self) -> str | None:
        """Why monitoring is off although asked for (a binary is missing), or None."""
        if not self.monitoreo or self.monitoreo_activo:
            return None
        faltan = [
            nombre
            for nombre, ruta in (
                ("prometheus", self.prometheus_bin),
                ("prometheus-alertmanager", self.alertmanager_bin),
            )
            if not ruta
        ]
        return monitoreo.aviso_sin_monitoreo(faltan)

    @property
    def url_prometheus(self) -> str:
        return f"http://127.0.0.1:{self.puertos.prometheus}"

    @property
    def url_alertmanager(self) -> str:
        return f"http://127.0.0.1:{self.puertos.alertmanager}"

    @property
    def carpeta_monitoreo(self) -> Path:
        return self.carpeta / "monitoreo"

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
                    metricas=f"127.0.0.1:{p.web + i}",
                )
            )
            # More workers of one service, as an operator scales it (compose --scale); those
            # beyond `workers` wait stopped for the scaler.
            inicial, declarados = self.n_workers(s)
            for n in range(1, declarados + 1):
                metricas = p.metricas_worker(i, n)
                programas.append(
                    Programa(
                        f"{s}-worker" if n == 1 else f"{s}-worker-{n}",
                        "workers",
                        [sys.executable, "-m", f"servicios.{s}.worker"],
                        {**almacen, "PUERTO_METRICAS": str(metricas)},
                        autostart=n <= inicial,
                        metricas=f"127.0.0.1:{metricas}",
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
                metricas=f"127.0.0.1:{p.gateway}",
            )
        )
        if self.monitoreo_activo:
            programas += self._programas_monitoreo()
        if self.escalado:
            maximo = max(self.n_workers(s)[1] for s in SERVICIOS)
            comando = [sys.executable, "-m", "herramientas.escalado", "--carpeta"]
            comando += [str(self.carpeta), "--min", "1", "--max", str(maximo)]
            comando += ["--bus", self.bus_nombre]
            # It only reads queue depths (AMQP_URL) and talks to supervisord: no other setting.
            entorno = {"AMQP_URL": self.amqp_url, "PYTHONUNBUFFERED": "1"}
            programas.append(
                Programa("escalador", "monitoreo", comando, entorno, comparte_entorno=False)
            )
        return programas

    def _programas_monitoreo(self) -> list[Programa]:
        m, p = self.carpeta_monitoreo, self.puertos
        prometheus = [
            str(self.prometheus_bin),
            f"--config.file={m / 'prometheus.yml'}",
            f"--storage.tsdb.path={m / 'prometheus-datos'}",
            f"--web.listen-address=127.0.0.1:{p.prometheus}",
            "--storage.tsdb.retention.time=15d",
        ]
        alertmanager = [
            str(self.alertmanager_bin),
            f"--config.file={m / 'alertmanager.yml'}",
            f"--storage.path={m / 'alertmanager-datos'}",
            f"--web.listen-address=127.0.0.1:{p.alertmanager}",
            # No gossip port (9094 by default, shared by every run on the machine): one instance.
            "--cluster.listen-address=",
        ]
        return [
            Programa("prometheus", "monitoreo", prometheus, comparte_entorno=False),
            Programa("alertmanager", "monitoreo", alertmanager, comparte_entorno=False),
        ]

    def _rabbitmq_metricas(self) -> str:
        if self.rabbitmq_metricas:
            return self.rabbitmq_metricas
        return f"{urlsplit(self.amqp_url).hostname or '127.0.0.1'}:15692"

    def _escribir_monitoreo(self) -> None:
        """Prometheus's and Alertmanager's configuration and the scrape targets (every program
        with /metrics that starts with the platform)."""
        m, p = self.carpeta_monitoreo, self.puertos
        vhost = unquote(urlsplit(self.amqp_url).path[1:]) or "/"
        configuracion = monitoreo.configuracion_prometheus(
            m,
            prometheus=f"127.0.0.1:{p.prometheus}",
            alertmanager=f"127.0.0.1:{p.alertmanager}",
            rabbitmq=self._rabbitmq_metricas(),
            vhost=vhost,
            bus=self.bus_nombre,
        )
        monitoreo.escribir_json(m / "prometheus.yml", configuracion)
        smtp = f"127.0.0.1:{p.smtp}"
        monitoreo.escribir_json(m / "alertmanager.yml", monitoreo.configuracion_alertmanager(smtp))
        programas = self.programas()
        todos = {
            prog.nombre: monitoreo.objetivo(prog.nombre, prog.metricas)
            for prog in programas
            if prog.metricas
        }
        activos = {prog.nombre for prog in programas if prog.autostart}
        monitoreo.escribir_objetivos(m, activos, todos)

    def puertos_propios(self) -> list[int]:
        """The ports this run listens on (a check before starting: all must be free)."""
        p = self.puertos
        puertos = [p.gateway, p.smtp, *(p.web + i for i in range(1, len(SERVICIOS) + 1))]
        for i, s in enumerate(SERVICIOS, start=1):
            puertos += [p.metricas_worker(i, n) for n in range(1, self.n_workers(s)[1] + 1)]
        if not self.mongo_url:
            puertos += [p.almacen + i for i in range(len(SERVICIOS) + 1)]
        if self.monitoreo_activo:
            puertos += [p.prometheus, p.alertmanager]
        return puertos

    def comprobar_libre(self) -> None:
        """Raises YaEnMarcha if a platform runs on this folder (its supervisord alive, by pid
        file or by socket) or if any of this run's ports is taken. Reads only."""
        pid = _pid_supervisord(self.carpeta / "supervisord.pid")
        if pid:
            raise YaEnMarcha(
                f"ya hay una plataforma en marcha en {self.carpeta} (supervisord, pid {pid}). "
                "Deténgala primero (Ctrl-C en su terminal) o use otra carpeta (CARPETA_LOCAL)."
            )
        socket_unix = _socket_configurado(self.configuracion)
        if socket_unix and _socket_responde(socket_unix):
            raise YaEnMarcha(
                f"ya hay una plataforma en marcha en {self.carpeta} (responde su supervisord en "
                f"{socket_unix}). Deténgala primero o use otra carpeta (CARPETA_LOCAL)."
            )
        ocupados = sorted(x for x in set(self.puertos_propios()) if not _libre(x))
        if ocupados:
            lista = ", ".join(map(str, ocupados))
            raise YaEnMarcha(
                f"los puertos {lista} ya están en uso en 127.0.0.1 (¿otra plataforma en marcha?). "
                "Deténgala o elija otros puertos (--puertos-desde)."
            )

    def _tomar_carpeta(self) -> None:
        """The folder's lock, held while the platform runs: two launchers started at once on one
        folder cannot both pass `comprobar_libre`. Taken without truncating the file."""
        self.carpeta.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.carpeta / "lanzador.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise YaEnMarcha(
                f"otro lanzador está usando {self.carpeta} en este momento; "
                "deténgalo primero o use otra carpeta (CARPETA_LOCAL)."
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._cerrojo = descriptor

    def _soltar_carpeta(self) -> None:
        descriptor, self._cerrojo = self._cerrojo, None
        if descriptor is not None:
            os.close(descriptor)  # closing releases the flock

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
            entorno = {**comun, **prog.entorno} if prog.comparte_entorno else prog.entorno
            lineas += [
                "",
                f"[program:{prog.nombre}]",
                f"command={_ini(shlex.join(prog.comando), prog.nombre)}",
                f"directory={_ini(str(RAIZ), 'la raíz')}",
            ]
            if entorno:
                lineas.append(f"environment={_ini(_entorno_supervisor(entorno))}")
            lineas += [
                f"priority={prioridad}",
                f"autostart={'true' if prog.autostart else 'false'}",
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
        `registro_de_procesos`. Raises YaEnMarcha, having written nothing, where a platform
        already runs on this folder or these ports."""
        self.comprobar_libre()
        if not broker_responde(self.amqp_url):
            raise RuntimeError(f"RabbitMQ no responde en {_sin_clave(self.amqp_url)}")
        supervisord = BIN / "supervisord"
        if not supervisord.exists():
            raise RuntimeError(
                f"falta {supervisord}: instale el extra `local` (`pip install -e '.[local]'`)"
            )
        self._tomar_carpeta()
        try:
            # Again under the lock: another launcher may have started since the first look.
            self.comprobar_libre()
        except YaEnMarcha:
            self._soltar_carpeta()
            raise
        declarar_todo(self.amqp_url, Topologia(self.bus_nombre))
        self._socket = self._ruta_socket()
        if self.monitoreo_activo:
            self._escribir_monitoreo()
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

    def _llamar(self, metodo: str, *argumentos: Any) -> Any:
        """One call to supervisord's XML-RPC interface (`supervisor.<metodo>`), over its unix
        socket."""
        self._vigente()
        assert self._socket is not None
        return llamar_supervisor(self._socket, metodo, *argumentos)

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
        # Demo staff accounts for the web pages (/personal/ingresar): "usuario contraseña".
        entidad = "minsa" if "minsa" in ids else next(iter(ids), None)
        for rol, usuario, de in (
            ("entidad", f"personal@{entidad}.gob.pe", entidad),
            ("supervisor", "supervisor@pcm.gob.pe", None),
        ):
            if rol == "entidad" and entidad is None:
                continue
            secreto = secrets.token_urlsafe(12)
            cuentas.crear(db, usuario, f"Demo {rol} {de or 'SGP'}", rol, secreto, de)
            claves[f"cuenta_{rol}"] = f"{usuario} {secreto}"
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
            self._soltar_carpeta()
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
        self._soltar_carpeta()

    def __enter__(self) -> Plataforma:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.detener()


def llamar_supervisor(socket_unix: Path, metodo: str, *argumentos: Any) -> Any:
    """One call to a running supervisord's XML-RPC interface (`supervisor.<metodo>`) over its
    unix socket; also what the scaler uses on a platform another process launched."""
    from supervisor.xmlrpc import SupervisorTransport  # only the launcher needs supervisor

    transporte = SupervisorTransport(None, None, f"unix://{socket_unix}")
    with xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transporte) as servidor:
        return getattr(servidor.supervisor, metodo)(*argumentos)


def socket_de(carpeta: Path) -> Path:
    """The supervisord socket of the platform running on `carpeta` (from its configuration)."""
    socket_unix = _socket_configurado(Path(carpeta).resolve() / "supervisord.conf")
    if socket_unix is None or not _socket_responde(socket_unix):
        raise RuntimeError(f"no hay una plataforma en marcha en {carpeta}")
    return socket_unix


def _pid_supervisord(archivo: Path) -> int | None:
    """The pid in supervisord's pid file if that process is alive and is a supervisord."""
    try:
        pid = int(archivo.read_text().strip())
        linea = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"supervisord" in linea else None


def _socket_configurado(configuracion: Path) -> Path | None:
    """The unix socket named in a supervisord configuration file, if there is one."""
    try:
        texto = configuracion.read_text()
    except OSError:
        return None
    encontrado = re.search(r"^\[unix_http_server\]\s*\nfile=(.+)$", texto, flags=re.MULTILINE)
    return Path(encontrado.group(1).replace("%%", "%")) if encontrado else None


def _socket_responde(ruta: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        return s.connect_ex(str(ruta)) == 0


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


def _argumentos() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m herramientas.local",
        description="Levanta la plataforma completa en esta máquina (lo que llama scripts/run), "
        "con Prometheus y Alertmanager locales si están instalados. No arranca si ya hay una "
        "plataforma en marcha en su carpeta o en sus puertos. Ajustes por entorno: CARPETA_LOCAL "
        "(por defecto var/), AMQP_URL, MONGO_URL, VIDA_TRANSACCIONES_S.",
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
    parser.add_argument(
        "--sin-monitoreo", action="store_true", help="no arranca Prometheus ni Alertmanager"
    )
    parser.add_argument(
        "--workers-max",
        type=int,
        default=1,
        metavar="N",
        help=f"declara hasta N workers por servicio (1-{MAX_WORKERS}), los adicionales detenidos, "
        "para que `python -m herramientas.escalado` los arranque según la cola",
    )
    parser.add_argument(
        "--escalar",
        action="store_true",
        help="corre también el escalador (herramientas.escalado): entre 1 worker por servicio y "
        "--workers-max según la cola de cada uno",
    )
    parser.add_argument(
        "--puertos-desde",
        type=int,
        metavar="BASE",
        help="usa un bloque de 100 puertos desde BASE (para una segunda plataforma en otra "
        "carpeta); por defecto gateway 8000, Prometheus 9090, Alertmanager 9093...",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    opciones = _argumentos().parse_args(argv)
    if not 1 <= opciones.workers_max <= MAX_WORKERS:
        print(f"--workers-max: entre 1 y {MAX_WORKERS}", file=sys.stderr)
        return 2
    if opciones.escalar and opciones.workers_max < 2:
        print("--escalar necesita --workers-max 2 o más", file=sys.stderr)
        return 2
    carpeta = Path(os.environ.get("CARPETA_LOCAL", RAIZ / "var"))
    plataforma = Plataforma(
        carpeta=carpeta,
        puertos=Puertos.desde(opciones.puertos_desde) if opciones.puertos_desde else Puertos(),
        amqp_url=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        mongo_url=os.environ.get("MONGO_URL") or None,
        workers_max=dict.fromkeys(SERVICIOS, opciones.workers_max),
        monitoreo=not opciones.sin_monitoreo,
        escalado=opciones.escalar,
    )
    # Before anything is written (the log below is truncated): a running platform is left alone.
    try:
        plataforma.comprobar_libre()
    except YaEnMarcha as exc:
        print(f"No se inicia la plataforma: {exc}", file=sys.stderr)
        return 1
    aviso = plataforma.aviso_monitoreo()
    if aviso:
        print(f"\n*** {aviso}\n", file=sys.stderr, flush=True)
    plataforma.carpeta.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminar)
    # Each run starts a fresh log, as the tests do.
    with plataforma.registro_de_procesos.open("wb") as salida:
        try:
            try:
                plataforma.iniciar(salida)
                plataforma.esperar_salud()
                claves = plataforma.sembrar()
            except YaEnMarcha as exc:  # another launcher took the folder in the meantime
                print(f"No se inicia la plataforma: {exc}", file=sys.stderr)
                return 1
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
    if p.monitoreo_activo:
        filas.append(("Prometheus", f"{p.url_prometheus}  (alertas: {p.url_prometheus}/alerts)"))
        filas.append(("Alertmanager", f"{p.url_alertmanager}  (avisos por correo al buzón)"))
    else:
        filas.append(("monitoreo", "apagado"))
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
        + (
            f"\n  Escalar por la cola: python -m herramientas.escalado --carpeta {p.carpeta}"
            if max(p.n_workers(s)[1] for s in SERVICIOS) > 1 and not p.escalado
            else ""
        )
        + "\n  (Ctrl-C para detener)\n",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
