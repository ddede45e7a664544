"""plazos' integration-event handlers: start the clock when a reclamo is registered, stop it when
it is answered. Either may arrive first; the document keeps what came and closes when both are in.
"""

from __future__ import annotations

from datetime import date

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    Evento,
    PlazoCalculado,
    PlazoDetenido,
    ReclamoRegistrado,
    ReclamoRespondido,
    nuevo_evento,
)
from servicios.plazos import dependencias
from servicios.plazos.dominio import PoliticaPlazos, cerrar, fecha_recepcion, vencimiento

SERVICIO = "plazos"


def manejadores(db: Database, politica: PoliticaPlazos) -> dict[str, Manejador]:
    def al_registrarse(evento: Evento, datos: ReclamoRegistrado, s: ClientSession) -> list[Evento]:
        cal = dependencias.calendario(db, s)
        recepcion = fecha_recepcion(datos.registrado_en, cal, politica)
        vence_en = vencimiento(recepcion, cal, politica)
        db.plazos.update_one(
            {"_id": evento.codigo},
            {
                "$set": {
                    "entidad_id": datos.entidad_id,
                    "registrado_en": datos.registrado_en,
                    "fecha_recepcion": recepcion.isoformat(),
                    "vence_en": vence_en,
                    "dias_habiles": politica.dias_habiles,
                },
                "$setOnInsert": {"estado": "corriendo"},
            },
            upsert=True,
            session=s,
        )
        calculado = PlazoCalculado(
            entidad_id=datos.entidad_id,
            fecha_recepcion=recepcion,
            vence_en=vence_en,
            dias_habiles=politica.dias_habiles,
        )
        eventos = [evento.consecuencia("plazo.calculado", calculado, SERVICIO)]
        doc = db.plazos.find_one({"_id": evento.codigo}, session=s)
        if doc and doc.get("respondido_en"):  # the answer came first
            eventos += _detener(doc, s)
        return eventos

    def al_responderse(evento: Evento, datos: ReclamoRespondido, s: ClientSession) -> list[Evento]:
        db.plazos.update_one(
            {"_id": evento.codigo},
            {"$set": {"respondido_en": datos.respondido_en, "entidad_id": datos.entidad_id}},
            upsert=True,
            session=s,
        )
        doc = db.plazos.find_one({"_id": evento.codigo}, session=s)
        return _detener(doc, s) if doc and doc.get("vence_en") else []

    def _detener(doc: dict, s: ClientSession) -> list[Evento]:
        if doc.get("estado") == "detenido":
            return []
        cierre = cerrar(
            date.fromisoformat(doc["fecha_recepcion"]),
            doc["vence_en"],
            doc["respondido_en"],
            dependencias.calendario(db, s),
        )
        db.plazos.update_one(
            {"_id": doc["_id"]},
            {
                "$set": {
                    "estado": "detenido",
                    "dias_habiles_usados": cierre.dias_habiles_usados,
                    "dentro_del_plazo": cierre.dentro_del_plazo,
                }
            },
            session=s,
        )
        detenido = PlazoDetenido(
            entidad_id=doc["entidad_id"],
            detenido_en=doc["respondido_en"],
            dias_habiles_usados=cierre.dias_habiles_usados,
            dentro_del_plazo=cierre.dentro_del_plazo,
        )
        return [nuevo_evento("plazo.detenido", detenido, fuente=SERVICIO, codigo=doc["_id"])]

    return {"reclamo.registrado": al_registrarse, "reclamo.respondido": al_responderse}
