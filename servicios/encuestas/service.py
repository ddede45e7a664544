"""encuestas' HTTP entrypoints: the citizen reads and answers the survey with its token; the
supervisor and the entity read the satisfaction indices."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, request

from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.eventos import EncuestaRespondida
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.web import cuerpo, evento_de_la_solicitud, exigir_rol
from servicios.encuestas import dependencias
from servicios.encuestas.dominio import huella
from servicios.encuestas.manejadores import SERVICIO
from servicios.encuestas.schemas import PREGUNTAS, Encuesta, RespuestaEncuesta

NO_ENCONTRADA = "No existe una encuesta con ese enlace."


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
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
            estado=doc["estado"],
            preguntas=PREGUNTAS,
        )
        return encuesta.model_dump()

    @app.post("/encuestas/<token>")
    def responder(token: str):
        respuesta: RespuestaEncuesta = cuerpo(RespuestaEncuesta)
        doc = db.encuestas.find_one({"token": huella(token)}, {"entidad_id": 1, "estado": 1})
        if doc is None:
            raise ErrorDeDominio(404, "no_encontrada", NO_ENCONTRADA)
        datos = EncuestaRespondida(
            entidad_id=doc["entidad_id"],
            satisfaccion=respuesta.satisfaccion,
            resuelto=respuesta.resuelto,
            impulsores={k.value: v for k, v in respuesta.impulsores.items()},
        )
        evento = evento_de_la_solicitud("encuesta.respondida", datos, SERVICIO, codigo=doc["_id"])

        def guardar(s):
            # Single use: only a pending survey can be answered, even by two requests at once.
            hecho = db.encuestas.update_one(
                {"_id": doc["_id"], "estado": "pendiente"},
                {
                    "$set": {
                        "estado": "respondida",
                        "respondida_en": datetime.now(UTC),
                        "respuesta": respuesta.model_dump(mode="json"),
                    }
                },
                session=s,
            )
            if hecho.modified_count != 1:
                raise ErrorDeDominio(409, "ya_respondida", "Esta encuesta ya fue respondida.")
            encolar(db, [evento], s)

        en_transaccion(db, guardar)
        return {"codigo": doc["_id"], "mensaje": "Gracias: su opinión ayuda a mejorar la atención."}

    @app.get("/indices")
    def indices():
        quien = exigir_rol("entidad", "supervisor")
        entidad = quien.entidad if quien.rol == "entidad" else request.args.get("entidad")
        return dependencias.indices(db, entidad)

    return app
