"""derivacion's HTTP entrypoints: the entity catalogue and the entity's inbox (bandeja).

Every query is scoped to the caller's entity (re-checked here, not only in the gateway).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, request

from comun import idempotencia
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.eventos import (
    EntidadActualizada,
    ReclamoEnAtencion,
    ReclamoRespondido,
)
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.web import Identidad, cuerpo, evento_de_la_solicitud, exigir_rol
from servicios.derivacion import dependencias
from servicios.derivacion.dominio import errores_de_catalogo, puede_pasar
from servicios.derivacion.manejadores import SERVICIO
from servicios.derivacion.schemas import Entidad, EntradaBandeja, Respuesta, ResumenEntidad


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
    db = ctx.db
    app = ctx.app_web()

    @app.put("/catalogo/entidades/<entidad_id>")
    def guardar_entidad(entidad_id: str):
        exigir_rol("operador")
        entidad = cuerpo(Entidad)
        if entidad.id != entidad_id:
            raise ErrorDeDominio(
                422, "datos_invalidos", "El id del cuerpo no coincide con la ruta."
            )
        if errores := errores_de_catalogo(entidad):
            return {
                "error": "datos_invalidos",
                "mensaje": "Catálogo inconsistente.",
                "detalle": errores,
            }, 422
        evento = evento_de_la_solicitud(
            "catalogo.entidad_actualizada", EntidadActualizada(entidad=entidad), SERVICIO
        )

        def guardar(s):
            db.entidades.replace_one(
                {"_id": entidad.id},
                {"entidad": entidad.model_dump(mode="json"), "actualizado_en": evento.ocurrido_en},
                upsert=True,
                session=s,
            )
            encolar(db, [evento], s)

        en_transaccion(db, guardar)
        return entidad.model_dump(mode="json")

    @app.get("/catalogo/entidades")
    def listar_entidades():
        docs = db.entidades.find({}, {"entidad": 1}).sort("_id")
        return [ResumenEntidad.model_validate(d["entidad"]).model_dump() for d in docs]

    @app.get("/bandeja")
    def bandeja():
        quien = exigir_rol("entidad", "supervisor")
        filtro = _alcance(quien, request.args.get("entidad"))
        if estado := request.args.get("estado"):
            filtro["estado"] = estado
        limite = min(request.args.get("limite", 50, type=int) or 50, 200)
        docs = db.bandeja.find(filtro).sort("registrado_en", -1).limit(limite)
        return [_entrada(d) for d in docs]

    @app.get("/bandeja/<codigo>")
    def ver(codigo: str):
        quien = exigir_rol("entidad", "supervisor")
        return _entrada(_buscar(quien, codigo))

    @app.post("/bandeja/<codigo>/atencion")
    def atender(codigo: str):
        quien = exigir_rol("entidad")
        doc = _buscar(quien, codigo)
        datos = ReclamoEnAtencion(entidad_id=doc["entidad_id"], unidad_id=doc["unidad_id"])
        return _transicion(doc, "en_atencion", "reclamo.en_atencion", datos, {})

    @app.post("/bandeja/<codigo>/respuesta")
    def responder(codigo: str):
        quien = exigir_rol("entidad")
        respuesta = cuerpo(Respuesta)
        doc = _buscar(quien, codigo)
        ahora = datetime.now(UTC)
        datos = ReclamoRespondido(
            entidad_id=doc["entidad_id"], respuesta=respuesta.texto, respondido_en=ahora
        )
        cambios = {"respuesta": respuesta.texto, "respondido_en": ahora}
        return _transicion(doc, "respondido", "reclamo.respondido", datos, cambios)

    def _alcance(quien: Identidad, entidad_pedida: str | None) -> dict:
        if quien.rol == "entidad":
            filtro = {"entidad_id": quien.entidad}
            if quien.unidad:
                filtro["unidad_id"] = quien.unidad
            return filtro
        return {"entidad_id": entidad_pedida} if entidad_pedida else {"entidad_id": {"$exists": 1}}

    def _buscar(quien: Identidad, codigo: str) -> dict:
        doc = db.bandeja.find_one({"_id": codigo, **_alcance(quien, None)})
        if doc is None or "estado" not in doc:
            # The same answer whether it does not exist or belongs to another entity.
            raise ErrorDeDominio(
                404, "no_encontrado", "No hay un reclamo con ese código en su bandeja."
            )
        return doc

    def _transicion(doc: dict, nuevo: str, tipo: str, datos, cambios: dict):
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        actual = doc["estado"]
        if not puede_pasar(actual, nuevo):
            raise ErrorDeDominio(
                409,
                "transicion_invalida",
                f"Un reclamo en estado {actual} no puede pasar a {nuevo}.",
            )
        evento = evento_de_la_solicitud(tipo, datos, SERVICIO, codigo=doc["_id"])
        cambios = {"estado": nuevo, f"{nuevo}_en": evento.ocurrido_en, **cambios}
        respuesta = _entrada({**doc, **cambios})

        def aplicar(s):
            if reintento:  # first: a concurrent retry of this very request finds the key taken
                reintento.guardar(s, respuesta, 200)
            # The state in the filter makes concurrent transitions fail instead of both winning.
            hecho = db.bandeja.update_one(
                {"_id": doc["_id"], "estado": actual}, {"$set": cambios}, session=s
            )
            if hecho.modified_count != 1:
                raise ErrorDeDominio(
                    409, "conflicto", "El reclamo cambió mientras tanto; reintente."
                )
            encolar(db, [evento], s)

        try:
            en_transaccion(db, aplicar)
        except idempotencia.YaRegistrada:
            return reintento.previa()  # type: ignore[union-attr]
        return respuesta

    return app


def _entrada(doc: dict) -> dict:
    return EntradaBandeja.model_validate({**doc, "codigo": doc["_id"]}).model_dump(mode="json")
