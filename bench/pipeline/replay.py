"""The people of the replay: citizens filing through the gateway, the entities answering from
their bandeja when the domain clock reaches the planned day, citizens answering the survey from
the link in their mail. They see what the platform shows them (the gateway, the mails), nothing
else; the closed count alone is read from derivacion's store, once a second."""

from __future__ import annotations

import heapq
import itertools
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default
from pathlib import Path

import httpx

from bench.pipeline.historia import Plan

DIA = 86400.0
CODIGO = re.compile(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
ENLACE = re.compile(r"/api/v1/encuestas/(\S+)")
RESPUESTA_ENCUESTA = {
    "satisfaccion": 4,
    "resuelto": True,
    "impulsores": {
        "tiempo": 3,
        "trato": 5,
        "informacion": 4,
        "acceso": 4,
        "resultado": 4,
        "confianza": 4,
    },
}


def _derivado_visible(seguimiento: dict) -> bool:
    """What the citizen sees once routed: a `derivado` step and the deadline."""
    pasos = {h.get("estado") for h in seguimiento.get("historial") or []}
    return "derivado" in pasos and seguimiento.get("vence_en") is not None


class Reloj:
    """The domain clock the platform reads (RELOJ_ARCHIVO): whole days ahead of the real one."""

    def __init__(self, archivo: Path) -> None:
        self.archivo = archivo
        self.dia = 0
        self._candado = threading.Lock()
        self.archivo.write_text("0")

    def llevar_a(self, dia: int) -> None:
        with self._candado:
            if dia > self.dia:
                self.dia = dia
                self.archivo.write_text(str(dia * DIA))


@dataclass
class Reclamo:
    plan: Plan
    codigo: str | None = None
    presentado: float | None = None
    derivado: float | None = None
    acuse: float | None = None
    respondido: float | None = None
    invitacion: float | None = None
    token: str | None = None


@dataclass
class Buzon:
    """Reads each new mail of the catcher's folder once (then deletes it, so a long replay does
    not list hundreds of thousands of files): acuses and survey invitations, by código."""

    carpeta: Path
    por_codigo: dict[str, Reclamo]
    acuses: deque[Reclamo] = field(default_factory=deque)
    encuestas: deque[Reclamo] = field(default_factory=deque)
    correos: int = 0
    # Mails for a código whose 201 the filer has not recorded yet: read again next time.
    _huerfanos: list[tuple[bytes, float]] = field(default_factory=list)
    _cabeceras: BytesHeaderParser = field(default_factory=lambda: BytesHeaderParser(policy=default))
    _parser: BytesParser = field(default_factory=lambda: BytesParser(policy=default))

    def leer(self) -> None:
        huerfanos, self._huerfanos = self._huerfanos, []
        for datos, llegada in huerfanos:
            self._anotar(datos, llegada)
        if not self.carpeta.exists():
            return
        for entrada in self.carpeta.iterdir():
            if entrada.suffix != ".eml":
                continue
            datos = entrada.read_bytes()
            entrada.unlink()
            self.correos += 1
            self._anotar(datos, time.monotonic())

    def _anotar(self, datos: bytes, ahora: float) -> None:
        cabeceras = self._cabeceras.parsebytes(datos)
        if not str(cabeceras["To"]).endswith("@bench.pe"):
            return  # a unit's alert: not the citizen's
        asunto = str(cabeceras["Subject"] or "")
        encontrado = CODIGO.search(asunto)
        if encontrado is None:
            return
        reclamo = self.por_codigo.get(encontrado.group(0))
        if reclamo is None:
            self._huerfanos.append((datos, ahora))
            return
        if "registrado" in asunto and reclamo.acuse is None:
            reclamo.acuse = ahora
            self.acuses.append(reclamo)
        elif asunto.startswith("Cuéntenos") and reclamo.invitacion is None:
            enlace = ENLACE.search(self._parser.parsebytes(datos).get_content())
            reclamo.invitacion, reclamo.token = ahora, enlace.group(1) if enlace else None
            self.encuestas.append(reclamo)


class Replay:
    """Runs a list of plans through the platform; `correr` returns when every one is done
    (closed, for a full lifecycle; acknowledged by mail, for intake only) or time runs out."""

    def __init__(
        self,
        url: str,
        planes: Iterable[Plan],
        claves: dict[str, str],
        reloj: Reloj,
        buzon: Buzon,
        clientes: int = 16,
        ritmo: float | None = None,
        observar_cada: int = 10,
    ) -> None:
        self.url = url
        self.reclamos = [Reclamo(p) for p in planes]
        self.claves = claves
        self.reloj = reloj
        self.buzon = buzon
        self.clientes = clientes
        self.ritmo = ritmo  # reclamos per second (None: as fast as the platform takes them)
        self.observar_cada = observar_cada
        self.parar = threading.Event()
        self._siguiente = itertools.count()
        self._respuestas: list[tuple[int, int, Reclamo]] = []  # (day due, n, reclamo)
        self.errores: list[str] = []
        # Tracking requests of the sampled citizens: their cost is in the figures too.
        self.consultas = 0
        self.inicio = 0.0
        self.fin_presentacion = 0.0

    # --- citizens filing ---------------------------------------------------------------------
    def _presentar(self) -> None:
        with httpx.Client(base_url=self.url + "/api/v1", timeout=60) as cliente:
            while not self.parar.is_set():
                i = next(self._siguiente)
                if i >= len(self.reclamos):
                    return
                if self.ritmo:
                    retraso = self.inicio + i / self.ritmo - time.monotonic()
                    if retraso > 0:
                        time.sleep(retraso)
                reclamo = self.reclamos[i]
                self.reloj.llevar_a(self._dia_inicial + reclamo.plan.dia)
                for _ in range(20):
                    r = cliente.post(
                        "/reclamos",
                        json=reclamo.plan.hoja(),
                        headers={
                            "Idempotency-Key": f"bench-{reclamo.plan.n}",
                            "X-Forwarded-For": reclamo.plan.direccion,
                        },
                    )
                    if r.status_code == 201:
                        break
                    time.sleep(0.5)
                else:
                    self._error(f"presentar {reclamo.plan.n}: {r.status_code} {r.text[:150]}")
                    continue
                reclamo.presentado = time.monotonic()
                reclamo.codigo = r.json()["codigo"]
                self.buzon.por_codigo[reclamo.codigo] = reclamo

    # --- what the citizen sees: tracking (a sample), mails ------------------------------------
    def _observar(self) -> None:
        with httpx.Client(base_url=self.url + "/api/v1", timeout=30) as cliente:
            muestra = self.reclamos[:: self.observar_cada]
            while not self.parar.is_set():
                pendientes = [r for r in muestra if r.codigo and r.derivado is None]
                muestra = [r for r in muestra if r.derivado is None]
                for r in pendientes:
                    self.consultas += 1
                    try:
                        s = cliente.post(
                            "/seguimiento",
                            json={"codigo": r.codigo, "numero_documento": r.plan.documento},
                            headers={"X-Forwarded-For": r.plan.direccion},
                        )
                    except httpx.HTTPError as exc:  # a slow answer under load: look again
                        self._error(f"seguimiento {r.codigo}: {type(exc).__name__}")
                        continue
                    if s.status_code == 200 and _derivado_visible(s.json()):
                        r.derivado = time.monotonic()
                self.parar.wait(0.2 if pendientes else 0.5)

    def _leer_correo(self) -> None:
        while not self.parar.is_set():
            self.buzon.leer()
            self.parar.wait(0.3)

    # --- entities answering, citizens answering surveys ---------------------------------------
    def _responder(self, vida: bool) -> None:
        with httpx.Client(base_url=self.url + "/api/v1", timeout=60) as cliente:
            while not self.parar.is_set():
                while self.buzon.acuses:
                    r = self.buzon.acuses.popleft()
                    if vida:
                        vence = self._dia_inicial + r.plan.dia + r.plan.responde_tras
                        heapq.heappush(self._respuestas, (vence, r.plan.n, r))
                hoy = self.reloj.dia
                while self._respuestas and self._respuestas[0][0] <= hoy:
                    _, _, r = heapq.heappop(self._respuestas)
                    if not self._atender_y_responder(cliente, r):
                        # Not in the bandeja yet (its derivation is still on its way): the
                        # entity looks again the next day.
                        heapq.heappush(self._respuestas, (hoy + 1, r.plan.n, r))
                while self.buzon.encuestas:
                    r = self.buzon.encuestas.popleft()
                    if r.plan.contesta_encuesta and r.token:
                        e = cliente.post(
                            f"/encuestas/{r.token}",
                            json=RESPUESTA_ENCUESTA,
                            headers={"X-Forwarded-For": r.plan.direccion},
                        )
                        if e.status_code != 200:
                            self._error(f"encuesta {r.codigo}: {e.status_code} {e.text[:150]}")
                self.parar.wait(0.2)

    def _atender_y_responder(self, cliente: httpx.Client, r: Reclamo) -> bool:
        """True once answered; False to try again the next day (not in the bandeja yet, or a
        failure the platform asks to retry)."""
        cabeceras = {"X-API-Key": self.claves[r.plan.entidad_id]}
        a = cliente.post(f"/bandeja/{r.codigo}/atencion", headers=cabeceras)
        if a.status_code not in (200, 409):  # 409: already in attention (an earlier try)
            if a.status_code != 404:
                self._error(f"atencion {r.codigo}: {a.status_code} {a.text[:150]}")
            return False
        texto = "Atendimos su reclamo: se reforzó la atención en la sede y se le pide disculpas."
        b = cliente.post(f"/bandeja/{r.codigo}/respuesta", headers=cabeceras, json={"texto": texto})
        if b.status_code != 200:
            self._error(f"respuesta {r.codigo}: {b.status_code} {b.text[:150]}")
            return b.status_code == 409  # already answered: done
        r.respondido = time.monotonic()
        return True

    def _error(self, texto: str) -> None:
        self.errores.append(texto)
        print("  error:", texto, file=sys.stderr, flush=True)

    # --- the run -----------------------------------------------------------------------------
    def correr(self, vida: bool, hasta_cerrados: Callable[[], int] | None, plazo: float) -> float:
        """Seconds from the first filing until every reclamo is done (or `plazo` passed)."""
        self._dia_inicial = self.reloj.dia + (1 if vida else 0)
        self.inicio = time.monotonic()
        hilos = [threading.Thread(target=self._presentar) for _ in range(self.clientes)]
        hilos += [
            threading.Thread(target=self._observar),
            threading.Thread(target=self._leer_correo),
            threading.Thread(target=self._responder, args=(vida,)),
        ]
        for h in hilos:
            h.start()
        limite = self.inicio + plazo
        avisado = self.inicio
        try:
            for h in hilos[: self.clientes]:
                h.join()
            self.fin_presentacion = time.monotonic()
            while time.monotonic() < limite:
                if not vida and all(r.acuse for r in self.reclamos if r.codigo):
                    break
                if time.monotonic() - avisado > 15:
                    avisado = time.monotonic()
                    cerrados = hasta_cerrados() if hasta_cerrados else None
                    print(
                        f"  {self.presentados} presentados, "
                        f"{sum(1 for r in self.reclamos if r.acuse)} acuses, "
                        f"{sum(1 for r in self.reclamos if r.respondido)} respondidos, "
                        f"{cerrados} cerrados; día {self.reloj.dia}",
                        flush=True,
                    )
                if vida and self._al_dia():
                    # Filing is over: the days go on (a second each, once the platform has
                    # caught up), so the last answers fall due and the unanswered surveys expire.
                    self.reloj.llevar_a(self.reloj.dia + 1)
                    if hasta_cerrados is not None and hasta_cerrados() >= self.presentados:
                        break
                time.sleep(1.0)
            return time.monotonic() - self.inicio
        finally:
            self.parar.set()
            for h in hilos:
                h.join(timeout=60)

    def _al_dia(self) -> bool:
        """Every acuse and every survey invitation due so far has arrived: moving the clock on
        will not expire a survey the citizen has not even received."""
        filed = [r for r in self.reclamos if r.codigo]
        return all(r.acuse for r in filed) and all(
            r.invitacion for r in filed if r.respondido is not None
        )

    @property
    def presentados(self) -> int:
        return sum(1 for r in self.reclamos if r.codigo)
