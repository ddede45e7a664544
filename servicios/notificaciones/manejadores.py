"""notificaciones' integration-event handlers: each event someone must hear about becomes a
delivery (entrega); the cartero sends it. Handlers never talk SMTP themselves, so a slow or
down mail server never blocks the queue and every message is retried and proven.

Every reclamo event of an entity also becomes a delivery to each of its webhooks (webhooks.py),
in the same transaction as the event.

Local copies, fed by events (DESIGN.md §3):
- `entidades`: name, level, default unit and, per unit, its name and responsables (titular and
  alterno) from catalogo.entidad_actualizada.
- `reclamos`: the citizen's contact, the motivo, the deadline, the current unit (the latest
  reclamo.derivado / reclamo.reasignado by ocurrido_en), the entities it has been at, and the
  observaciones waiting for their other half.

A responsable's mail is one delivery per address, keyed by the event and a hash of the address:
titular and alterno each get theirs, a redelivered event mails nobody twice, and no address
travels in a key (keys are logged).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.almacen import leido_en_la_transaccion, olvidar_lo_leido
from comun.consumo import Manejador
from comun.en_mano import EnMano
from comun.eventos import (
    EncuestaCreada,
    EntidadActualizada,
    Evento,
    Intervencion,
    PlazoAviso,
    PlazoCalculado,
    PlazoRecalculado,
    ReclamoArchivado,
    ReclamoDerivado,
    ReclamoDesistido,
    ReclamoObservado,
    ReclamoReasignado,
    ReclamoRegistrado,
    ReclamoRespondido,
    ReclamoTrasladado,
    SubsanacionAbierta,
)
from servicios.notificaciones import plantillas, webhooks
from servicios.notificaciones.dependencias import encolar_entrega

SERVICIO = "notificaciones"
log = logging.getLogger(__name__)


class FaltaContexto(LookupError):
    """An event arrived before what it needs (retried; parked if it never comes)."""


def huella(email: str) -> str:
    """Stands for an address in a delivery's key: one delivery per address, none in the logs."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def manejadores(
    db: Database, url_portal: str, vigencia_webhooks_s: float = 24 * 3600.0
) -> dict[str, Manejador]:
    """Mail handlers, each followed (same transaction) by the entity's webhook deliveries."""
    propios = _manejadores_correo(db, url_portal)

    def con_webhooks(tipo: str) -> Manejador:
        correo = propios.get(tipo)

        def manejar(evento: Evento, datos, s: ClientSession) -> None:
            if correo is not None:
                correo(evento, datos, s)
            webhooks.crear_entregas(db, evento, datos, s, vigencia_webhooks_s)

        return manejar

    return propios | {tipo: con_webhooks(tipo) for tipo in webhooks.TIPOS}


