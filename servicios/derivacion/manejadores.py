"""derivacion's integration-event handlers: route every new reclamo to the unit that must answer."""

from __future__ import annotations

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    EncuestaRespondida,
    Entidad,
    Evento,
    PlazoCalculado,
    ReclamoCerrado,
    ReclamoDerivado,
    ReclamoRegistrado,
)
from servicios.derivacion.dominio import derivar, puede_pasar

SERVICIO = "derivacion"


class EntidadDesconocida(LookupError):
    pass


def manejadores(db: Database) -> dict[str, Manejador]:
    def al_registrarse(evento: Evento, datos: ReclamoRegistrado, s: ClientSession) -> list[Evento]:
        doc = db.entidades.find_one({"_id": datos.entidad_id}, session=s)
        if doc is None:  # registro only accepts known entities: this is retried, then parked
            raise EntidadDesconocida(f"entidad {datos.entidad_id} no está en el catálogo")
        unidad, por_regla = derivar(
            Entidad.model_validate(doc["entidad"]), datos.motivo, datos.sede
        )
        db.bandeja.update_one(
            {"_id": evento.codigo},
            {
                "$set": {
                    "entidad_id": datos.entidad_id,
                    "unidad_id": unidad.id,
                    "unidad_nombre": unidad.nombre,
                    "motivo": datos.motivo,
                    "canal": datos.canal,
                    "sede": datos.sede,
                    "descripcion": datos.descripcion,
                    "pedido": datos.pedido,
                    "medio_respuesta": datos.medio_respuesta,
                    "contacto": datos.contacto.model_dump(),
                    "registrado_en": datos.registrado_en,
                    "derivado_en": evento.ocurrido_en,
                },
            },
            upsert=True,
            session=s,
        )
        # Not in the upsert: a plazo.calculado that came first may have created the document.
        db.bandeja.update_one(
            {"_id": evento.codigo, "estado": {"$exists": False}},
            {"$set": {"estado": "derivado"}},
            session=s,
        )
        derivado = ReclamoDerivado(
            entidad_id=datos.entidad_id,
            unidad_id=unidad.id,
            unidad_nombre=unidad.nombre,
            por_regla=por_regla,
        )
        return [evento.consecuencia("reclamo.derivado", derivado, SERVICIO)]

    def al_calcularse_plazo(evento: Evento, datos: PlazoCalculado, s: ClientSession) -> None:
        # May arrive before reclamo.registrado: the upsert keeps it for the inbox either way.
        db.bandeja.update_one(
            {"_id": evento.codigo}, {"$set": {"vence_en": datos.vence_en}}, upsert=True, session=s
        )

    def al_responder_encuesta(
        evento: Evento, datos: EncuestaRespondida, s: ClientSession
    ) -> list[Evento]:
        doc = db.bandeja.find_one({"_id": evento.codigo}, {"estado": 1}, session=s)
        if doc is None or not puede_pasar(doc.get("estado", ""), "cerrado"):
            return []
        db.bandeja.update_one(
            {"_id": evento.codigo},
            {"$set": {"estado": "cerrado", "cerrado_en": evento.ocurrido_en}},
            session=s,
        )
        cerrado = ReclamoCerrado(entidad_id=datos.entidad_id, motivo="encuesta_respondida")
        return [evento.consecuencia("reclamo.cerrado", cerrado, SERVICIO)]

    return {
        "reclamo.registrado": al_registrarse,
        "plazo.calculado": al_calcularse_plazo,
        "encuesta.respondida": al_responder_encuesta,
    }
