"""The local launcher: the whole platform on this machine, without Docker (DESIGN.md §5).

    python -m herramientas.local            # what scripts/run calls

Starts, under the honcho process manager: one embedded SecantusDB store per service (unless
MONGO_URL is given), the SMTP mail catcher, each service's web (gunicorn) and worker, and the
gateway (uvicorn). RabbitMQ must already run (AMQP_URL). Then it loads the demo catalogue, makes
demo credentials, and prints where everything listens. The end-to-end tests start the platform
with this same class, on other ports and with their own bus names.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class Puertos:
    gateway: int = 8000
    smtp: int = 1025
    web: int = 8100  # registro 8101, derivacion 8102, ...
    metricas: int = 9100  # workers' /metrics, same order
    almacen: int = 27100  # gateway 27100, registro 27101, ...

    @classmethod
    def libres(cls) -> Puertos:
        """A block of free ports, for a run beside another one (the tests)."""
        for _ in range(50):
            # Below Linux's ephemeral range (32768+), where an outgoing connection could take a
            # port between this check and the server binding it.
            base = 20000 + secrets.randbelow(120) * 100
            p = cls(
                gateway=base, smtp=base + 1, web=base + 10, metricas=base + 20, almacen=base + 30
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
        ]


def _libre(puerto: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", puerto)) != 0


@dataclass
class Plataforma:
    carpeta: Path
    puertos: Puertos = field(default_factory=Puertos)
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    mongo_url: str | None = None
    bus_nombre: str = "pdr"
    token_interno: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _honcho: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.puertos.gateway}"

    @property
    def correo(self) -> Path:
        return self.carpeta / "correo"

    @property
    def registro_de_procesos(self) -> Path:
        return self.carpeta / "plataforma.log"

    def _mongo(self, i: int, servicio: str) -> str:
        if self.mongo_url:
            return self.mongo_url
        return f"mongodb://127.0.0.1:{self.puertos.almacen + i}"

    def procesos(self) -> dict[str, str]:
        """Procfile entries: name → command (per-process settings as `env` assignments)."""
        p = self.puertos
        procs: dict[str, str] = {}
        if not self.mongo_url:
            for i, nombre in enumerate(("gateway", *SERVICIOS)):
                datos = self.carpeta / "datos" / nombre
                datos.mkdir(parents=True, exist_ok=True)
                procs[f"almacen-{nombre}"] = (
                    f"{BIN / 'secantusd-py'} --host 127.0.0.1 --port {p.almacen + i} "
                    f"--storage-path {datos} --log-level WARNING"
                )
        procs["buzon"] = (
            f"{sys.executable} -m herramientas.buzon --puerto {p.smtp} --carpeta {self.correo}"
        )
        for i, s in enumerate(SERVICIOS, start=1):
            env = f"env MONGO_URL={self._mongo(i, s)} MONGO_DB={s}"
            procs[f"{s}-web"] = (
                f"{env} HOST=127.0.0.1 PUERTO={p.web + i} {BIN / 'gunicorn'} "
                f"-c python:comun.gunicorn_conf 'servicios.{s}.service:crear_app()'"
            )
            procs[f"{s}-worker"] = (
                f"{env} PUERTO_METRICAS={p.metricas + i} {sys.executable} -m servicios.{s}.worker"
            )
        urls = " ".join(
            f"URL_{s.upper()}=http://127.0.0.1:{p.web + i}"
            for i, s in enumerate(SERVICIOS, start=1)
        )
        procs["gateway"] = (
            f"env MONGO_URL={self._mongo(0, 'gateway')} MONGO_DB=gateway {urls} "
            f"{BIN / 'uvicorn'} gateway.app:crear_app --factory --host 127.0.0.1 "
            f"--port {p.gateway} --no-access-log"
        )
        return procs

    def entorno(self) -> dict[str, str]:
        """Settings every process shares (the .env honcho reads)."""
        return {
            "AMQP_URL": self.amqp_url,
            "BUS_NOMBRE": self.bus_nombre,
            "TOKEN_INTERNO": self.token_interno,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PUERTO": str(self.puertos.smtp),
            "URL_PORTAL": self.url,
            "PYTHONUNBUFFERED": "1",
        }

    def iniciar(self, salida=None) -> None:
        if not broker_responde(self.amqp_url):
            raise RuntimeError(f"RabbitMQ no responde en {_sin_clave(self.amqp_url)}")
        declarar_todo(self.amqp_url, Topologia(self.bus_nombre))
        self.carpeta.mkdir(parents=True, exist_ok=True)
        procfile = self.carpeta / "Procfile"
        procfile.write_text("".join(f"{k}: {v}\n" for k, v in self.procesos().items()))
        env_file = self.carpeta / ".env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in self.entorno().items()))
        env_file.chmod(0o600)  # holds the internal token
        self._honcho = subprocess.Popen(
            [
                str(BIN / "honcho"),
                "start",
                "-f",
                str(procfile),
                "-e",
                str(env_file),
                "-d",
                str(RAIZ),
                "--no-colour",
            ],
            cwd=RAIZ,
            stdout=salida,
            stderr=subprocess.STDOUT if salida else None,
            start_new_session=True,  # its own process group, to stop it whole
        )

    def esperar_salud(self, segundos: float = 120) -> None:
        limite = time.monotonic() + segundos
        ultimo = "sin respuesta"
        while time.monotonic() < limite:
            if self._honcho and self._honcho.poll() is not None:
                raise RuntimeError(
                    f"honcho terminó (código {self._honcho.returncode}); "
                    f"ver {self.registro_de_procesos}"
                )
            try:
                r = httpx.get(self.url + "/health", timeout=5)
                if r.status_code == 200:
                    return
                ultimo = r.text
            except httpx.HTTPError as exc:
                ultimo = str(exc)
            time.sleep(1)
        raise RuntimeError(f"la plataforma no quedó sana en {segundos:.0f} s: {ultimo}")

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

    def detener(self) -> None:
        if self._honcho and self._honcho.poll() is None:
            os.killpg(self._honcho.pid, signal.SIGTERM)
            try:
                self._honcho.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._honcho.pid, signal.SIGKILL)
                self._honcho.wait()

    def __enter__(self) -> Plataforma:
        return self

    def __exit__(self, *_exc) -> None:
        self.detener()


def _sin_clave(url: str) -> str:
    return url.split("@")[-1]


def main() -> int:
    carpeta = Path(os.environ.get("CARPETA_LOCAL", RAIZ / "var"))
    plataforma = Plataforma(
        carpeta=carpeta,
        amqp_url=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        mongo_url=os.environ.get("MONGO_URL") or None,
    )
    try:
        plataforma.iniciar()
        plataforma.esperar_salud()
        claves = plataforma.sembrar()
    except RuntimeError as exc:
        print(f"\nNo se pudo iniciar la plataforma: {exc}", file=sys.stderr)
        plataforma.detener()
        return 1
    archivo = carpeta / "credenciales.json"
    archivo.write_text(json.dumps(claves, indent=2))
    archivo.chmod(0o600)
    _mostrar(plataforma, archivo)
    signal.signal(signal.SIGTERM, _terminar)
    try:
        return plataforma._honcho.wait() if plataforma._honcho else 0
    except KeyboardInterrupt:
        return 0
    finally:
        plataforma.detener()


def _terminar(*_senal) -> None:
    # Stopping happens in main's `finally`, not here: a handler that waited on honcho would
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
    print("\n=== Plataforma Digital Única de Reclamos: en marcha ===", flush=True)
    for nombre, donde in filas:
        print(f"  {nombre:<24} {donde}")
    print(f"  credenciales de prueba   {archivo}\n  (Ctrl-C para detener)\n", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
