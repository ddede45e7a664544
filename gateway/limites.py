"""Rate limits of the public routes (DESIGN.md §4), counted in the gateway's store.

The counters are the `limits` library's moving windows in its MongoDB storage, on the gateway's
own database (`MONGO_URL`, `MONGO_DB`; collections `limites_ventanas` and `limites_contadores`),
so every gateway replica counts against the same numbers. The moving window is the strategy that
works on SecantusDB, the local store; the sliding-window-counter one fails there (DESIGN.md §5).

What is limited, and by what:
- filing a reclamo (citizens only): per document a day, and per client address an hour with a
  ceiling high enough for everyone behind one address (a consulate's desk, a kiosk, a mobile
  carrier's NAT);
- failed lookups, a wrong document for a código (seguimiento, subsanación, desistimiento): per
  código and per document, whatever the address, so rotating addresses does not help guessing.

The client address is the socket peer; only when the peer is a configured proxy
(`PROXIES_DE_CONFIANZA`) is it taken from X-Forwarded-For. The gateway's server must hand the
peer over untouched (uvicorn `--no-proxy-headers`), or it would trust the header itself.

Keys never hold a document number or an address in clear: each is an HMAC under the internal
token, so the limits collections hold no personal data a reader of the store could use.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour
from limits.errors import StorageError
from limits.storage import MongoDBStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from gateway.ajustes import AjustesGateway, Red

VENTANAS = "limites_ventanas"
CONTADORES = "limites_contadores"


class Demasiadas(Exception):
    """A limit is spent: `espera` seconds until one more is allowed; `mensaje` for the caller."""

    def __init__(self, espera: float, mensaje: str) -> None:
        super().__init__(mensaje)
        self.espera = espera
        self.mensaje = mensaje

    @property
    def reintentar_en(self) -> int:
        """Whole seconds for Retry-After (at least 1)."""
        return max(1, math.ceil(self.espera))


class LimitesNoDisponibles(Exception):
    """The store of the counters does not answer: nothing is let through uncounted."""


@dataclass(frozen=True)
class _Regla:
    nombre: str
    limite: RateLimitItem
    mensaje: str


class Limites:
    def __init__(self, almacen: MongoDBStorage, ajustes: AjustesGateway) -> None:
        self._limitador = MovingWindowRateLimiter(almacen)
        self._secreto = ajustes.token_interno.get_secret_value().encode()
        self._proxies = ajustes.proxies()
        self.reclamos_por_documento = _Regla(
            "reclamos-documento",
            RateLimitItemPerDay(ajustes.limite_reclamos_por_documento_por_dia),
            "Se alcanzó el máximo de reclamos por día con este documento; intente mañana.",
        )
        self.reclamos_por_direccion = _Regla(
            "reclamos-direccion",
            RateLimitItemPerHour(ajustes.limite_reclamos_por_direccion_por_hora),
            "Demasiados reclamos desde esta dirección; intente más tarde.",
        )
        fallidos = "Demasiados intentos fallidos; intente más tarde."
        self.fallos_por_codigo = _Regla(
            "fallos-codigo",
            RateLimitItemPerHour(ajustes.limite_fallos_seguimiento_por_hora),
            fallidos,
        )
        self.fallos_por_documento = _Regla(
            "fallos-documento",
            RateLimitItemPerHour(ajustes.limite_fallos_por_documento_por_hora),
            fallidos,
        )

    @classmethod
    def en_almacen(cls, ajustes: AjustesGateway) -> Limites:
        """The limits on the gateway's own store (what `crear_app` uses)."""
        almacen = storage_from_string(
            ajustes.mongo_url,
            database_name=ajustes.base_de_datos("gateway"),
            window_collection_name=VENTANAS,
            counter_collection_name=CONTADORES,
            wrap_exceptions=True,
            # A request waits for its counters at most this long, like for any store operation.
            serverSelectionTimeoutMS=min(5000, ajustes.mongo_timeout_ms),
            connectTimeoutMS=min(5000, ajustes.mongo_timeout_ms),
            timeoutMS=ajustes.mongo_timeout_ms,
            appname="gateway-limites",
        )
        assert isinstance(almacen, MongoDBStorage), ajustes.mongo_url
        # Connect now: the first use creates the expiry (TTL) indexes, and the store is known to
        # answer at start (crear_app waited for it).
        almacen.check()
        return cls(almacen, ajustes)

    # --- who is calling -------------------------------------------------------------------------

    def direccion(self, par: str | None, reenviado: Iterable[str]) -> str:
        """The client's address: the socket peer `par`, unless it is a trusted proxy; then the
        nearest address in X-Forwarded-For (`reenviado`: its values) that is not one."""
        return direccion_cliente(par, reenviado, self._proxies)

    # --- filing --------------------------------------------------------------------------------

    async def registrar(self, documento: str, direccion: str) -> None:
        """Counts one reclamo filed with `documento` from `direccion`; `Demasiadas` if either
        limit is spent (then nothing is counted)."""
        await self._en_hilo(
            self._consumir,
            [
                (self.reclamos_por_documento, documento),
                (self.reclamos_por_direccion, clave_de_direccion(direccion)),
            ],
        )

    # --- failed lookups ------------------------------------------------------------------------

    async def antes_de_consultar(self, codigo: str, documento: str) -> None:
        """`Demasiadas` if failed lookups of `codigo`, or with `documento`, are spent: past the
        limit even the right document waits, or the answer would tell it apart."""
        await self._en_hilo(self._comprobar, self._fallos(codigo, documento))

    async def fallo(self, codigo: str, documento: str) -> None:
        """Counts one failed lookup (a wrong document for `codigo`)."""
        await self._en_hilo(self._anotar, self._fallos(codigo, documento))

    def _fallos(self, codigo: str, documento: str) -> list[tuple[_Regla, str]]:
        return [(self.fallos_por_codigo, codigo), (self.fallos_por_documento, documento)]

    # --- the counters ----------------------------------------------------------------------------

    async def _en_hilo(self, trabajo, reglas: list[tuple[_Regla, str]]) -> None:
        # pymongo blocks: off the event loop, so a slow store stalls only this request.
        try:
            await run_in_threadpool(trabajo, reglas)
        except StorageError as exc:
            raise LimitesNoDisponibles(type(exc.storage_error).__name__) from exc

    def _ids(self, regla: _Regla, valor: str) -> tuple[str, str]:
        firma = hmac.new(self._secreto, f"{regla.nombre}|{valor}".encode(), hashlib.sha256)
        return regla.nombre, firma.hexdigest()[:32]

    def _comprobar(self, reglas: list[tuple[_Regla, str]]) -> None:
        agotadas = [
            (regla, valor)
            for regla, valor in reglas
            if not self._limitador.test(regla.limite, *self._ids(regla, valor))
        ]
        if agotadas:
            raise max((self._demasiadas(r, v) for r, v in agotadas), key=lambda d: d.espera)

    def _consumir(self, reglas: list[tuple[_Regla, str]]) -> None:
        self._comprobar(reglas)
        # Between the check and the hit another replica may take the last place: the hit, atomic
        # in the store, has the last word.
        for regla, valor in reglas:
            if not self._limitador.hit(regla.limite, *self._ids(regla, valor)):
                raise self._demasiadas(regla, valor)

    def _anotar(self, reglas: list[tuple[_Regla, str]]) -> None:
        for regla, valor in reglas:
            self._limitador.hit(regla.limite, *self._ids(regla, valor))  # a full window stays full

    def _demasiadas(self, regla: _Regla, valor: str) -> Demasiadas:
        ventana = self._limitador.get_window_stats(regla.limite, *self._ids(regla, valor))
        return Demasiadas(ventana.reset_time - time.time(), regla.mensaje)


