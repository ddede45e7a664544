"""registro's integration-event handlers: everything that changes what the citizen sees becomes a
timeline entry; the entity catalogue is copied locally to validate new reclamos."""

from __future__ import annotations

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    EntidadActualizada,
    Evento,
    NotificacionEntregada,
    PlazoCalculado,
    PlazoDetenido,
    ReclamoCerrado,
    ReclamoDerivado,
    ReclamoEnAtencion,
    ReclamoRespondido,
)
from comun.tiempo import dia_en_lima
from servicios.registro.dependencias import anotar

SERVICIO = "registro"
AVISOS = {
    "acuse": "la constancia de registro",
    "respuesta": "la respuesta de la entidad",
    "encuesta": "la encuesta de satisfacción",
}


def manejadores(db: Database) -> dict[str, Manejador]:
    def entidad(evento: Evento, datos: EntidadActualizada, s: ClientSession) -> None:
        actual = db.entidades.find_one({"_id": datos.entidad.id}, session=s)
        if actual is not None and actual["actualizado_en"] > evento.ocurrido_en:
            return  # an older version arriving late
        db.entidades.replace_one(
            {"_id": datos.entidad.id},
            {"nombre": datos.entidad.nombre, "actualizado_en": evento.ocurrido_en},
            upsert=True,
            session=s,
        )

    def derivado(evento: Evento, datos: ReclamoDerivado, s: ClientSession) -> None:
        texto = f"Su reclamo fue derivado a: {datos.unidad_nombre}."
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto, "derivado")

    def en_atencion(evento: Evento, datos: ReclamoEnAtencion, s: ClientSession) -> None:
        texto = "La entidad está atendiendo su reclamo."
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto, "en_atencion")

    def respondido(evento: Evento, datos: ReclamoRespondido, s: ClientSession) -> None:
        texto = "La entidad respondió su reclamo; la respuesta se le envió por el medio elegido."
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto, "respondido")

    def cerrado(evento: Evento, datos: ReclamoCerrado, s: ClientSession) -> None:
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, "Reclamo cerrado.", "cerrado")

    def plazo_calculado(evento: Evento, datos: PlazoCalculado, s: ClientSession) -> None:
        db.reclamos.update_one(
            {"_id": evento.codigo},
            {
                "$set": {
                    "vence_en": datos.vence_en,
                    "fecha_recepcion": datos.fecha_recepcion.isoformat(),
                }
            },
            session=s,
        )
        vence = dia_en_lima(datos.vence_en)
        texto = (
            f"Plazo de atención: {datos.dias_habiles} días hábiles, hasta el {vence} "
            f"(recibido el {datos.fecha_recepcion.strftime('%d/%m/%Y')})."
        )
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto)

    def plazo_detenido(evento: Evento, datos: PlazoDetenido, s: ClientSession) -> None:
        db.reclamos.update_one(
            {"_id": evento.codigo},
            {
                "$set": {
                    "dias_habiles_usados": datos.dias_habiles_usados,
                    "dentro_del_plazo": datos.dentro_del_plazo,
                }
            },
            session=s,
        )
        cumplio = "dentro del plazo" if datos.dentro_del_plazo else "fuera del plazo"
        texto = f"Respondido en {datos.dias_habiles_usados} días hábiles, {cumplio}."
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto)

    def notificado(evento: Evento, datos: NotificacionEntregada, s: ClientSession) -> None:
        if datos.destinatario != "ciudadano":
            return
        que = AVISOS.get(datos.plantilla, "un aviso")
        if evento.tipo == "notificacion.enviada":
            texto = f"Le enviamos {que} por correo electrónico."
        else:
            texto = f"No pudimos entregarle {que} por correo electrónico."
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto)

    return {
        "catalogo.entidad_actualizada": entidad,
        "notificacion.enviada": notificado,
        "notificacion.fallida": notificado,
        "reclamo.derivado": derivado,
        "reclamo.en_atencion": en_atencion,
        "reclamo.respondido": respondido,
        "reclamo.cerrado": cerrado,
        "plazo.calculado": plazo_calculado,
        "plazo.detenido": plazo_detenido,
    }
