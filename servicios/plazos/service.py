"""plazos' HTTP entrypoints: a reclamo's deadline, the operator's non-working days, and the
supervisor's overdue listing and interventions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask, request

from comun import cifras, idempotencia, reloj
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.eventos import Intervencion
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.web import cuerpo, evento_de_la_solicitud, exigir_rol
from servicios.plazos import cifras as cifras_plazos
from servicios.plazos import dependencias
from servicios.plazos.ajustes import AjustesPlazos
from servicios.plazos.consultas import cursor, leer_cursor, por_clave
from servicios.plazos.dominio import habiles_vencido, limite_de_vencidos
from servicios.plazos.expedientes import SERVICIO, vencido
from servicios.plazos.schemas import (
    DiaNoLaborable,
    FiltrosVencidos,
    NotaIntervencion,
    Plazo,
    fecha_del_calendario,
)

ABIERTOS = ["corriendo", "pausado"]
CERRADO = {"detenido": "respondido", "terminado": "archivado o desistido"}


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, AjustesPlazos, preparar=dependencias.preparar)
    db = ctx.db
    app = ctx.app_web()

    @app.get("/plazos/<codigo>")
    def ver(codigo: str):
        quien = exigir_rol("entidad", "supervisor")
        filtro: dict = {"_id": codigo, "fecha_recepcion": {"$exists": True}}
        if quien.rol == "entidad":
            filtro["entidad_id"] = quien.entidad
            if quien.unidad:  # a unit-scoped key: only while the reclamo is in its unit
                filtro["unidad.entidad_id"] = quien.entidad
                filtro["unidad.id"] = quien.unidad
        doc = db.plazos.find_one(filtro)
        if doc is None:
            raise ErrorDeDominio(404, "no_encontrado", "No hay un plazo para ese código.")
        vista = {**doc, "codigo": doc["_id"], "vencido": vencido(doc, reloj.ahora())}
        vista["reloj_pausado"] = bool(doc.get("reloj_pausado"))
        return Plazo.model_validate(vista).model_dump(mode="json")

    # --- calendar (operator) ---------------------------------------------------------------------

    def _fecha(texto: str) -> str:
        try:
            return fecha_del_calendario(texto)
        except ValueError:
            raise ErrorDeDominio(
                422, "fecha_invalida", "La fecha debe ser un día del calendario (AAAA-MM-DD)."
            ) from None

    def _cambio(fecha: str, accion: str) -> dict:
        # Applied by the plazos worker's sweep (recomputes the open deadlines it touches).
        return {
            "_id": str(uuid.uuid4()),
            "fecha": fecha,
            "accion": accion,
            "pendiente_desde": datetime.now(UTC),
        }

    @app.put("/calendario/dias-no-laborables/<fecha>")
    def agregar_dia(fecha: str):
        exigir_rol("operador")
        fecha = _fecha(fecha)
        datos = cuerpo(DiaNoLaborable)

        def guardar(s):
            previo = db.dias_no_laborables.find_one({"_id": fecha}, session=s)
            db.dias_no_laborables.replace_one(
                {"_id": fecha}, {"motivo": datos.motivo}, upsert=True, session=s
            )
            if previo is None:  # a new motivo for a declared day moves no deadline
                db.cambios_calendario.insert_one(_cambio(fecha, "declarar"), session=s)

        en_transaccion(db, guardar)
        return {"fecha": fecha, "motivo": datos.motivo}

    @app.delete("/calendario/dias-no-laborables/<fecha>")
    def retirar_dia(fecha: str):
        exigir_rol("operador")
        fecha = _fecha(fecha)

        def retirar(s) -> bool:
            if db.dias_no_laborables.delete_one({"_id": fecha}, session=s).deleted_count != 1:
                return False
            db.cambios_calendario.insert_one(_cambio(fecha, "retirar"), session=s)
            return True

        if not en_transaccion(db, retirar):
            raise ErrorDeDominio(
                404, "no_encontrado", "Esa fecha no está declarada como día no laborable."
            )
        return {"fecha": fecha}

    @app.get("/calendario/dias-no-laborables")
    def listar_dias():
        exigir_rol("operador", "supervisor")
        dias = db.dias_no_laborables.find().sort("_id", 1)
        return [{"fecha": d["_id"], "motivo": d["motivo"]} for d in dias]

    # --- supervision (SGP) -----------------------------------------------------------------------

    @app.get("/supervision/vencidos")
    def vencidos():
        exigir_rol("supervisor")
        filtros = FiltrosVencidos.model_validate(request.args.to_dict())
        ahora = reloj.ahora()
        cal = dependencias.calendario(db)
        filtro: dict = {"estado": "corriendo"}
        indice = None
        if filtros.nivel or filtros.pais:
            por_catalogo = {"nivel": filtros.nivel, "pais": filtros.pais}
            consulta = {k: v for k, v in por_catalogo.items() if v}
            ids = [e["_id"] for e in db.entidades.find(consulta, {"_id": 1}).sort("_id", 1)]
            if filtros.entidad:
                ids = [i for i in ids if i == filtros.entidad]
            if not ids:
                return {"items": [], "siguiente": None}
            filtro["entidad_id"] = ids[0] if len(ids) == 1 else {"$in": ids}
            # Several entities: walk the overdue range of the index and filter, rather than
            # let the planner sort every open reclamo of those entities.
            indice = dependencias.INDICE_VENCIDOS if len(ids) > 1 else None
        elif filtros.entidad:
            filtro["entidad_id"] = filtros.entidad
        despues = leer_cursor(filtros.cursor) if filtros.cursor else None
        rango = {"$lt": limite_de_vencidos(filtros.dias_min, ahora, cal)}
        docs = por_clave(db.plazos, filtro, "vence_en", rango, despues, filtros.limite + 1, indice)
        pagina = docs[: filtros.limite]
        catalogo = {
            e["_id"]: e
            for e in db.entidades.find({"_id": {"$in": sorted({d["entidad_id"] for d in pagina})}})
        }
        items = []
        for d in pagina:
            entidad = catalogo.get(d["entidad_id"], {})
            items.append(
                {
                    "codigo": d["_id"],
                    "entidad_id": d["entidad_id"],
                    "entidad_nombre": entidad.get("nombre", d["entidad_id"]),
                    "nivel": entidad.get("nivel"),
                    "pais": entidad.get("pais"),
                    "vence_en": d["vence_en"].astimezone(UTC).isoformat(),
                    "dias_habiles_vencido": habiles_vencido(d["vence_en"], ahora, cal),
                    "intervenciones": d.get("intervenciones", 0),
                }
            )
        siguiente = None
        if len(docs) > filtros.limite:
            siguiente = cursor(pagina[-1]["vence_en"], pagina[-1]["_id"])
        return {"items": items, "siguiente": siguiente}

    @app.post("/supervision/reclamos/<codigo>/intervencion")
    def intervenir(codigo: str):
        exigir_rol("supervisor")
        datos = cuerpo(NotaIntervencion)
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        doc = db.plazos.find_one({"_id": codigo, "fecha_recepcion": {"$exists": True}})
        if doc is None:
            raise ErrorDeDominio(404, "no_encontrado", "No hay un reclamo con ese código.")
        if doc["estado"] in CERRADO:
            raise ErrorDeDominio(
                409,
                "plazo_cerrado",
                f"El reclamo ya fue {CERRADO[doc['estado']]}: su plazo terminó y no admite "
                "una intervención.",
            )
        registrada_en = reloj.ahora()
        entidad_id = doc["entidad_id"]
        evento = evento_de_la_solicitud(
            "supervision.intervencion",
            Intervencion(entidad_id=entidad_id, nota=datos.nota),
            SERVICIO,
            codigo=codigo,
            ocurrido_en=registrada_en,
        )
        respuesta = {
            "codigo": codigo,
            "entidad_id": entidad_id,
            "nota": datos.nota,
            "registrada_en": registrada_en.isoformat(),
        }

        def registrar(s):
            if reintento:  # first: a concurrent retry of this very request finds the key taken
                reintento.guardar(s, respuesta, 201)
            # The state and entity in the filter: an answer or a traslado meanwhile is a 409.
            hecho = db.plazos.update_one(
                {"_id": codigo, "estado": {"$in": ABIERTOS}, "entidad_id": entidad_id},
                {"$inc": {"intervenciones": 1}},
                session=s,
            )
            if hecho.matched_count != 1:
                raise ErrorDeDominio(
                    409, "conflicto", "El reclamo cambió mientras tanto; reintente."
                )
            db.intervenciones.insert_one(
                {
                    "_id": evento.id,
                    "codigo": codigo,
                    "entidad_id": entidad_id,
                    "nota": datos.nota,
                    "registrada_en": registrada_en,
                },
                session=s,
            )
            db.intervenciones_por_entidad.update_one(
                {"_id": entidad_id}, {"$inc": {"intervenciones": 1}}, upsert=True, session=s
            )
            cifras.mover(db, None, cifras_plazos.intervencion(doc, registrada_en), s)
            encolar(db, [evento], s)

        try:
            en_transaccion(db, registrar)
        except idempotencia.YaRegistrada:
            return reintento.previa()  # type: ignore[union-attr]
        return respuesta, 201

    @app.get("/cifras")
    def cifras_():
        """Report figures (comun.cifras): answered, on time, business days, interventions."""
        quien = exigir_rol("entidad", "supervisor", "ciudadano")
        previa = request.headers.get("If-None-Match")
        return cifras.responder(db, request.args.to_dict(), quien, previa)

    @app.get("/supervision/intervenciones")
    def intervenciones():
        exigir_rol("supervisor")
        docs = db.intervenciones_por_entidad.find().sort("_id", 1)
        return [{"entidad_id": d["_id"], "intervenciones": d["intervenciones"]} for d in docs]

    return app
