"""The citizens' side of the fault suite: reclamos filed through the gateway at a steady rate by a
few concurrent clients. Each reclamo keeps one Idempotency-Key across its retries, so it ends with
exactly one código or none ("sin 201")."""

from __future__ import annotations

import math
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

# Answers worth retrying: the platform (or a part of it) is down or restarting.
REINTENTABLES = frozenset({500, 502, 503, 504})
ESPERA_INICIAL = 0.2
ESPERA_MAXIMA = 5.0


@dataclass(frozen=True)
class Perfil:
    """How much load each experiment sends (FIABILIDAD=completa for the full run)."""

    completa: bool
    reclamos: int
    tasa: float  # reclamos per second, all clients together
    clientes: int
    muestra_cada: int  # 201→derivado latency is measured on every k-th reclamo
    plazo_reintentos: float  # a client gives up on one reclamo after this many seconds

    @property
    def duracion(self) -> float:
        return self.reclamos / self.tasa

    @property
    def plazo_verificacion(self) -> float:
        """How long the backlog may take to drain once the load is over."""
        return max(90.0, self.reclamos * 0.3)


def perfil() -> Perfil:
    """From the environment: FIABILIDAD=completa (1,000 reclamos per experiment at 10/s, 8
    clients, latency on every 5th; else 20 at 5/s, 4 clients, latency on all), each figure
    overridable with FIABILIDAD_RECLAMOS, FIABILIDAD_TASA, FIABILIDAD_CLIENTES and
    FIABILIDAD_MUESTRA."""
    completa = os.environ.get("FIABILIDAD", "").strip().lower() == "completa"
    return Perfil(
        completa=completa,
        reclamos=int(os.environ.get("FIABILIDAD_RECLAMOS", 1000 if completa else 20)),
        tasa=float(os.environ.get("FIABILIDAD_TASA", 10 if completa else 5)),
        clientes=int(os.environ.get("FIABILIDAD_CLIENTES", 8 if completa else 4)),
        muestra_cada=int(os.environ.get("FIABILIDAD_MUESTRA", 5 if completa else 1)),
        plazo_reintentos=120.0,
    )


def hoja(experimento: int, n: int) -> dict:
    """A valid hoja de reclamación whose email and DNI are unique to (experimento, n), so mails
    and tracking can be attributed to one filing."""
    return {
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": f"4{experimento:02d}{n:05d}"},
            "nombres": "Rosa",
            "apellidos": "Mamani Quispe",
            "email": f"c{experimento}-{n}@prueba.pe",
        },
        "entidad_id": "minsa",
        "sede": "Hospital Nacional Arzobispo Loayza",
        "ocurrido_en": "2026-01-15T10:30:00-05:00",
        "motivo": "tiempo",
        "descripcion": f"Esperé seis horas para una cita programada (prueba de fiabilidad {n}).",
        "pedido": "Que se respeten los horarios de las citas.",
        "medio_respuesta": "email",
        "acepta_privacidad": True,
    }


@dataclass
class Envio:
    """One citizen's filing: the same body and key on every retry."""

    n: int
    cuerpo: dict
    clave: str = field(default_factory=lambda: str(uuid.uuid4()))
    codigo: str | None = None
    t_201: float | None = None  # time.monotonic() of the 201
    intentos: int = 0
    ultimo_error: str = ""

    @property
    def email(self) -> str:
        return self.cuerpo["ciudadano"]["email"]

    @property
    def documento(self) -> str:
        return self.cuerpo["ciudadano"]["documento"]["numero"]


def envios(experimento: int, cantidad: int) -> list[Envio]:
    return [Envio(n, hoja(experimento, n)) for n in range(cantidad)]


def presentar(
    cliente: httpx.Client,
    envio: Envio,
    hasta: float,
    cancelar: threading.Event | None = None,
) -> str | None:
    """POSTs the reclamo until it gets a 201 or `hasta` (monotonic) passes; the código or None.
    Connection errors, timeouts and 5xx are retried with back-off; a 429 waits Retry-After."""
    cancelar = cancelar or threading.Event()
    espera = ESPERA_INICIAL
    while True:
        envio.intentos += 1
        pausa = espera * random.uniform(0.5, 1.5)  # jitter: clients do not retry in lockstep
        try:
            r = cliente.post(
                "/reclamos", json=envio.cuerpo, headers={"Idempotency-Key": envio.clave}
            )
        except httpx.HTTPError as exc:
            envio.ultimo_error = f"{type(exc).__name__}: {exc}"[:200]
        else:
            if r.status_code == 201:
                return r.json()["codigo"]
            envio.ultimo_error = f"{r.status_code} {r.text[:200]}"
            if r.status_code == 429:
                pausa = _retry_after(r)
            elif r.status_code not in REINTENTABLES:
                return None  # the request itself was refused: the same retry would be too
        if time.monotonic() + pausa > hasta or cancelar.wait(pausa):
            return None
        espera = min(espera * 2, ESPERA_MAXIMA)