def direccion_cliente(par: str | None, reenviado: Iterable[str], proxies: tuple[Red, ...]) -> str:
    """The socket peer `par`, unless it is one of `proxies`: then X-Forwarded-For is walked from
    the right (the hop the trusted proxy saw) past every trusted proxy, and the first address
    that is not one is the client. What a client writes to the left of it is never believed."""
    if par is None:
        return "desconocida"
    if not _de_confianza(par, proxies):
        return par
    saltos = [s.strip() for valor in reenviado for s in valor.split(",") if s.strip()]
    for salto in reversed(saltos):
        salto = _sin_puerto(salto)
        if not _de_confianza(salto, proxies):
            return salto
    return par  # no header, or only proxies in it: the request starts at a proxy


def clave_de_direccion(direccion: str) -> str:
    """What one client is: an IPv4 address, or the /64 network of an IPv6 one (a single host
    usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(direccion)
    except ValueError:
        return direccion
    ip = getattr(ip, "ipv4_mapped", None) or ip  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _de_confianza(direccion: str, proxies: tuple[Red, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(direccion)
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return any(ip in red for red in proxies)


def _sin_puerto(salto: str) -> str:
    """'203.0.113.7:5123' → '203.0.113.7'; '[2001:db8::1]:443' → '2001:db8::1'."""
    if salto.startswith("[") and "]" in salto:
        return salto[1 : salto.index("]")]
    if salto.count(":") == 1:
        return salto.split(":", 1)[0]
    return salto
