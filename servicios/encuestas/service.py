"""encuestas' HTTP entrypoints: the citizen reads and answers the survey with its token; the
supervisor and the entity read the satisfaction indices."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request

from comun import cifras, reloj
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.eventos import EncuestaRespondida
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.tiempo import dia_en_lima
from comun.web import cuerpo, evento_de_la_solicitud, exigir_rol
from servicios.encuestas import dependencias
from servicios.encuestas.ajustes import AjustesEncuestas
from servicios.encuestas.cifras import aporte
from servicios.encuestas.dominio import huella
from servicios.encuestas.manejadores import SERVICIO
from servicios.encuestas.schemas import PREGUNTAS, Encuesta, RespuestaEncuesta

NO_ENCONTRADA = "No existe una encuesta con ese enlace."


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, AjustesEncuestas, preparar=dependencias.preparar)
    db = ctx.db
    app = ctx.app_web()

    @app.get("/encuestas/<token>")
    def ver(token: str):
        doc = db.encuestas.find_one({"token": huella(token)})
        if doc is None:
            raise ErrorDeDominio(404, "no_encontrada", NO_ENCONTRADA)
        encuesta = Encuesta(
            codigo=doc["_id"],
            entidad_id=doc["entidad_id"],
            estado="vencida" if _vencida(doc) else doc["estado"],
            vence_en=doc.get("vence_en"),
            preguntas=PREGUNTAS,
        )
        return encuesta.model_dump(mode="json")

    @app.post("/encuestas/<token>")
    def responder(token: str):
        respuesta: RespuestaEncuesta = cuerpo(RespuestaEncuesta)
        doc = db.encuestas.find_one(
            {"token": huella(token)}, {"entidad_id": 1, "estado": 1, "vence_en": 1}
        )
        if doc is None:
            raise ErrorDeDominio(404, "no_encontrada", NO_ENCONTRADA)
        ahora = reloj.ahora()
        if _vencida(doc, ahora):
            raise _ya_vencida(doc)
        datos = EncuestaRespondida(
            entidad_id=doc["entidad_id"],
            satisfaccion=respuesta.satisfaccion,
            resuelto=respuesta.resuelto,
            impulsores={k.value: v for k, v in respuesta.impulsores.items()},
        )
        evento = evento_de_la_solicitud("encuesta.respondida", datos, SERVICIO, codigo=doc["_id"])

        def guardar(s):
            # Single use: only a pending survey in time can be answered, even by two requests
            # at once or while the sweep expires it.
            hecho = db.encuestas.update_one(
                {
                    "_id": doc["_id"],
                    "estado": "pendiente",
                    # Without an expiry, or not yet expired (no $or: the store would scan).
                    "vence_en": {"$not": {"$lte": ahora}},
                },
                {
                    "$set": {
                        "estado": "respondida",
                        "respondida_en": ahora,
                        "respuesta": respuesta.model_dump(mode="json"),
                    }
                },
                session=s,
            )
            if hecho.modified_count != 1:
                actual = db.encuestas.find_one({"_id": doc["_id"]}, session=s) or doc
                if _vencida(actual, ahora):
                    raise _ya_vencida(actual)
                raise ErrorDeDominio(409, "ya_respondida", "Esta encuesta ya fue respondida.")
            # The report figures, in the same transaction (comun.cifras).
            cifras.mover(db, None, aporte(db.encuestas.find_one({"_id": doc["_id"]}, session=s)), s)
            encolar(db, [evento], s)

        en_transaccion(db, guardar)
        return {"codigo": doc["_id"], "mensaje": "Gracias: su opinión ayuda a mejorar la atención."}

    @app.get("/cifras")
    def cifras_():
        """Report figures (comun.cifras): surveys, satisfaction, drivers, solved."""
        quien = exigir_rol("entidad", "supervisor", "ciudadano")
        previa = request.headers.get("If-None-Match")
        return cifras.responder(db, request.args.to_dict(), quien, previa)

    @app.get("/indices")
    def indices():
        quien = exigir_rol("entidad", "supervisor")
        if quien.rol == "entidad":  # its own entity, and its own unit for a unit-scoped key
            if not quien.entidad:  # never "every entity" for lack of one
                raise ErrorDeDominio(403, "prohibido", "No tiene permiso para esta operación.")
            return dependencias.indices(db, quien.entidad, quien.unidad)
        return dependencias.indices(db, request.args.get("entidad"))

    return app


def _vencida(doc: dict, ahora: datetime | None = None) -> bool:
    """Expired, by the sweep or by the clock (the sweep may not have passed yet)."""
    if doc["estado"] == "vencida":
        return True
    vence_en = doc.get("vence_en")
    return (
        doc["estado"] == "pendiente"
        and vence_en is not None
        and (ahora or reloj.ahora()) >= vence_en
    )


def _ya_vencida(doc: dict) -> ErrorDeDominio:
    cuando = f" el {dia_en_lima(doc['vence_en'])}" if doc.get("vence_en") else ""
    return ErrorDeDominio(
        409, "encuesta_vencida", f"Esta encuesta venció{cuando}; ya no puede responderse."
    )
