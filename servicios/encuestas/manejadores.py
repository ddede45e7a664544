"""encuestas' integration-event handlers: one survey per answered reclamo, and the unit that
holds each reclamo (a unit-scoped key reads the indices of its unit's surveys only)."""

from __future__ import annotations

from datetime import timedelta

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import cifras, reloj
from comun.consumo import Manejador
from comun.eventos import (
    EncuestaCreada,
    Evento,
    ReclamoDerivado,
    ReclamoReasignado,
    ReclamoRespondido,
)
from comun.tiempo import al_milisegundo
from servicios.encuestas.cifras import aporte
from servicios.encuestas.dominio import huella, nuevo_token

SERVICIO = "encuestas"


def manejadores(db: Database, dias_vigencia: int = 30) -> dict[str, Manejador]:
    def al_responderse(evento: Evento, datos: ReclamoRespondido, s: ClientSession) -> list[Evento]:
        if db.encuestas.find_one({"_id": evento.codigo}, {"_id": 1}, session=s):
            return []  # one survey per reclamo, whatever the bus repeats
        token = nuevo_token()
        # Its days count from when the citizen can have it, not from a delivery that came late.
        creada_en = reloj.ahora()
        vence_en = creada_en + timedelta(days=dias_vigencia)
        encuesta = {
            "_id": evento.codigo,
            "entidad_id": datos.entidad_id,
            "token": huella(token),
            "estado": "pendiente",
            "creada_en": creada_en,
            "vence_en": vence_en,
        }
        # Its unit, if its derivado came first (else anotar_unidad sets it when it comes).
        if unidad := db.unidades.find_one({"_id": evento.codigo}, session=s):
            encuesta["unidad"] = {"entidad_id": unidad["entidad_id"], "id": unidad["id"]}
        db.encuestas.insert_one(encuesta, session=s)
        creada = EncuestaCreada(entidad_id=datos.entidad_id, token=token, vence_en=vence_en)
        return [evento.consecuencia("encuesta.creada", creada, SERVICIO)]

    def anotar_unidad(evento: Evento, entidad_id: str, unidad_id: str, s: ClientSession) -> None:
        # The latest derivado or reasignado by when it happened (at the store's millisecond),
        # whatever the arrival order; the survey, if it exists already, follows it.
        en = al_milisegundo(evento.ocurrido_en)
        previa = db.unidades.find_one({"_id": evento.codigo}, {"en": 1}, session=s)
        if previa is not None and previa["en"] >= en:
            return None
        unidad = {"entidad_id": entidad_id, "id": unidad_id}
        db.unidades.replace_one(
            {"_id": evento.codigo}, {**unidad, "en": en}, upsert=True, session=s
        )
        antes = db.encuestas.find_one({"_id": evento.codigo}, session=s)
        if antes is not None:
            db.encuestas.update_one({"_id": evento.codigo}, {"$set": {"unidad": unidad}}, session=s)
            # An answered survey's figures move to the unit (comun.cifras).
            cifras.mover(db, aporte(antes), aporte({**antes, "unidad": unidad}), s)
        return None

    def al_derivarse(evento: Evento, datos: ReclamoDerivado, s: ClientSession) -> None:
        return anotar_unidad(evento, datos.entidad_id, datos.unidad_id, s)

    def al_reasignarse(evento: Evento, datos: ReclamoReasignado, s: ClientSession) -> None:
        return anotar_unidad(evento, datos.entidad_id, datos.unidad_id, s)

    return {
        "reclamo.derivado": al_derivarse,
        "reclamo.reasignado": al_reasignarse,
        "reclamo.respondido": al_responderse,
    }
