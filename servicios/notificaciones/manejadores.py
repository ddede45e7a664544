"""notificaciones' integration-event handlers: each event someone must hear about becomes a
delivery (entrega); the cartero sends it. Handlers never talk SMTP themselves, so a slow or
down mail server never blocks the queue and every message is retried and proven."""

from __future__ import annotations

from datetime import date

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    EncuestaCreada,
    EntidadActualizada,
    Evento,
    PlazoCalculado,
    ReclamoDerivado,
    ReclamoRegistrado,
    ReclamoRespondido,
)
from servicios.notificaciones import plantillas
from servicios.notificaciones.dependencias import encolar_entrega

SERVICIO = "notificaciones"


class FaltaContexto(LookupError):
    """An event arrived before what it needs (retried; parked if it never comes)."""


def manejadores(db: Database, url_portal: str) -> dict[str, Manejador]:
    def entidad(evento: Evento, datos: EntidadActualizada, s: ClientSession) -> None:
        actual = db.entidades.find_one({"_id": datos.entidad.id}, {"actualizado_en": 1}, session=s)
        if actual is not None and actual["actualizado_en"] > evento.ocurrido_en:
            return  # an older version arriving late
        e = datos.entidad
        db.entidades.replace_one(
            {"_id": e.id},
            {
                "nombre": e.nombre,
                "unidades": {u.id: u.responsable.model_dump() for u in e.unidades},
                "actualizado_en": evento.ocurrido_en,
            },
            upsert=True,
            session=s,
        )

    def registrado(evento: Evento, datos: ReclamoRegistrado, s: ClientSession) -> None:
        contacto = {"nombres": datos.contacto.nombres, "email": datos.contacto.email}
        _guardar(evento.codigo, s, entidad_id=datos.entidad_id, contacto=contacto)
        _acuse_si_listo(evento.codigo, s)

    def plazo(evento: Evento, datos: PlazoCalculado, s: ClientSession) -> None:
        _guardar(
            evento.codigo,
            s,
            vence_en=datos.vence_en,
            dias_habiles=datos.dias_habiles,
            fecha_recepcion=datos.fecha_recepcion.isoformat(),
        )
        _acuse_si_listo(evento.codigo, s)

    def derivado(evento: Evento, datos: ReclamoDerivado, s: ClientSession) -> None:
        ent = _entidad(datos.entidad_id, s)
        responsable = ent["unidades"].get(datos.unidad_id)
        if responsable is None:
            raise FaltaContexto(f"unidad {datos.unidad_id} desconocida")
        reclamo = db.reclamos.find_one({"_id": evento.codigo}, {"motivo": 1}, session=s) or {}
        mensaje = plantillas.derivado_a_responsable(
            evento.codigo,
            ent["nombre"],
            datos.unidad_nombre,
            responsable["nombre"],
            reclamo.get("motivo", "—"),
        )
        encolar_entrega(
            db,
            s,
            f"{evento.id}:responsable",
            evento.codigo,
            "derivado",
            "responsable",
            responsable["email"],
            mensaje,
        )

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
            encolar_entrega(
                db,
                s,
                f"{evento.codigo}:respuesta",
                evento.codigo,
                "respuesta",
                "ciudadano",
                email,
                mensaje,
            )

    def encuesta(evento: Evento, datos: EncuestaCreada, s: ClientSession) -> None:
        reclamo, ent = _reclamo(evento.codigo, s), _entidad(datos.entidad_id, s)
        if email := reclamo["contacto"]["email"]:
            enlace = f"{url_portal.rstrip('/')}/api/v1/encuestas/{datos.token}"
            mensaje = plantillas.encuesta(
                evento.codigo, ent["nombre"], reclamo["contacto"]["nombres"], enlace
            )
            encolar_entrega(
                db,
                s,
                f"{evento.codigo}:encuesta",
                evento.codigo,
                "encuesta",
                "ciudadano",
                email,
                mensaje,
            )

    def _guardar(codigo: str, s: ClientSession, **campos) -> None:
        db.reclamos.update_one({"_id": codigo}, {"$set": campos}, upsert=True, session=s)

    def _acuse_si_listo(codigo: str, s: ClientSession) -> None:
        """The acknowledgement needs the contact (registro) and the deadline (plazos), which
        arrive in either order; whichever comes second sends it."""
        r = db.reclamos.find_one({"_id": codigo}, session=s)
        if not r or "contacto" not in r or "vence_en" not in r or not r["contacto"]["email"]:
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
        encolar_entrega(
            db, s, f"{codigo}:acuse", codigo, "acuse", "ciudadano", r["contacto"]["email"], mensaje
        )

    def _reclamo(codigo: str, s: ClientSession) -> dict:
        r = db.reclamos.find_one({"_id": codigo}, session=s)
        if r is None or "contacto" not in r:
            raise FaltaContexto(f"reclamo {codigo} aún no registrado aquí")
        return r

    def _entidad(entidad_id: str, s: ClientSession) -> dict:
        e = db.entidades.find_one({"_id": entidad_id}, session=s)
        if e is None:
            raise FaltaContexto(f"entidad {entidad_id} aún no copiada")
        return e

    return {
        "catalogo.entidad_actualizada": entidad,
        "reclamo.registrado": registrado,
        "plazo.calculado": plazo,
        "reclamo.derivado": derivado,
        "reclamo.respondido": respondido,
        "encuesta.creada": encuesta,
    }
