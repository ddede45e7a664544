"""A reclamo's clock as stored: the facts that determine it (inputs), what follows from them
(derived fields, rewritten by `sincronizar`), and the flags of what was already announced.

Every writer (handlers, the calendar sweep) records its fact and calls `sincronizar` in the same
transaction: the derived fields are recomputed from all the facts with the current calendar, so
the result does not depend on the order in which events arrive, and running it again changes and
emits nothing.

Derived fields the sweeper and the listings query through indexes (dependencias.preparar):
- `aviso_pendiente` / `vencer_pendiente` / `subsanacion_pendiente`: when plazo.por_vencer /
  plazo.vencido / plazo.subsanacion_vencida fall due; present only while still to be raised.
- `abierto_hasta`: the deadline's Lima day (ISO) of an open clock, "9999-12-31" while paused;
  absent once the clock ended. A declared or withdrawn day D touches the clocks with
  abierto_hasta >= D (and registered on or before D).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.en_mano import EnMano
from comun.eventos import (
    Datos,
    Evento,
    PlazoCalculado,
    PlazoDetenido,
    PlazoRecalculado,
    nuevo_evento,
)
from servicios.plazos import dependencias
from servicios.plazos.dominio import (
    Calendario,
    Expediente,
    Observacion,
    PoliticaPlazos,
    Situacion,
    Traslado,
    cerrar,
    dia_de_lima,
    inicio_del_dia,
    situacion,
)

SERVICIO = "plazos"
SIN_VENCIMIENTO = "9999-12-31"  # abierto_hasta of a paused clock: any later change may touch it
DERIVADOS = (
    "estado",
    "entidad_id",
    "fecha_recepcion",
    "registrado_dia",
    "vence_en",
    "abierto_hasta",
    "aviso_pendiente",
    "vencer_pendiente",
    "subsanacion_pendiente",
    "subsanacion_id",
    "subsanar_hasta",
    "reloj_pausado",
)


def expediente(doc: dict, politica: PoliticaPlazos) -> Expediente:
    terminado = doc.get("terminado") or {}
    return Expediente(
        registrado_en=doc.get("registrado_en"),
        dias_habiles=doc.get("dias_habiles", politica.dias_habiles),
        observaciones=tuple(
            Observacion(o["id"], o["en"], o["pausa"], o["subsanar_hasta"])
            for o in doc.get("observaciones", [])
        ),
        subsanaciones=tuple(s["en"] for s in doc.get("subsanaciones", [])),
        traslados=tuple(
            Traslado(t["en"], t["entidad_id"], t["reinicia"]) for t in doc.get("traslados", [])
        ),
        respondido_en=doc.get("respondido_en"),
        terminado_en=terminado.get("en"),
    )


def entidad_actual(doc: dict) -> str:
    """The entity that holds the reclamo now: the latest traslado's, else the registered one."""
    if doc.get("traslados"):
        return max(doc["traslados"], key=lambda t: t["en"])["entidad_id"]
    return doc.get("entidad_registro") or doc["entidad_id"]


def derivados(doc: dict, sit: Situacion) -> dict[str, Any]:
    """The derived fields for `sit` (a missing key means the field must be absent)."""
    campos: dict[str, Any] = {
        "estado": sit.estado,
        "entidad_id": entidad_actual(doc),
        "reloj_pausado": sit.reloj_pausado,
    }
    if doc.get("registrado_en") is not None:
        campos["registrado_dia"] = dia_de_lima(doc["registrado_en"]).isoformat()
    if sit.fecha_recepcion is not None:
        campos["fecha_recepcion"] = sit.fecha_recepcion.isoformat()
    if sit.vence_en is not None:
        campos["vence_en"] = sit.vence_en
    if sit.abierto:
        campos["abierto_hasta"] = sit.dia_vence.isoformat() if sit.dia_vence else SIN_VENCIMIENTO
        # Each warning once per reclamo: once raised (flag set) it is not scheduled again.
        if sit.fecha_aviso is not None and not doc.get("por_vencer_en"):
            campos["aviso_pendiente"] = inicio_del_dia(sit.fecha_aviso)
        if sit.vence_en is not None and not doc.get("vencido_en"):
            campos["vencer_pendiente"] = sit.vence_en
    if sit.subsanacion is not None:
        campos["subsanacion_id"] = sit.subsanacion.id
        campos["subsanar_hasta"] = sit.subsanacion.subsanar_hasta
        if sit.subsanacion.id not in doc.get("subsanaciones_vencidas", []):
            campos["subsanacion_pendiente"] = sit.subsanacion.subsanar_hasta
    return campos