def _manejadores_correo(db: Database, url_portal: str) -> dict[str, Manejador]:
    # The reclamo's copy is read once per transaction and written once, however many steps
    # (and the webhooks' view) change it (issue 10).
    copias = EnMano(db, "reclamos")

    # --- copies -----------------------------------------------------------------------------

    def entidad(evento: Evento, datos: EntidadActualizada, s: ClientSession) -> None:
        actual = db.entidades.find_one({"_id": datos.entidad.id}, {"actualizado_en": 1}, session=s)
        if actual is not None and actual["actualizado_en"] > evento.ocurrido_en:
            return  # an older version arriving late
        e = datos.entidad
        olvidar_lo_leido(s, _leida(e.id))  # the events after it in the batch see this version
        db.entidades.replace_one(
            {"_id": e.id},
            {
                "nombre": e.nombre,
                "nivel": e.nivel,
                "unidad_por_defecto": e.unidad_por_defecto,
                "unidades": {
                    u.id: {
                        "nombre": u.nombre,
                        "responsables": [r.model_dump() for r in u.responsables()],
                    }
                    for u in e.unidades
                },
                "actualizado_en": evento.ocurrido_en,
            },
            upsert=True,
            session=s,
        )

    def registrado(evento: Evento, datos: ReclamoRegistrado, s: ClientSession) -> None:
        contacto = {"nombres": datos.contacto.nombres, "email": datos.contacto.email}
        copias.cambiar(
            evento.codigo,
            s,
            {
                "$set": {
                    "entidad_id": datos.entidad_id,
                    "motivo": datos.motivo,
                    "contacto": contacto,
                },
                "$addToSet": {"entidades": datos.entidad_id},
            },
            upsert=True,
        )
        r = _copia(evento.codigo, s)  # the acuse writes a delivery, not the copy
        _acuse_si_listo(evento.codigo, s, r)
        # Observaciones that arrived before the contact were waiting for it.
        for observacion_id in r.get("observaciones", {}):
            _observacion_si_lista(evento.codigo, observacion_id, s)

    def plazo(evento: Evento, datos: PlazoCalculado, s: ClientSession) -> None:
        # One read and one write; the acuse is built from the copy as just written.
        r = _copia(evento.codigo, s)
        campos = {
            "dias_habiles": datos.dias_habiles,
            "fecha_recepcion": datos.fecha_recepcion.isoformat(),
        }
        if _es_el_ultimo_plazo(r, evento):
            campos |= {"vence_en": datos.vence_en, "plazo_en": evento.ocurrido_en}
        _guardar(evento.codigo, s, **campos)
        _acuse_si_listo(evento.codigo, s, r | campos)

    # --- to the unit's responsables ---------------------------------------------------------

    def derivado(evento: Evento, datos: ReclamoDerivado, s: ClientSession) -> None:
        copia = _copia(evento.codigo, s)  # _asignar changes only the unit and entities
        if not _asignar(evento, datos.entidad_id, datos.unidad_id, datos.unidad_nombre, s, copia):
            return  # reassigned since: this unit no longer has it
        motivo = datos.motivo or copia.get("motivo")
        if motivo is None:
            if "contacto" not in copia:
                raise FaltaContexto(f"reclamo {evento.codigo}: motivo aún desconocido")
            motivo = "no indicado"  # registered before this copy kept the motivo: never comes
        ent, unidad = _unidad(datos.entidad_id, datos.unidad_id, evento.ocurrido_en, s)
        for r in _personas(unidad):
            mensaje = plantillas.derivado_a_responsable(
                evento.codigo, ent["nombre"], datos.unidad_nombre, r["nombre"], motivo
            )
            _a_responsable(evento, "derivado", r["email"], mensaje, s)

    def reasignado(evento: Evento, datos: ReclamoReasignado, s: ClientSession) -> None:
        copia = _copia(evento.codigo, s)
        if not _asignar(evento, datos.entidad_id, datos.unidad_id, datos.unidad_nombre, s, copia):
            return
        ent, unidad = _unidad(datos.entidad_id, datos.unidad_id, evento.ocurrido_en, s)
        anterior = ent["unidades"].get(datos.unidad_anterior_id, {})
        for r in _personas(unidad):
            mensaje = plantillas.reasignado_a_responsable(
                evento.codigo,
                ent["nombre"],
                datos.unidad_nombre,
                r["nombre"],
                datos.razon,
                anterior.get("nombre") if "responsables" in anterior else None,
            )
            _a_responsable(evento, "reasignado", r["email"], mensaje, s)

    def desistido(evento: Evento, datos: ReclamoDesistido, s: ClientSession) -> None:
        ent, nombre, unidad = _unidad_actual(evento.codigo, datos.entidad_id, s)
        for r in _personas(unidad):
            mensaje = plantillas.desistido_a_responsable(
                evento.codigo, ent["nombre"], nombre, r["nombre"], datos.razon
            )
            _a_responsable(evento, "desistido", r["email"], mensaje, s)

    def por_vencer(evento: Evento, datos: PlazoAviso, s: ClientSession) -> None:
        ent, nombre, unidad = _unidad_actual(evento.codigo, datos.entidad_id, s)
        for r in _personas(unidad):
            mensaje = plantillas.por_vencer_a_responsable(
                evento.codigo,
                ent["nombre"],
                nombre,
                r["nombre"],
                datos.vence_en,
                datos.dias_habiles_restantes,
            )
            _a_responsable(evento, "por_vencer", r["email"], mensaje, s)

    def vencido(evento: Evento, datos: PlazoAviso, s: ClientSession) -> None:
        ent, nombre, unidad = _unidad_actual(evento.codigo, datos.entidad_id, s)
        for r in _personas(unidad):
            mensaje = plantillas.vencido_a_responsable(
                evento.codigo, ent["nombre"], nombre, r["nombre"], datos.vence_en
            )
            _a_responsable(evento, "vencido", r["email"], mensaje, s)

    def intervencion(evento: Evento, datos: Intervencion, s: ClientSession) -> None:
        ent, nombre, unidad = _unidad_actual(evento.codigo, datos.entidad_id, s)
        for r in _personas(unidad):
            mensaje = plantillas.intervencion_a_responsable(
                evento.codigo, ent["nombre"], nombre, r["nombre"], datos.nota
            )
            _a_responsable(evento, "intervencion", r["email"], mensaje, s)

    # --- to the citizen (only if they gave an email) ----------------------------------------

    def respondido(evento: Evento, datos: ReclamoRespondido, s: ClientSession) -> None:
        reclamo, ent = _reclamo(evento.codigo, s), _entidad(datos.entidad_id, s)
        if email := reclamo["contacto"]["email"]:
            mensaje = plantillas.respuesta(
                evento.codigo,
                ent["nombre"],
                reclamo["contacto"]["nombres"],
                datos.respuesta,
                datos.respondido_en,
            )
            _al_ciudadano(
                evento.codigo, f"{evento.codigo}:respuesta", "respuesta", email, mensaje, s
            )

    def encuesta(evento: Evento, datos: EncuestaCreada, s: ClientSession) -> None:
        reclamo, ent = _reclamo(evento.codigo, s), _entidad(datos.entidad_id, s)
        if email := reclamo["contacto"]["email"]:
            # The citizen's survey page (gateway/portal/ciudadano.py), not the API: a person
            # opens it in a browser.
            enlace = f"{url_portal.rstrip('/')}/encuestas/{datos.token}"
            mensaje = plantillas.encuesta(
                evento.codigo, ent["nombre"], reclamo["contacto"]["nombres"], enlace
            )
            _al_ciudadano(evento.codigo, f"{evento.codigo}:encuesta", "encuesta", email, mensaje, s)

    def observado(evento: Evento, datos: ReclamoObservado, s: ClientSession) -> None:
        # Half of the mail: the other half (the deadline) comes in plazo.subsanacion_abierta.
        campo = f"observaciones.{evento.id}"
        _guardar(
            evento.codigo,
            s,
            **{f"{campo}.texto": datos.observacion, f"{campo}.entidad_id": datos.entidad_id},
        )
        _observacion_si_lista(evento.codigo, evento.id, s)

    def subsanacion_abierta(evento: Evento, datos: SubsanacionAbierta, s: ClientSession) -> None:
        campo = f"observaciones.{datos.observacion_id}"
        _guardar(
            evento.codigo,
            s,
            **{
                f"{campo}.subsanar_hasta": datos.subsanar_hasta,
                f"{campo}.reloj_pausado": datos.reloj_pausado,
            },
        )
        _observacion_si_lista(evento.codigo, datos.observacion_id, s)

    def archivado(evento: Evento, datos: ReclamoArchivado, s: ClientSession) -> None:
        reclamo = _reclamo(evento.codigo, s)
        if email := reclamo["contacto"]["email"]:
            mensaje = plantillas.archivado(
                evento.codigo,
                _entidad(datos.entidad_id, s)["nombre"],
                reclamo["contacto"]["nombres"],
                datos.razon,
            )
            _al_ciudadano(
                evento.codigo, f"{evento.codigo}:archivado", "archivado", email, mensaje, s
            )

    def trasladado(evento: Evento, datos: ReclamoTrasladado, s: ClientSession) -> None:
        # The new entity is not added to `entidades` here: its reclamo.derivado (which follows
        # every traslado) does that, with the unit.
        copias.cambiar(
            evento.codigo, s, {"$addToSet": {"entidades": datos.entidad_anterior_id}}, upsert=True
        )
        reclamo = _reclamo(evento.codigo, s)
        if email := reclamo["contacto"]["email"]:
            anterior = _copia_de_entidad(datos.entidad_anterior_id, s)
            mensaje = plantillas.trasladado(
                evento.codigo,
                anterior["nombre"] if anterior else None,
                datos.entidad_nombre,
                reclamo["contacto"]["nombres"],
                datos.razon,
            )
            _al_ciudadano(evento.codigo, f"{evento.id}:trasladado", "trasladado", email, mensaje, s)

    def recalculado(evento: Evento, datos: PlazoRecalculado, s: ClientSession) -> None:
        reclamo = _reclamo(evento.codigo, s)
        if not _plazo_vigente(evento, datos.vence_en, reclamo, s):
            return  # a newer deadline is known: this date is no longer true
        if email := reclamo["contacto"]["email"]:
            mensaje = plantillas.nuevo_plazo(
                evento.codigo,
                _entidad(datos.entidad_id, s)["nombre"],
                reclamo["contacto"]["nombres"],
                datos.vence_en,
                datos.razon,
                datos.vence_antes,
            )
            _al_ciudadano(
                evento.codigo, f"{evento.id}:nuevo_plazo", "nuevo_plazo", email, mensaje, s
            )

    # --- helpers ----------------------------------------------------------------------------

    def _guardar(codigo: str, s: ClientSession, **campos) -> None:
        copias.cambiar(codigo, s, {"$set": campos}, upsert=True)

    def _copia(codigo: str, s: ClientSession) -> dict:
        return copias.leer(codigo, s) or {}

    def _plazo_vigente(evento: Evento, vence_en: datetime, copia: dict, s: ClientSession) -> bool:
        """Keeps the latest deadline by ocurrido_en; False if this one is older than it."""
        if not _es_el_ultimo_plazo(copia, evento):
            return False
        _guardar(evento.codigo, s, vence_en=vence_en, plazo_en=evento.ocurrido_en)
        return True

    def _asignar(
        evento: Evento,
        entidad_id: str,
        unidad_id: str,
        nombre: str,
        s: ClientSession,
        copia: dict,
    ) -> bool:
        """Records the unit the reclamo is at, unless a later assignment is known (events come
        in any order). True if this event is now the current assignment. `copia`: the copy as
        read in this transaction."""
        actual = copia.get("unidad")
        vigente = actual is None or actual["en"] <= evento.ocurrido_en
        cambios: dict = {"$addToSet": {"entidades": entidad_id}}
        if vigente:
            cambios["$set"] = {
                "unidad": {
                    "entidad_id": entidad_id,
                    "id": unidad_id,
                    "nombre": nombre,
                    "en": evento.ocurrido_en,
                }
            }
        copias.cambiar(evento.codigo, s, cambios, upsert=True)
        return vigente

    def _unidad_actual(codigo: str, entidad_id: str, s: ClientSession) -> tuple[dict, str, dict]:
        """The entity, the unit's name and its copy for the unit the reclamo is at now.

        An event naming an entity the reclamo has been at before (a plazo or desistimiento
        raised before a traslado reached its sender) goes to whoever has the reclamo now; one
        naming an entity it has never been at waits for the reclamo.derivado that a traslado
        always brings."""
        r = _copia(codigo, s)
        actual = r.get("unidad")
        if actual is None:
            raise FaltaContexto(f"reclamo {codigo}: unidad aún desconocida")
        if actual["entidad_id"] != entidad_id and entidad_id not in r.get("entidades", []):
            raise FaltaContexto(f"reclamo {codigo}: aún no derivado en {entidad_id}")
        ent, unidad = _unidad(actual["entidad_id"], actual["id"], actual["en"], s)
        return ent, actual["nombre"], unidad

    def _unidad(
        entidad_id: str, unidad_id: str, desde: datetime, s: ClientSession
    ) -> tuple[dict, dict]:
        """The entity's copy and the unit's. A unit missing from a copy older than `desde` (when
        the reclamo got there) is a copy not yet updated: wait. Missing from a newer copy, the
        unit was removed from the catalogue: its reclamos fall to the entity's default unit."""
        ent = _entidad(entidad_id, s)
        unidad = ent["unidades"].get(unidad_id)
        if unidad is not None:
            return ent, unidad
        if ent["actualizado_en"] < desde:
            raise FaltaContexto(f"unidad {unidad_id} de {entidad_id} aún no copiada")
        log.warning(
            "unidad retirada del catálogo: se avisa a la unidad por defecto",
            extra={"entidad": entidad_id, "unidad": unidad_id},
        )
        return ent, ent["unidades"].get(ent.get("unidad_por_defecto"), {})

    def _a_responsable(
        evento: Evento, plantilla: str, email: str, mensaje: tuple[str, str], s: ClientSession
    ) -> None:
        encolar_entrega(
            db,
            s,
            f"{evento.id}:responsable:{huella(email)}",
            evento.codigo,
            plantilla,
            "responsable",
            email,
            mensaje,
        )

    def _al_ciudadano(
        codigo: str, clave: str, plantilla: str, email: str, mensaje: tuple[str, str], s
    ) -> None:
        encolar_entrega(db, s, clave, codigo, plantilla, "ciudadano", email, mensaje)

    def _acuse_si_listo(codigo: str, s: ClientSession, r: dict) -> None:
        """The acknowledgement needs the contact (registro) and the deadline (plazos), which
        arrive in either order; whichever comes second sends it. `r`: the copy as it is now."""
        if "contacto" not in r or "fecha_recepcion" not in r or not r["contacto"]["email"]:
            return
        ent = _entidad(r["entidad_id"], s)
        mensaje = plantillas.acuse(
            codigo,
            ent["nombre"],
            r["contacto"]["nombres"],
            date.fromisoformat(r["fecha_recepcion"]).strftime("%d/%m/%Y"),
            r["vence_en"],
            r["dias_habiles"],
        )
        _al_ciudadano(codigo, f"{codigo}:acuse", "acuse", r["contacto"]["email"], mensaje, s)

    def _observacion_si_lista(codigo: str, observacion_id: str, s: ClientSession) -> None:
        """The observación's mail needs what is missing (reclamo.observado), the deadline
        (plazo.subsanacion_abierta) and the contact (reclamo.registrado), in any order; the last
        to arrive sends it. Then the entry goes: the entity's words are not kept here."""
        r = _copia(codigo, s)
        o = r.get("observaciones", {}).get(observacion_id, {})
        if "texto" not in o or "subsanar_hasta" not in o or "contacto" not in r:
            return
        if email := r["contacto"]["email"]:
            mensaje = plantillas.observacion(
                codigo,
                _entidad(o["entidad_id"], s)["nombre"],
                r["contacto"]["nombres"],
                o["texto"],
                o["subsanar_hasta"],
                o["reloj_pausado"],
            )
            _al_ciudadano(
                codigo, f"{codigo}:observacion:{observacion_id}", "observacion", email, mensaje, s
            )
        copias.cambiar(codigo, s, {"$unset": {f"observaciones.{observacion_id}": ""}})

    def _reclamo(codigo: str, s: ClientSession) -> dict:
        r = copias.leer(codigo, s)
        if r is None or "contacto" not in r:
            raise FaltaContexto(f"reclamo {codigo} aún no registrado aquí")
        return r

    def _copia_de_entidad(entidad_id: str, s: ClientSession) -> dict | None:
        # Once per transaction: a batch's acuses and responsables' mails of one entity (a
        # reclamo's acuse and derivado often come in one batch) read it once (issue 10).
        return leido_en_la_transaccion(
            s, _leida(entidad_id), lambda: db.entidades.find_one({"_id": entidad_id}, session=s)
        )

    def _entidad(entidad_id: str, s: ClientSession) -> dict:
        e = _copia_de_entidad(entidad_id, s)
        if e is None:
            raise FaltaContexto(f"entidad {entidad_id} aún no copiada")
        return e

    return {
        "catalogo.entidad_actualizada": entidad,
        "reclamo.registrado": registrado,
        "plazo.calculado": plazo,
        "reclamo.derivado": derivado,
        "reclamo.reasignado": reasignado,
        "reclamo.desistido": desistido,
        "plazo.por_vencer": por_vencer,
        "plazo.vencido": vencido,
        "supervision.intervencion": intervencion,
        "reclamo.respondido": respondido,
        "encuesta.creada": encuesta,
        "reclamo.observado": observado,
        "plazo.subsanacion_abierta": subsanacion_abierta,
        "reclamo.archivado": archivado,
        "reclamo.trasladado": trasladado,
        "plazo.recalculado": recalculado,
    }


def _leida(entidad_id: str) -> str:
    """The key of an entity's copy read in a transaction (comun.almacen.leido_en_la_transaccion)."""
    return f"notificaciones.entidad.{entidad_id}"


def _es_el_ultimo_plazo(copia: dict, evento: Evento) -> bool:
    """A deadline is kept unless the copy holds one from a later event (any order of arrival)."""
    return copia.get("plazo_en") is None or copia["plazo_en"] <= evento.ocurrido_en


def _personas(unidad: dict) -> list[dict]:
    """The unit's responsables, titular first. A copy written before units kept two holds the
    one responsable itself."""
    if "responsables" in unidad:
        return unidad["responsables"]
    return [unidad] if "email" in unidad else []
