"""registro's integration-event handlers: everything that changes what the citizen sees becomes a
timeline entry; the entity catalogue is copied locally to validate new reclamos.

Events may arrive late, twice or out of order: the timeline is keyed by event id (one entry per
event), the state and the deadline are applied by `ocurrido_en`, never by arrival."""

from __future__ import annotations

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    EncuestaCreada,
    EntidadActualizada,
    Evento,
    Intervencion,
    NotificacionEntregada,
    PlazoAviso,
    PlazoCalculado,
    PlazoDetenido,
    PlazoRecalculado,
    ReclamoArchivado,
    ReclamoCerrado,
    ReclamoDerivado,
    ReclamoEnAtencion,
    ReclamoObservado,
    ReclamoReasignado,
    ReclamoRespondido,
    ReclamoTrasladado,
    SubsanacionAbierta,
)
from comun.tiempo import dia_en_lima
from servicios.registro.dependencias import (
    anotar,
    entrada,
    proyectar_y_fijar,
    si_es_mas_reciente,
)

SERVICIO = "registro"
AVISOS = {
    "acuse": "la constancia de registro",
    "respuesta": "la respuesta de la entidad",
    "encuesta": "la encuesta de satisfacción",
    "observacion": "el pedido de información de la entidad",
    "archivado": "el aviso de archivo de su reclamo",
    "trasladado": "el aviso de traslado de su reclamo",
    "nuevo_plazo": "el aviso de su nuevo plazo de respuesta",
}
RAZONES_NUEVO_PLAZO = {
    "calendario": "se declaró o se retiró un día no laborable",
    "subsanacion": "el plazo se reanudó al recibirse su subsanación",
    "traslado": "el plazo se reinició con el traslado a la entidad competente",
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

    def nota(evento: Evento, s: ClientSession, texto: str, estado: str | None = None, **kw):
        anotar(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto, estado, **kw)

    def acceso(evento: Evento, s: ClientSession, entidad_id: str, unidad_id: str | None) -> None:
        # Who may download the reclamo's files: the entity (and unit) that has it now.
        nuevo = {"acceso": {"entidad_id": entidad_id, "unidad_id": unidad_id}}
        si_es_mas_reciente(db, s, evento.codigo, "acceso_en", evento.ocurrido_en, nuevo)

    def a_la_unidad(evento: Evento, s: ClientSession, texto: str, entidad_id: str, unidad_id: str):
        # The unit that has it now may download its files, and the citizen sees it derivado.
        entrada(db, s, evento.id, evento.codigo, evento.ocurrido_en, texto, "derivado")
        nuevo = {"acceso": {"entidad_id": entidad_id, "unidad_id": unidad_id}}
        proyectar_y_fijar(db, s, evento.codigo, evento.ocurrido_en, "derivado", "acceso_en", nuevo)

    def derivado(evento: Evento, datos: ReclamoDerivado, s: ClientSession) -> None:
        texto = f"Su reclamo fue derivado a: {datos.unidad_nombre}."
        a_la_unidad(evento, s, texto, datos.entidad_id, datos.unidad_id)

    def reasignado(evento: Evento, datos: ReclamoReasignado, s: ClientSession) -> None:
        # The reason is the entity's internal matter; the citizen learns who attends it now.
        texto = f"Su reclamo fue reasignado a: {datos.unidad_nombre}."
        a_la_unidad(evento, s, texto, datos.entidad_id, datos.unidad_id)

    def trasladado(evento: Evento, datos: ReclamoTrasladado, s: ClientSession) -> None:
        # Tracking shows the entity that has it now; a later traslado may arrive first.
        nueva = {"entidad_id": datos.entidad_id, "entidad_nombre": datos.entidad_nombre}
        si_es_mas_reciente(db, s, evento.codigo, "entidad_en", evento.ocurrido_en, nueva)
        # Until the new entity routes it (its reclamo.derivado), its entity-wide keys only.
        acceso(evento, s, datos.entidad_id, None)
        texto = (
            f"Su reclamo fue trasladado a {datos.entidad_nombre}, la entidad competente para "
            f"atenderlo. Motivo: {datos.razon}"
        )
        # A step of its own in the timeline; the reclamo is derivado at the new entity.
        nota(evento, s, texto, "trasladado", proyectado="derivado")

    def en_atencion(evento: Evento, datos: ReclamoEnAtencion, s: ClientSession) -> None:
        nota(evento, s, "La entidad está atendiendo su reclamo.", "en_atencion")

    def observado(evento: Evento, datos: ReclamoObservado, s: ClientSession) -> None:
        pedido = {"id": evento.id, "texto": datos.observacion}
        si_es_mas_reciente(
            db, s, evento.codigo, "observacion_en", evento.ocurrido_en, {"observacion": pedido}
        )
        texto = f"La entidad necesita más información para atender su reclamo: {datos.observacion}"
        nota(evento, s, texto, "observado")

    def subsanacion_abierta(evento: Evento, datos: SubsanacionAbierta, s: ClientSession) -> None:
        # Tied to its observación by id: it may arrive before the observado it answers.
        plazo = {
            "observacion_id": datos.observacion_id,
            "hasta": datos.subsanar_hasta,
            "reloj_pausado": datos.reloj_pausado,
        }
        si_es_mas_reciente(
            db, s, evento.codigo, "subsanacion_en", evento.ocurrido_en, {"subsanacion": plazo}
        )
        texto = f"Tiene hasta el {dia_en_lima(datos.subsanar_hasta)} para subsanar su reclamo."
        if datos.reloj_pausado:
            texto += " Mientras tanto, el plazo de respuesta de la entidad queda suspendido."
        else:
            texto += " El plazo de respuesta de la entidad sigue corriendo."
        nota(evento, s, texto)

    def archivado(evento: Evento, datos: ReclamoArchivado, s: ClientSession) -> None:
        if datos.razon == "subsanacion_vencida":
            texto = (
                "Su reclamo fue archivado porque no recibimos la información solicitada dentro "
                "del plazo; puede presentar un nuevo reclamo."
            )
        else:
            texto = "Su reclamo fue archivado; puede presentar un nuevo reclamo."
        nota(evento, s, texto, "archivado")

    def respondido(evento: Evento, datos: ReclamoRespondido, s: ClientSession) -> None:
        texto = "La entidad respondió su reclamo; la respuesta se le envió por el medio elegido."
        nota(evento, s, texto, "respondido")

    def cerrado(evento: Evento, datos: ReclamoCerrado, s: ClientSession) -> None:
        nota(evento, s, "Reclamo cerrado.", "cerrado")

    def plazo_calculado(evento: Evento, datos: PlazoCalculado, s: ClientSession) -> None:
        recepcion = {"fecha_recepcion": datos.fecha_recepcion.isoformat()}
        # A recalculation that arrived first is the newer deadline: then only the date of
        # reception is written (one write either way, usually).
        cambios = {"vence_en": datos.vence_en, **recepcion}
        if not si_es_mas_reciente(db, s, evento.codigo, "vence_en_de", evento.ocurrido_en, cambios):
            db.reclamos.update_one({"_id": evento.codigo}, {"$set": recepcion}, session=s)
        vence = dia_en_lima(datos.vence_en)
        texto = (
            f"Plazo de atención: {datos.dias_habiles} días hábiles, hasta el {vence} "
            f"(recibido el {datos.fecha_recepcion.strftime('%d/%m/%Y')})."
        )
        nota(evento, s, texto)

    def plazo_recalculado(evento: Evento, datos: PlazoRecalculado, s: ClientSession) -> None:
        si_es_mas_reciente(
            db, s, evento.codigo, "vence_en_de", evento.ocurrido_en, {"vence_en": datos.vence_en}
        )
        texto = (
            f"Nuevo plazo de respuesta: hasta el {dia_en_lima(datos.vence_en)} "
            f"({RAZONES_NUEVO_PLAZO[datos.razon]})."
        )
        nota(evento, s, texto)

    def plazo_vencido(evento: Evento, datos: PlazoAviso, s: ClientSession) -> None:
        db.reclamos.update_one({"_id": evento.codigo}, {"$set": {"vencido": True}}, session=s)
        texto = (
            f"El plazo de respuesta venció el {dia_en_lima(datos.vence_en)} sin que la entidad "
            "respondiera su reclamo."
        )
        nota(evento, s, texto)

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
        nota(evento, s, texto)

    def intervencion(evento: Evento, datos: Intervencion, s: ClientSession) -> None:
        # The note is addressed to the entity; the citizen learns that SGP stepped in.
        texto = (
            "La Secretaría de Gestión Pública intervino ante la entidad para que atienda su "
            "reclamo."
        )
        nota(evento, s, texto)

    def encuesta(evento: Evento, datos: EncuestaCreada, s: ClientSession) -> None:
        # The link is shown in tracking (behind código + document) for citizens without email.
        db.reclamos.update_one(
            {"_id": evento.codigo},
            {"$set": {"encuesta": {"token": datos.token, "vence_en": datos.vence_en}}},
            session=s,
        )
        texto = "Ya puede calificar la atención de su reclamo en la encuesta de satisfacción"
        if datos.vence_en is not None:
            texto += f", hasta el {dia_en_lima(datos.vence_en)}"
        nota(evento, s, texto + "; el enlace aparece en este seguimiento.")

    def notificado(evento: Evento, datos: NotificacionEntregada, s: ClientSession) -> None:
        if datos.destinatario != "ciudadano":
            return
        que = AVISOS.get(datos.plantilla, "un aviso")
        if evento.tipo == "notificacion.enviada":
            texto = f"Le enviamos {que} por correo electrónico."
        else:
            texto = f"No pudimos entregarle {que} por correo electrónico."
        nota(evento, s, texto)

    return {
        "catalogo.entidad_actualizada": entidad,
        "notificacion.enviada": notificado,
        "notificacion.fallida": notificado,
        "reclamo.derivado": derivado,
        "reclamo.reasignado": reasignado,
        "reclamo.trasladado": trasladado,
        "reclamo.en_atencion": en_atencion,
        "reclamo.observado": observado,
        "reclamo.archivado": archivado,
        "reclamo.respondido": respondido,
        "reclamo.cerrado": cerrado,
        "plazo.calculado": plazo_calculado,
        "plazo.recalculado": plazo_recalculado,
        "plazo.subsanacion_abierta": subsanacion_abierta,
        "plazo.vencido": plazo_vencido,
        "plazo.detenido": plazo_detenido,
        "supervision.intervencion": intervencion,
        "encuesta.creada": encuesta,
    }
