"""notificaciones' HTTP entrypoints: proof of delivery for a reclamo (supervisor, operator)."""

from __future__ import annotations

from flask import Flask

from comun.servicio import arrancar
from comun.web import exigir_rol
from servicios.notificaciones import dependencias
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.manejadores import SERVICIO


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, AjustesNotificaciones, preparar=dependencias.preparar)
    db = ctx.db
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

    return app