# --- the clock in hand (issue 10) -------------------------------------------------------------
# In a transaction a reclamo's clock is read from the store once and written once
# (comun.en_mano): the handler records its fact and `sincronizar` the fields that follow, and
# both go in as one update when the transaction's work is done; every read in between (the
# figures' before and after, `con_cifras`) comes from hand. Outside a transaction reads and
# writes go to the store at once.


def _relojes(db: Database) -> EnMano:
    return EnMano(db, "plazos")


def leer(db: Database, codigo: str, s: ClientSession | None) -> dict | None:
    """The clock as this transaction left it (None if there is none yet)."""
    return _relojes(db).leer(codigo, s)


def escribir(
    db: Database,
    codigo: str,
    s: ClientSession | None,
    cambio: dict[str, Any],
    upsert: bool = False,
) -> None:
    """`cambio` to the clock: in hand, written with the transaction's other changes to it."""
    _relojes(db).cambiar(codigo, s, cambio, upsert=upsert)


def sincronizar(
    db: Database,
    codigo: str,
    s: ClientSession,
    politica: PoliticaPlazos,
    razon: str = "calendario",
    origen: Evento | None = None,
    calendario: Calendario | None = None,
    reanuda: bool = False,
) -> list[Evento]:
    """Recomputes the clock of `codigo` from its facts and writes what changed, in `s`. Returns
    the events that follow: plazo.calculado the first time a deadline is known,
    plazo.recalculado (`razon`) when it moves (or when `reanuda` and a paused clock runs again),
    plazo.detenido once when the answer and the registration are both in."""
    doc = leer(db, codigo, s)
    if doc is None:
        return []
    cal = calendario or dependencias.calendario(db, s)
    sit = situacion(expediente(doc, politica), cal, politica)
    nuevos = derivados(doc, sit)
    cambios: dict[str, Any] = {k: v for k, v in nuevos.items() if doc.get(k) != v}
    quitar = [k for k in DERIVADOS if k not in nuevos and k in doc]
    eventos: list[Evento] = []

    def evento(tipo: str, datos: Datos) -> Evento:
        if origen is not None:
            return origen.consecuencia(tipo, datos, SERVICIO)
        return nuevo_evento(tipo, datos, fuente=SERVICIO, codigo=codigo)

    entidad = nuevos["entidad_id"]
    # Clocks stored before `anunciado` existed had announced the vence_en they hold.
    anunciado = doc.get("anunciado", doc.get("vence_en"))
    if sit.vence_en is not None and sit.fecha_recepcion is not None:
        if anunciado is None:
            calculado = PlazoCalculado(
                entidad_id=entidad,
                fecha_recepcion=sit.fecha_recepcion,
                vence_en=sit.vence_en,
                dias_habiles=doc.get("dias_habiles", politica.dias_habiles),
            )
            eventos.append(evento("plazo.calculado", calculado))
            cambios["anunciado"] = sit.vence_en
        elif sit.abierto and (anunciado != sit.vence_en or (reanuda and doc.get("reloj_pausado"))):
            recalculado = PlazoRecalculado(
                entidad_id=entidad, vence_en=sit.vence_en, vence_antes=anunciado, razon=razon
            )
            eventos.append(evento("plazo.recalculado", recalculado))
            cambios["anunciado"] = sit.vence_en
    if sit.estado == "detenido" and sit.fecha_recepcion and "dentro_del_plazo" not in doc:
        cierre = cerrar(sit.fecha_recepcion, sit.vence_en, doc["respondido_en"], cal, sit.pausas)
        cambios["dias_habiles_usados"] = cierre.dias_habiles_usados
        cambios["dentro_del_plazo"] = cierre.dentro_del_plazo
        detenido = PlazoDetenido(
            entidad_id=entidad,
            detenido_en=doc["respondido_en"],
            dias_habiles_usados=cierre.dias_habiles_usados,
            dentro_del_plazo=cierre.dentro_del_plazo,
        )
        eventos.append(evento("plazo.detenido", detenido))
    if cambios or quitar:
        actualizacion: dict[str, Any] = {}
        if cambios:
            actualizacion["$set"] = cambios
        if quitar:
            actualizacion["$unset"] = dict.fromkeys(quitar, "")
        escribir(db, codigo, s, actualizacion)
    return eventos


def vencido(doc: dict, ahora: datetime) -> bool:
    """Past its deadline: still open now, or when it was answered or ended."""
    vence_en = doc.get("vence_en")
    if vence_en is None:
        return False
    final = doc.get("respondido_en") or (doc.get("terminado") or {}).get("en") or ahora
    return final > vence_en
