"""Entity webhooks: an entity subscribes a URL to its reclamos' events and gets a secret;
each event becomes one delivery per matching subscription, written in the event's transaction
(idempotent: its id derives from the subscription and the event), and the Mensajero POSTs it
signed, retrying with exponential back-off for a day and recording every attempt.

The body carries no personal data: event type and id, when, código, entity, unit, state (and,
for new files, their id, name, type, size and SHA-256, as the entity sees them in its reclamo).

Signature: `X-PDR-Firma: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>`. The
receiver recomputes it over the raw bytes and rejects a `t` older than 5 minutes (replays).
Every attempt of one delivery sends the same body and `X-PDR-Entrega`, so a receiver can drop a
repeat (delivery is at least once, as for mail).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import al_confirmar, leido_en_la_transaccion
from comun.despertador import Despertador
from comun.en_mano import EnMano
from comun.eventos import Datos, Evento
from servicios.notificaciones.cartero import Repartidor
from servicios.notificaciones.schemas import EventoWebhook

log = logging.getLogger(__name__)
# Touched after a commit that wrote a webhook delivery in this process: the mensajero posts it.
hay_entregas = Despertador()
TIPOS = frozenset(e.value for e in EventoWebhook)
ESPACIO = uuid.UUID("6f1d3a2e-8c4b-4e0a-9a51-7d0c2b9e4f11")  # namespace of delivery ids
VENTANA_S = 300  # what the README tells receivers to accept as a signature's age
# The state an event leaves the reclamo in; other events (reasignado, plazo.*, intervención)
# report the state the reclamo is in.
ESTADO_TRAS = {
    "reclamo.registrado": "registrado",
    "reclamo.derivado": "derivado",
    "reclamo.en_atencion": "en_atencion",
    "reclamo.observado": "observado",
    "reclamo.subsanado": "subsanado",
    "reclamo.archivado": "archivado",
    "reclamo.trasladado": "trasladado",
    "reclamo.desistido": "desistido",
    "reclamo.respondido": "respondido",
    "reclamo.cerrado": "cerrado",
}


# --- pure ---------------------------------------------------------------------------------------


def nuevo_id() -> str:
    return "wh_" + secrets.token_hex(8)


def nuevo_secreto() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def firma(secreto: str, t: int, cuerpo: bytes) -> str:
    """The X-PDR-Firma header's value for `cuerpo` sent at unix time `t`."""
    mac = hmac.new(secreto.encode(), f"{t}.".encode() + cuerpo, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def espera(intento: int, inicial: float, maximo: float) -> timedelta:
    """Wait after the `intento`-th failed attempt (1, 2, ...): inicial · 2^(n-1), capped."""
    return timedelta(seconds=min(inicial * 2 ** min(intento - 1, 30), maximo))


def id_de_entrega(webhook_id: str, evento_id: str) -> str:
    return str(uuid.uuid5(ESPACIO, f"{webhook_id}:{evento_id}"))


def _ip_privada(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def problema_de_url(url: str, permitir_http: bool, permitir_privadas: bool) -> str | None:
    """Why `url` cannot be a webhook (in Spanish), or None. Names are not resolved here (the
    sender checks every address it resolves before each attempt)."""
    try:
        partes = urlsplit(url)
        host = partes.hostname
        partes.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "La URL no es válida."
    if partes.scheme not in ("https", "http") or not host:
        return "La URL debe ser https://servidor/ruta."
    if partes.scheme == "http" and not permitir_http:
        return "La URL debe usar https."
    if partes.username or partes.password:
        return "La URL no puede llevar usuario ni clave."
    if partes.fragment:
        return "La URL no puede llevar fragmento (#)."
    if permitir_privadas:
        return None
    nombre = host.rstrip(".").lower()
    if nombre == "localhost" or nombre.endswith((".localhost", ".local", ".internal")):
        return "La URL debe apuntar a una dirección pública."
    try:
        ip = ipaddress.ip_address(nombre)
    except ValueError:
        return None
    return "La URL debe apuntar a una dirección pública." if _ip_privada(ip) else None


def destino_privado(url: str) -> bool:
    """True if the URL's host resolves to any non-public address (or does not resolve)."""
    partes = urlsplit(url)
    puerto = partes.port or (443 if partes.scheme == "https" else 80)
    try:
        direcciones = socket.getaddrinfo(partes.hostname, puerto, proto=socket.IPPROTO_TCP)
    except OSError:
        return False  # does not resolve: the attempt itself fails and says so
    return any(_ip_privada(ipaddress.ip_address(d[4][0].split("%")[0])) for d in direcciones)


def carga(evento: Evento, entidad: str, unidad: str | None, estado: str | None) -> dict[str, Any]:
    """What an entity receives: never the citizen's data nor the texts of the reclamo."""
    return {
        "id": evento.id,
        "tipo": evento.tipo,
        "ocurrido_en": evento.ocurrido_en.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "codigo": evento.codigo,
        "entidad": entidad,
        "unidad": unidad,
        "estado": estado,
    }


# --- in the event's transaction -----------------------------------------------------------------


def crear_entregas(
    db: Database, evento: Evento, datos: Datos, s: ClientSession, vigencia_s: float
) -> None:
    """One delivery per active subscription that wants this event (idempotent)."""
    if evento.tipo not in TIPOS or not evento.codigo:
        return
    copia = EnMano(db, "reclamos").leer(evento.codigo, s) or {}  # as the mail handler left it
    estado = _estado(db, evento, datos, copia, s)
    asignada = copia.get("unidad") or {}
    ahora = datetime.now(UTC)
    for entidad in destinatarios(evento, datos, copia.get("webhook") or {}):
        unidad = getattr(datos, "unidad_id", None) if datos.entidad_id == entidad else None
        if unidad is None and asignada.get("entidad_id") == entidad:
            unidad = asignada.get("id")
        destino = entidad if evento.tipo != "reclamo.trasladado" else datos.entidad_id
        cuerpo = json.dumps(
            carga(evento, destino, unidad, estado) | _extra(evento, datos),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        suscritos = [
            w
            for w in _suscripciones(db, s)
            if w["entidad"] == entidad and evento.tipo in w.get("eventos", ())
        ]
        for w in suscritos:
            if w.get("unidad") and w["unidad"] != unidad:
                continue  # a unit's subscription hears only of its unit's reclamos
            clave = id_de_entrega(w["_id"], evento.id)
            if db.webhook_entregas.find_one({"_id": clave}, {"_id": 1}, session=s):
                continue
            db.webhook_entregas.insert_one(
                {
                    "_id": clave,
                    "webhook_id": w["_id"],
                    "entidad": entidad,
                    "evento_id": evento.id,
                    "tipo": evento.tipo,
                    "codigo": evento.codigo,
                    "cuerpo": cuerpo,
                    "estado": "pendiente",
                    "intentos": [],
                    "creada_en": ahora,
                    "proximo_intento": ahora,
                    "vence_en": ahora + timedelta(seconds=vigencia_s),
                },
                session=s,
            )
            al_confirmar(s, hay_entregas.tocar)


def _suscripciones(db: Database, s: ClientSession) -> list[dict]:
    """Every active subscription (a few per entity at most), read once per transaction: a batch
    of events asks the store once instead of once per event and entity (issue 10)."""
    return leido_en_la_transaccion(
        s,
        "webhooks.activos",
        lambda: list(
            db.webhooks.find({"activo": True}, {"entidad": 1, "unidad": 1, "eventos": 1}, session=s)
        ),
    )


def _extra(evento: Evento, datos: Datos) -> dict[str, Any]:
    if evento.tipo == "reclamo.trasladado":
        return {"entidad_anterior": datos.entidad_anterior_id}
    if evento.tipo == "reclamo.adjuntado":
        # What the entity sees in its reclamo (to download and verify them), not the content.
        return {"adjuntos": [a.model_dump(mode="json") for a in datos.adjuntos]}
    return {}


def destinatarios(evento: Evento, datos: Datos, vista: dict) -> list[str]:
    """The entities that hear about an event: the one that has the reclamo; for a traslado,
    the one it leaves and the one it goes to. An event that names an entity the reclamo had
    already left when it happened (a deadline or desistimiento raised before its sender learnt
    of the traslado) goes to the entity that has it now (`vista`: what this copy knows)."""
    if evento.tipo == "reclamo.trasladado":
        return list(dict.fromkeys([datos.entidad_anterior_id, datos.entidad_id]))
    entidad = datos.entidad_id
    salida = (vista.get("salidas") or {}).get(entidad)
    actual = vista.get("entidad")
    if salida is not None and evento.ocurrido_en >= salida and actual and actual != entidad:
        return [actual]
    return [entidad]


def _estado(
    db: Database, evento: Evento, datos: Datos, copia: dict, s: ClientSession
) -> str | None:
    """The state after this event, and who has the reclamo, kept in the reclamo's copy by
    ocurrido_en (events arrive in any order: an older one does not overwrite newer news)."""
    vista = copia.get("webhook") or {}
    cambios: dict[str, Any] = {}
    nuevo = ESTADO_TRAS.get(evento.tipo)
    if nuevo is not None and (vista.get("en") is None or vista["en"] <= evento.ocurrido_en):
        cambios |= {"webhook.estado": nuevo, "webhook.en": evento.ocurrido_en}
    if evento.tipo in ("reclamo.registrado", "reclamo.derivado", "reclamo.trasladado") and (
        vista.get("entidad_en") is None or vista["entidad_en"] <= evento.ocurrido_en
    ):
        cambios |= {"webhook.entidad": datos.entidad_id, "webhook.entidad_en": evento.ocurrido_en}
    if evento.tipo == "reclamo.trasladado":
        cambios[f"webhook.salidas.{datos.entidad_anterior_id}"] = evento.ocurrido_en
    if cambios:
        EnMano(db, "reclamos").cambiar(evento.codigo, s, {"$set": cambios}, upsert=True)
    return nuevo if nuevo is not None else vista.get("estado")


# --- the sender ---------------------------------------------------------------------------------


class Mensajero(Repartidor):
    """POSTs pending webhook deliveries (own thread in the worker, like the Cartero)."""

    coleccion = "webhook_entregas"
    # Oldest first among those due at once: after an outage the oldest carries the back-off.
    orden = [("proximo_intento", 1), ("creada_en", 1)]  # noqa: RUF012 - read only
    despertador = hay_entregas
    canal = "webhook"

    def __init__(
        self,
        db: Database,
        espera_inicial_s: float,
        espera_max_s: float,
        timeout_s: float = 10.0,
        permitir_privadas: bool = False,
        pausa: float = 30.0,
    ) -> None:
        super().__init__(db, pausa)
        self.espera_inicial_s = espera_inicial_s
        self.espera_max_s = espera_max_s
        self.permitir_privadas = permitir_privadas
        # No redirects (a 3xx is a failed attempt) and no proxies from the environment.
        self.cliente = httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)

    def entregar(self, entrega: dict) -> None:
        w = self.db.webhooks.find_one({"_id": entrega["webhook_id"]})
        if w is None or not w.get("activo"):
            self.db.webhook_entregas.update_one(
                {"_id": entrega["_id"]},
                {
                    "$set": {"estado": "cancelada", "terminada_en": datetime.now(UTC)},
                    "$unset": {"proximo_intento": ""},
                },
            )
            return
        cuerpo = entrega["cuerpo"].encode()
        inicio, en = time.monotonic(), datetime.now(UTC)
        estado_http: int | None = None
        error: str | None = None
        if not self.permitir_privadas and destino_privado(w["url"]):
            error = "Destino no permitido: la dirección resuelve a una red privada."
        else:
            t = int(time.time())
            try:
                r = self.cliente.post(
                    w["url"],
                    content=cuerpo,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "PDR-Webhooks/1.0",
                        "X-PDR-Firma": firma(w["secreto"], t, cuerpo),
                        "X-PDR-Evento": entrega["tipo"],
                        "X-PDR-Entrega": entrega["_id"],
                    },
                )
                estado_http = r.status_code
                if not r.is_success:
                    error = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
        intento = {
            "en": en,
            "estado_http": estado_http,
            "error": error,
            "duracion_ms": int((time.monotonic() - inicio) * 1000),
        }
        cambios: dict[str, Any] = {"$push": {"intentos": intento}}
        ahora = datetime.now(UTC)
        if error is None:
            cambios["$set"] = {"estado": "entregada", "terminada_en": ahora}
            cambios["$unset"] = {"proximo_intento": ""}
        else:
            n = len(entrega.get("intentos", [])) + 1
            siguiente = ahora + espera(n, self.espera_inicial_s, self.espera_max_s)
            if siguiente > entrega["vence_en"]:
                cambios["$set"] = {"estado": "fallida", "terminada_en": ahora}
                cambios["$unset"] = {"proximo_intento": ""}
            else:
                cambios["$set"] = {"proximo_intento": siguiente}
            if "$unset" not in cambios and (estado_http is None or estado_http >= 500):
                # A receiver that is down gets one request per back-off, not one per delivery
                # waiting for it: the others wait for the same time (no attempt is recorded
                # for them; they are sent, oldest first, once it answers).
                self.db.webhook_entregas.update_many(
                    {
                        "webhook_id": entrega["webhook_id"],
                        "estado": "pendiente",
                        "_id": {"$ne": entrega["_id"]},
                        "proximo_intento": {"$lt": siguiente},
                    },
                    {"$set": {"proximo_intento": siguiente}},
                )
        self.db.webhook_entregas.update_one({"_id": entrega["_id"]}, cambios)
        if error is None:
            self.medidas.enviada()
        else:
            self.medidas.intento_fallido()
            if cambios["$set"].get("estado") == "fallida":
                self.medidas.fallida()
        log.info(
            "webhook %s",
            "entregado" if error is None else "fallido",
            extra={"entrega": entrega["_id"], "codigo": entrega["codigo"], "http": estado_http},
        )
