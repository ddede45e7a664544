"""What must hold once the platform has recovered from a fault: every código that got a 201 is
tracked with exactly one registrado, one derivado and one deadline line, has exactly one acuse
mail, and a late retry with the same Idempotency-Key answers the same código."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.conftest import correos
from tests.fiabilidad.carga import Envio, presentar, seguimiento

# What registro writes for plazo.calculado (servicios/registro/manejadores.py).
LINEA_PLAZO = "Plazo de atención:"
# What registro writes once notificaciones sent (or failed to send) the acuse.
LINEAS_ACUSE = ("Le enviamos la constancia de registro", "No pudimos entregarle la constancia")
# The acuse's subject (servicios/notificaciones/plantillas.py: acuse).
ASUNTO_ACUSE = re.compile(r"^Reclamo (R-[0-9A-Z-]+) registrado ante ")


@dataclass
class Historial:
    """The lines of one código's timeline that must appear exactly once."""

    registrados: int = 0
    derivados: int = 0
    plazos: int = 0
    acuse_anotado: bool = False

    @classmethod
    def de(cls, visto: dict) -> Historial:
        h = cls()
        for linea in visto["historial"]:
            h.registrados += linea["estado"] == "registrado"
            h.derivados += linea["estado"] == "derivado"
            h.plazos += linea["texto"].startswith(LINEA_PLAZO)
            h.acuse_anotado |= linea["texto"].startswith(LINEAS_ACUSE)
        return h

    @property
    def completo(self) -> bool:
        return self.registrados == self.derivados == self.plazos == 1 and self.acuse_anotado

    @property
    def repetido(self) -> bool:
        return max(self.registrados, self.derivados, self.plazos) > 1


@dataclass
class Veredicto:
    """The counts of one experiment, with the códigos behind each."""

    enviados: int = 0
    con_201: int = 0
    sin_201: list[int] = field(default_factory=list)  # reclamo numbers
    sin_codigo: list[int] = field(default_factory=list)  # not even the late retry got one
    perdidos: set[str] = field(default_factory=set)
    duplicados: set[str] = field(default_factory=set)
    correos_dobles: set[str] = field(default_factory=set)
    detalle: list[str] = field(default_factory=list)  # one line per problem, for the report


def reintentar_tarde(url: str, envios: list[Envio], clientes: int, veredicto: Veredicto) -> None:
    """The citizen retries every filing once more with its key: same código for those that got
    one; a código for those that did not (else what was stored without a 201 is unreachable)."""

    def uno(envio: Envio) -> None:
        with httpx.Client(base_url=url + "/api/v1", timeout=10) as cliente:
            codigo = presentar(cliente, envio, time.monotonic() + 60)
        if codigo is None:
            veredicto.sin_codigo.append(envio.n)
            veredicto.detalle.append(
                f"n={envio.n}: el reintento tardío no obtuvo código ({envio.ultimo_error})"
            )
        elif envio.codigo is None:
            envio.codigo = codigo  # stored without a 201 (or only now): it must flow like any
        elif codigo != envio.codigo:
            veredicto.duplicados.add(envio.codigo)
            veredicto.detalle.append(
                f"{envio.codigo}: el reintento con la misma Idempotency-Key dio otro código "
                f"{codigo}"
            )

    with ThreadPoolExecutor(clientes) as grupo:
        list(grupo.map(uno, envios))


def esperar_historiales(url: str, envios: list[Envio], plazo: float) -> dict[str, Historial]:
    """Polls tracking until every código's timeline is complete (or repeated, which no wait
    fixes) or `plazo` passes; the last timeline seen per código (absent: never found)."""
    pendientes = {e.codigo: e for e in envios if e.codigo}
    vistos: dict[str, Historial] = {}
    limite = time.monotonic() + plazo
    with httpx.Client(base_url=url + "/api/v1", timeout=10) as cliente, ThreadPoolExecutor(4) as g:
        while pendientes and time.monotonic() < limite:
            ronda = list(pendientes.values())
            for envio, visto in zip(ronda, g.map(lambda e: _mirar(cliente, e), ronda), strict=True):
                if visto is None:
                    continue
                vistos[envio.codigo or ""] = visto
                if visto.completo or visto.repetido:
                    pendientes.pop(envio.codigo, None)
            time.sleep(0.5)
    return vistos


def _mirar(cliente: httpx.Client, envio: Envio) -> Historial | None:
    visto = seguimiento(cliente, envio.codigo or "", envio.documento)
    return Historial.de(visto) if visto else None


def acuses(carpeta: Path) -> tuple[Counter[str], dict[str, set[str]]]:
    """Acuse mails per código, and the códigos acknowledged to each address."""
    por_codigo: Counter[str] = Counter()
    por_email: dict[str, set[str]] = defaultdict(set)
    for mensaje in correos(carpeta):
        if m := ASUNTO_ACUSE.match(str(mensaje["Subject"] or "")):
            por_codigo[m.group(1)] += 1
            por_email[str(mensaje["To"])].add(m.group(1))
    return por_codigo, por_email


def juzgar(
    envios: list[Envio],
    vistos: dict[str, Historial],
    carpeta_correo: Path,
    veredicto: Veredicto,
) -> None:
    """Classifies every filing: perdido, duplicado, correo doble."""
    por_codigo, por_email = acuses(carpeta_correo)
    for envio in envios:
        codigo = envio.codigo
        if codigo is None:
            continue
        visto = vistos.get(codigo)
        if visto is None:
            veredicto.perdidos.add(codigo)
            veredicto.detalle.append(f"{codigo}: el seguimiento no lo encuentra")
            continue
        if visto.repetido:
            veredicto.duplicados.add(codigo)
            veredicto.detalle.append(f"{codigo}: historial repetido {visto}")
        elif not visto.completo:
            veredicto.perdidos.add(codigo)
            veredicto.detalle.append(f"{codigo}: historial incompleto {visto}")
        otros = por_email.get(envio.email, set()) - {codigo}
        if otros:
            veredicto.duplicados.add(codigo)
            veredicto.detalle.append(
                f"{codigo}: un solo envío (n={envio.n}) quedó registrado también como "
                f"{sorted(otros)}"
            )
        mails = por_codigo[codigo]
        if mails == 0 and codigo not in veredicto.perdidos:
            veredicto.perdidos.add(codigo)
            veredicto.detalle.append(f"{codigo}: sin correo de acuse")
        elif mails > 1:
            veredicto.correos_dobles.add(codigo)
            veredicto.detalle.append(f"{codigo}: {mails} correos de acuse")
