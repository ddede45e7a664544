"""encuestas' integration-event handlers: one survey per answered reclamo."""

from __future__ import annotations

from datetime import timedelta

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import reloj
from comun.consumo import Manejador
from comun.eventos import EncuestaCreada, Evento, ReclamoRespondido
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
        db.encuestas.insert_one(
            {
                "_id": evento.codigo,
                "entidad_id": datos.entidad_id,
                "token": huella(token),
                "estado": "pendiente",
                "creada_en": creada_en,
                "vence_en": vence_en,
            },
            session=s,
        )
        creada = EncuestaCreada(entidad_id=datos.entidad_id, token=token, vence_en=vence_en)
        return [evento.consecuencia("encuesta.creada", creada, SERVICIO)]

    return {"reclamo.respondido": al_responderse}