def _retry_after(r: httpx.Response) -> float:
    try:
        return max(0.1, float(r.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def percentil(valores: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not valores:
        return None
    ordenados = sorted(valores)
    return ordenados[max(0, math.ceil(p / 100 * len(ordenados)) - 1)]


class Observador:
    """Polls tracking for a sample of códigos until each shows `derivado`: the 201→derivado
    latency as the citizen sees it (resolution: one polling round)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pendientes: dict[str, Envio] = {}
        self._derivados: dict[str, tuple[float, float]] = {}  # código → (201, derivado seen)
        self._candado = threading.Lock()
        self._parar = threading.Event()
        self._hilo = threading.Thread(target=self._correr, name="observador", daemon=True)

    def iniciar(self) -> None:
        self._hilo.start()

    def detener(self) -> None:
        self._parar.set()
        self._hilo.join(timeout=30)

    def vigilar(self, envio: Envio) -> None:
        if envio.codigo is None:
            return
        with self._candado:
            if envio.codigo not in self._derivados:
                self._pendientes[envio.codigo] = envio

    def derivado_en(self, codigo: str) -> float | None:
        with self._candado:
            visto = self._derivados.get(codigo)
        return visto[1] if visto else None

    def latencias(self) -> list[float]:
        """Seconds from each sampled 201 to the first look at tracking that showed derivado."""
        with self._candado:
            return [derivado - t_201 for t_201, derivado in self._derivados.values()]

    def _correr(self) -> None:
        with httpx.Client(base_url=self._url + "/api/v1", timeout=5) as cliente:
            while not self._parar.is_set():
                with self._candado:
                    ronda = list(self._pendientes.items())
                for codigo, envio in ronda:
                    if _derivado(cliente, codigo, envio.documento):
                        ahora = time.monotonic()
                        with self._candado:
                            self._pendientes.pop(codigo, None)
                            self._derivados[codigo] = (envio.t_201 or ahora, ahora)
                self._parar.wait(0.1)


def seguimiento(cliente: httpx.Client, codigo: str, documento: str) -> dict | None:
    """The tracking view, or None if it is not there (yet) or the platform did not answer."""
    try:
        r = cliente.post("/seguimiento", json={"codigo": codigo, "numero_documento": documento})
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


def _derivado(cliente: httpx.Client, codigo: str, documento: str) -> bool:
    visto = seguimiento(cliente, codigo, documento)
    return bool(visto) and any(h["estado"] == "derivado" for h in visto["historial"])


class Carga:
    """Files `envios` at `perfil.tasa` per second with `perfil.clientes` concurrent clients.
    `mitad` is set when the middle reclamo is taken: the moment to inject the fault."""

    def __init__(self, url: str, envios: list[Envio], perfil: Perfil, observador: Observador):
        self._url = url
        self.envios = envios
        self._perfil = perfil
        self._observador = observador
        self._siguiente = 0
        self._candado = threading.Lock()
        self.mitad = threading.Event()
        self._cancelar = threading.Event()
        self._hilos = [
            threading.Thread(target=self._cliente, name=f"cliente-{i}", daemon=True)
            for i in range(perfil.clientes)
        ]
        self._inicio = 0.0
        self._hasta = 0.0

    def iniciar(self) -> None:
        self._inicio = time.monotonic()
        # Every retry stops by then, so a platform that never recovers bounds the run.
        self._hasta = self._inicio + self._perfil.duracion + self._perfil.plazo_reintentos
        for hilo in self._hilos:
            hilo.start()

    def esperar(self) -> None:
        for hilo in self._hilos:
            hilo.join()

    def cancelar(self) -> None:
        """Stops filing and retrying (an experiment that failed must not load the next one)."""
        self._cancelar.set()
        self.esperar()

    def ultimo_con_201(self) -> Envio | None:
        """The reclamo whose 201 came last so far."""
        con_201 = [e for e in self.envios if e.t_201 is not None]
        return max(con_201, key=lambda e: e.t_201 or 0.0, default=None)

    def _tomar(self) -> int | None:
        with self._candado:
            i = self._siguiente
            if i >= len(self.envios) or self._cancelar.is_set():
                return None
            self._siguiente += 1
        if i == len(self.envios) // 2:
            self.mitad.set()
        return i

    def _cliente(self) -> None:
        with httpx.Client(base_url=self._url + "/api/v1", timeout=10) as cliente:
            while (i := self._tomar()) is not None:
                programado = self._inicio + i / self._perfil.tasa
                if self._cancelar.wait(max(0.0, programado - time.monotonic())):
                    break
                envio = self.envios[i]
                hasta = min(time.monotonic() + self._perfil.plazo_reintentos, self._hasta)
                codigo = presentar(cliente, envio, hasta, self._cancelar)
                if codigo is not None:
                    envio.codigo, envio.t_201 = codigo, time.monotonic()
                    if envio.n % self._perfil.muestra_cada == 0:
                        self._observador.vigilar(envio)
        self.mitad.set()  # a load smaller than two reclamos still lets the fault run
