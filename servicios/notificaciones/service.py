"""notificaciones' HTTP entrypoints: proof of delivery for a reclamo (supervisor, operator), and
an entity's webhooks (its own key: subscribe, list, delete, rotate the secret, deliveries)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, request

from comun import idempotencia
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.servicio import arrancar
from comun.web import Identidad, cuerpo, exigir_rol
from servicios.notificaciones import dependencias, webhooks
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.manejadores import SERVICIO
from servicios.notificaciones.schemas import (
    EntregaWebhook,
    EventoWebhook,
    NuevoWebhook,
    PaginaEntregas,
    SecretoNuevo,
    Webhook,
    WebhookCreado,
)

NO_EXISTE = "El webhook no existe o no es de su entidad."


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, AjustesNotificaciones, preparar=dependencias.preparar)
    db = ctx.db
    ajustes = ctx.ajustes
    app = ctx.app_web()

    @app.get("/entregas/<codigo>")
    def entregas(codigo: str):
        exigir_rol("supervisor", "operador")
        campos = {
            "plantilla": 1,
            "destinatario": 1,
            "estado": 1,
            "intentos": 1,
            "terminada_en": 1,
            "message_id": 1,
        }
        return [
            {
                **{k: v for k, v in d.items() if k != "_id"},
                "terminada_en": d["terminada_en"].isoformat() if d.get("terminada_en") else None,
            }
            for d in db.entregas.find({"codigo": codigo}, campos)
        ]

    # --- webhooks -------------------------------------------------------------------------------

    @app.post("/webhooks")
    def suscribir():
        quien = exigir_rol("entidad")
        nuevo: NuevoWebhook = cuerpo(NuevoWebhook)
        problema = webhooks.problema_de_url(
            nuevo.url, ajustes.webhooks_permitir_http, ajustes.webhooks_permitir_privadas
        )
        if problema:
            return {
                "error": "datos_invalidos",
                "mensaje": "Hay datos inválidos.",
                "detalle": [{"campo": "url", "mensaje": problema}],
            }, 422
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        activos = db.webhooks.count_documents({"entidad": quien.entidad, "activo": True})
        if activos >= ajustes.webhooks_max_por_entidad:
            raise ErrorDeDominio(
                409,
                "demasiados_webhooks",
                f"La entidad ya tiene {activos} webhooks activos (máximo "
                f"{ajustes.webhooks_max_por_entidad}); elimine alguno antes de crear otro.",
            )
        eventos = [e.value for e in (nuevo.eventos or list(EventoWebhook))]
        doc = {
            "_id": webhooks.nuevo_id(),
            "entidad": quien.entidad,
            "unidad": quien.unidad,
            "url": nuevo.url,
            "eventos": list(dict.fromkeys(eventos)),
            "secreto": webhooks.nuevo_secreto(),
            "activo": True,
            "creado_en": datetime.now(UTC),
            "secreto_rotado_en": None,
        }
        respuesta = WebhookCreado(**_vista(doc), secreto=doc["secreto"]).model_dump(mode="json")

        def guardar(s):
            if reintento:
                reintento.guardar(s, respuesta, 201)
            db.webhooks.insert_one(doc, session=s)

        try:
            en_transaccion(db, guardar)
        except idempotencia.YaRegistrada:
            return reintento.previa()  # type: ignore[union-attr]
        return respuesta, 201

    @app.get("/webhooks")
    def listar_webhooks():
        quien = exigir_rol("entidad")
        filtro: dict = {"entidad": quien.entidad, "activo": True}
        if quien.unidad:
            filtro["unidad"] = quien.unidad
        docs = db.webhooks.find(filtro).sort("creado_en", 1)
        return [Webhook(**_vista(d)).model_dump(mode="json") for d in docs]

    @app.delete("/webhooks/<webhook_id>")
    def eliminar_webhook(webhook_id: str):
        w = _del_llamante(webhook_id, exigir_rol("entidad"), activo=True)
        ahora = datetime.now(UTC)

        def borrar(s):
            db.webhooks.update_one(
                {"_id": w["_id"]}, {"$set": {"activo": False, "eliminado_en": ahora}}, session=s
            )
            # What was still to be sent is not sent; what was sent stays listed.
            db.webhook_entregas.update_many(
                {"webhook_id": w["_id"], "estado": "pendiente"},
                {"$set": {"estado": "cancelada", "terminada_en": ahora}},
                session=s,
            )

        en_transaccion(db, borrar)
        return Webhook(**_vista(w | {"activo": False})).model_dump(mode="json")

    @app.post("/webhooks/<webhook_id>/secreto")
    def rotar_secreto(webhook_id: str):
        w = _del_llamante(webhook_id, exigir_rol("entidad"), activo=True)
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        secreto, ahora = webhooks.nuevo_secreto(), datetime.now(UTC)
        respuesta = SecretoNuevo(id=w["_id"], secreto=secreto, secreto_rotado_en=ahora).model_dump(
            mode="json"
        )

        def guardar(s):
            if reintento:
                reintento.guardar(s, respuesta, 200)
            db.webhooks.update_one(
                {"_id": w["_id"]},
                {"$set": {"secreto": secreto, "secreto_rotado_en": ahora}},
                session=s,
            )

        try:
            en_transaccion(db, guardar)
        except idempotencia.YaRegistrada:
            return reintento.previa()  # type: ignore[union-attr]
        return respuesta

    @app.get("/webhooks/<webhook_id>/entregas")
    def entregas_webhook(webhook_id: str):
        w = _del_llamante(webhook_id, exigir_rol("entidad"), activo=None)
        try:
            limite = min(max(int(request.args.get("limite", 50)), 1), 200)
        except ValueError:
            limite = 50
        filtro: dict = {"webhook_id": w["_id"]}
        if estado := request.args.get("estado"):
            filtro["estado"] = estado
        docs = db.webhook_entregas.find(filtro).sort("creada_en", -1).limit(limite)
        pagina = PaginaEntregas(
            entregas=[
                EntregaWebhook(
                    id=d["_id"],
                    evento_id=d["evento_id"],
                    tipo=d["tipo"],
                    codigo=d["codigo"],
                    estado=d["estado"],
                    creada_en=d["creada_en"],
                    proximo_intento=d.get("proximo_intento"),
                    terminada_en=d.get("terminada_en"),
                    intentos=d.get("intentos", []),
                )
                for d in docs
            ]
        )
        return pagina.model_dump(mode="json")

    def _del_llamante(webhook_id: str, quien: Identidad, activo: bool | None) -> dict:
        """The webhook if it is the caller's (its entity; for a unit key, its unit), else 404."""
        filtro: dict = {"_id": webhook_id, "entidad": quien.entidad}
        if activo is not None:
            filtro["activo"] = activo
        w = db.webhooks.find_one(filtro)
        if w is None or (quien.unidad and w.get("unidad") != quien.unidad):
            raise ErrorDeDominio(404, "no_encontrado", NO_EXISTE)
        return w

    return app


def _vista(doc: dict) -> dict:
    """A webhook as its entity sees it: never the secret."""
    return {
        "id": doc["_id"],
        "url": doc["url"],
        "eventos": doc["eventos"],
        "unidad": doc.get("unidad"),
        "activo": doc["activo"],
        "creado_en": doc["creado_en"],
        "secreto_rotado_en": doc.get("secreto_rotado_en"),
    }
