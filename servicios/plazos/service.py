"""plazos' HTTP entrypoints: a reclamo's deadline, and the operator's non-working days."""

from __future__ import annotations

from datetime import date

from flask import Flask

from comun.errores import ErrorDeDominio
from comun.servicio import arrancar
from comun.web import cuerpo, exigir_rol
from servicios.plazos import dependencias
from servicios.plazos.manejadores import SERVICIO
from servicios.plazos.schemas import DiaNoLaborable, Plazo


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
    db = ctx.db
    app = ctx.app_web()

    @app.get("/plazos/<codigo>")
    def ver(codigo: str):
        quien = exigir_rol("entidad", "supervisor")
        filtro: dict = {"_id": codigo, "vence_en": {"$exists": True}}
        if quien.rol == "entidad":
            filtro["entidad_id"] = quien.entidad
        doc = db.plazos.find_one(filtro)
        if doc is None:
            raise ErrorDeDominio(404, "no_encontrado", "No hay un plazo para ese código.")
        return Plazo.model_validate({**doc, "codigo": doc["_id"]}).model_dump(mode="json")

    @app.put("/calendario/dias-no-laborables/<fecha>")
    def agregar_dia(fecha: str):
        exigir_rol("operador")
        try:
            dia = date.fromisoformat(fecha)
        except ValueError:
            raise ErrorDeDominio(422, "fecha_invalida", "La fecha debe ser AAAA-MM-DD.") from None
        datos = cuerpo(DiaNoLaborable)
        db.dias_no_laborables.replace_one(
            {"_id": dia.isoformat()}, {"motivo": datos.motivo}, upsert=True
        )
        return {"fecha": dia.isoformat(), "motivo": datos.motivo}

    @app.get("/calendario/dias-no-laborables")
    def listar_dias():
        exigir_rol("operador", "supervisor")
        return [{"fecha": d["_id"], "motivo": d["motivo"]} for d in db.dias_no_laborables.find()]

    return app
