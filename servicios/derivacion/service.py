"""derivacion's HTTP entrypoints: the entity catalogue and the entity's inbox (bandeja).

Every query is scoped to the caller's entity (re-checked here, not only in the gateway), and to
its unit for a unit-scoped key. A supervisor sees the citizens' identity masked, unless a reason
is given, which is recorded before the data leaves (dependencias.anotar_acceso).

Every change of state is one transaction: the reclamo read again, the state machine asked, the
document written with the state it was read in as a condition, the events put in the outbox, and
the response kept for an Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, request
from pydantic import BaseModel
from pymongo.client_session import ClientSession

from comun import cifras, idempotencia, reloj
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.eventos import (
    EntidadActualizada,
    Evento,
    ReclamoDerivado,
    ReclamoEnAtencion,
    ReclamoObservado,
    ReclamoReasignado,
    ReclamoRespondido,
    ReclamoTrasladado,
)
from comun.logs import id_seguro
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.web import Identidad, cuerpo, evento_de_la_solicitud, exigir_rol
from servicios.derivacion import dependencias
from servicios.derivacion.cifras import nivel_de_reporte
from servicios.derivacion.dependencias import escribir, paso
from servicios.derivacion.dominio import (
    CORRE,
    codificar_cursor,
    decodificar_cursor,
    enmascarar_contacto,
    errores_de_catalogo,
    limite_vencimiento,
    puede,
    rechazo,
    resultado,
    tope_vencimiento,
    unidad_por_defecto,
)
from servicios.derivacion.manejadores import SERVICIO, estado_de
from servicios.derivacion.schemas import (
    Detalle,
    Entidad,
    EntradaBandeja,
    FiltrosBandeja,
    Observacion,
    Reasignacion,
    Respuesta,
    ResumenEntidad,
    Traslado,
)

# What an action does besides changing the state: (changes, history lines, events, fields to drop).
Efecto = tuple[dict, list[dict], list[Evento], tuple[str, ...]]


class CampoInvalido(Exception):
    """A body that is well formed but names something that cannot be used (a 422 on its field)."""

    def __init__(self, campo: str, mensaje: str) -> None:
        super().__init__(mensaje)
        self.campo, self.mensaje = campo, mensaje


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
    db = ctx.db
    app = ctx.app_web()

    @app.errorhandler(CampoInvalido)
    def _campo_invalido(exc: CampoInvalido):
        detalle = [{"campo": exc.campo, "mensaje": exc.mensaje}]
        return {"error": "datos_invalidos", "mensaje": exc.mensaje, "detalle": detalle}, 422

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

    @app.get("/cifras")
    def cifras_():
        """Report figures (comun.cifras), and every entity's name and report level; `nivel`
        narrows the entities to one level (consulado: tipo consulado or a country other than
        PE)."""
        quien = exigir_rol("entidad", "supervisor", "ciudadano")
        entidades = {
            d["_id"]: {"nombre": d["entidad"]["nombre"], "nivel": nivel_de_reporte(d["entidad"])}
            for d in db.entidades.find(
                {}, {"entidad.nombre": 1, "entidad.tipo": 1, "entidad.nivel": 1, "entidad.pais": 1}
            )
        }
        args = request.args.to_dict()
        if nivel := args.pop("nivel", None):
            del_nivel = [e for e, datos in entidades.items() if datos["nivel"] == nivel]
            pedidas = [e for e in args.get("entidades", "").split(",") if e]
            if pedidas:
                del_nivel = [e for e in del_nivel if e in pedidas]
            if quien.rol == "entidad":
                del_nivel = [e for e in del_nivel if e == quien.entidad]
            if not del_nivel:
                return {"grupos": {}, "entidades": entidades, "seleccion": []}
            args["entidades"] = ",".join(del_nivel)
        seleccion = args.get("entidades")
        # The catalogue goes with the figures, so it is part of their ETag too.
        anexo = {"entidades": entidades, "seleccion": seleccion.split(",") if seleccion else None}
        return cifras.responder(db, args, quien, request.headers.get("If-None-Match"), anexo)

    @app.get("/bandeja")
    def bandeja():
        quien = exigir_rol("entidad", "supervisor")
        filtros = FiltrosBandeja.model_validate(request.args.to_dict())
        filtro = _alcance(quien, filtros.entidad)
        if filtros.unidad:
            if quien.unidad and filtros.unidad != quien.unidad:
                return {"items": [], "siguiente": None}  # a unit key sees only its own unit
            filtro["unidad_id"] = filtros.unidad
        if filtros.estado:
            filtro["estado"] = filtros.estado
        if filtros.motivo:
            filtro["motivo"] = filtros.motivo
        if filtros.vencido is not None:
            filtro["vencido"] = True if filtros.vencido else {"$ne": True}
        # Order, cursor and "vence antes de" are ranges of the one indexed key (dominio).
        rango: dict[str, Any] = {}
        if filtros.cursor:
            rango["$gt"] = decodificar_cursor(filtros.cursor)
        if filtros.vence_antes:
            rango["$gte"] = CORRE
            rango["$lt"] = tope_vencimiento(limite_vencimiento(filtros.vence_antes))
        if rango:
            filtro["urgencia"] = rango
        # One more than the page: whether there is a next page, without counting.
        docs = list(
            db.bandeja.find(filtro, {"historial": 0}).sort("urgencia", 1).limit(filtros.limite + 1)
        )
        pagina = docs[: filtros.limite]
        siguiente = codificar_cursor(pagina[-1]["urgencia"]) if len(docs) > len(pagina) else None
        items = _identidades(quien, [_entrada(d) for d in pagina], filtros.motivo_acceso)
        return {"items": items, "siguiente": siguiente}

    @app.get("/bandeja/<codigo>")
    def ver(codigo: str):
        quien = exigir_rol("entidad", "supervisor")
        detalle = Detalle.model_validate(request.args.to_dict())
        entrada = _entrada(_buscar(quien, codigo))
        return _identidades(quien, [entrada], detalle.motivo_acceso)[0]

    @app.post("/bandeja/<codigo>/atencion")
    def atender(codigo: str):
        quien = exigir_rol("entidad")

        def efecto(doc: dict, s: ClientSession, _: None) -> Efecto:
            datos = ReclamoEnAtencion(entidad_id=doc["entidad_id"], unidad_id=doc["unidad_id"])
            evento = _evento("reclamo.en_atencion", datos, codigo)
            texto = f"En atención por {doc['unidad_nombre']}."
            cambios = {"en_atencion_en": evento.ocurrido_en}
            return cambios, [paso(evento.ocurrido_en, "en_atencion", texto)], [evento], ()

        return _transicion(quien, codigo, "atender", efecto)

    @app.post("/bandeja/<codigo>/respuesta")
    def responder(codigo: str):
        quien = exigir_rol("entidad")

        def efecto(doc: dict, s: ClientSession, respuesta: Respuesta) -> Efecto:
            ahora = reloj.ahora()
            datos = ReclamoRespondido(
                entidad_id=doc["entidad_id"], respuesta=respuesta.texto, respondido_en=ahora
            )
            evento = _evento("reclamo.respondido", datos, codigo, ocurrido_en=ahora)
            cambios = {"respuesta": respuesta.texto, "respondido_en": ahora}
            pasos = [paso(ahora, "respondido", "Respuesta enviada al ciudadano.")]
            return cambios, pasos, [evento], ()

        return _transicion(quien, codigo, "responder", efecto, Respuesta)

    @app.post("/bandeja/<codigo>/reasignacion")
    def reasignar(codigo: str):
        quien = exigir_rol("entidad")

        def efecto(doc: dict, s: ClientSession, pedido: Reasignacion) -> Efecto:
            entidad = _entidad(doc["entidad_id"], s)
            unidad = next((u for u in entidad.unidades if u.id == pedido.unidad_id), None)
            if unidad is None:
                raise CampoInvalido("unidad_id", "No es una unidad de la entidad.")
            if unidad.id == doc["unidad_id"]:
                raise CampoInvalido("unidad_id", "El reclamo ya está en esa unidad.")
            datos = ReclamoReasignado(
                entidad_id=doc["entidad_id"],
                unidad_anterior_id=doc["unidad_id"],
                unidad_id=unidad.id,
                unidad_nombre=unidad.nombre,
                razon=pedido.razon,
            )
            evento = _evento("reclamo.reasignado", datos, codigo)
            cambios = {
                "unidad_id": unidad.id,
                "unidad_nombre": unidad.nombre,
                "reasignado_en": evento.ocurrido_en,
            }
            texto = f"Reasignado de {doc['unidad_nombre']} a {unidad.nombre}: {pedido.razon}"
            return cambios, [paso(evento.ocurrido_en, "derivado", texto)], [evento], ()

        return _transicion(quien, codigo, "reasignar", efecto, Reasignacion)

    @app.post("/bandeja/<codigo>/observacion")
    def observar(codigo: str):
        quien = exigir_rol("entidad")

        def efecto(doc: dict, s: ClientSession, pedido: Observacion) -> Efecto:
            datos = ReclamoObservado(
                entidad_id=doc["entidad_id"],
                unidad_id=doc["unidad_id"],
                observacion=pedido.observacion,
            )
            evento = _evento("reclamo.observado", datos, codigo)
            cambios = {
                "observacion": pedido.observacion,
                "observado_en": evento.ocurrido_en,
                # plazos answers this very observación with its term (plazo.subsanacion_abierta).
                "observacion_id": evento.id,
                "subsanar_hasta": None,
            }
            texto = f"Se pidió al ciudadano subsanar: {pedido.observacion}"
            pasos = [paso(evento.ocurrido_en, "observado", texto)]
            # A previous round's answer and term expiry belong to that round.
            return cambios, pasos, [evento], ("subsanacion", "vencida_pendiente")

        return _transicion(quien, codigo, "observar", efecto, Observacion)

    @app.post("/bandeja/<codigo>/traslado")
    def trasladar(codigo: str):
        quien = exigir_rol("entidad")

        def efecto(doc: dict, s: ClientSession, pedido: Traslado) -> Efecto:
            if pedido.entidad_id == doc["entidad_id"]:
                raise CampoInvalido("entidad_id", "El reclamo ya está en esa entidad.")
            nueva_doc = db.entidades.find_one({"_id": pedido.entidad_id}, session=s)
            if nueva_doc is None:
                raise CampoInvalido("entidad_id", "No es una entidad del catálogo.")
            nueva = Entidad.model_validate(nueva_doc["entidad"])
            unidad = unidad_por_defecto(nueva)
            anterior = db.entidades.find_one({"_id": doc["entidad_id"]}, session=s)
            anterior_nombre = anterior["entidad"]["nombre"] if anterior else doc["entidad_id"]
            trasladado = _evento(
                "reclamo.trasladado",
                ReclamoTrasladado(
                    entidad_anterior_id=doc["entidad_id"],
                    entidad_id=nueva.id,
                    entidad_nombre=nueva.nombre,
                    razon=pedido.razon,
                ),
                codigo,
            )
            momento = trasladado.ocurrido_en
            derivado = _evento(
                "reclamo.derivado",
                ReclamoDerivado(
                    entidad_id=nueva.id,
                    unidad_id=unidad.id,
                    unidad_nombre=unidad.nombre,
                    por_regla=False,
                    motivo=doc["motivo"],
                ),
                codigo,
                # Strictly after the traslado even at the store's millisecond precision: the
                # latest derivado is the current unit.
                ocurrido_en=momento + timedelta(milliseconds=1),
            )
            cambios = {
                "entidad_id": nueva.id,
                "unidad_id": unidad.id,
                "unidad_nombre": unidad.nombre,
                "trasladado_en": momento,
                "derivado_en": derivado.ocurrido_en,
            }
            pasos = [
                paso(
                    momento,
                    "trasladado",
                    f"Trasladado de {anterior_nombre} a {nueva.nombre}: {pedido.razon}",
                ),
                paso(
                    derivado.ocurrido_en,
                    "derivado",
                    f"Derivado a {unidad.nombre} de {nueva.nombre} (unidad por defecto).",
                ),
            ]
            return cambios, pasos, [trasladado, derivado], ()

        return _transicion(quien, codigo, "trasladar", efecto, Traslado)

    # --- helpers --------------------------------------------------------------------------------

    def _identidades(quien: Identidad, entradas: list[dict], motivo: str | None) -> list[dict]:
        """The entity sees whom it answers; a supervisor sees masked identities, or, giving a
        reason, the real ones once the access is recorded."""
        if quien.rol != "supervisor":
            return entradas
        if motivo is None:
            return [{**e, "contacto": enmascarar_contacto(e["contacto"])} for e in entradas]
        dependencias.anotar_acceso(
            db,
            {
                "rol": quien.rol,
                # Which key: the gateway's name for it, when it forwards one.
                "credencial": id_seguro(request.headers.get("X-Credencial")),
                "solicitud": id_seguro(request.headers.get("X-Request-Id")),
            },
            [e["codigo"] for e in entradas],
            motivo,
            request.url_rule.rule if request.url_rule else request.path,
        )
        return entradas

    def _alcance(quien: Identidad, entidad_pedida: str | None) -> dict:
        if quien.rol == "entidad":
            filtro = {"entidad_id": quien.entidad}
            if quien.unidad:
                filtro["unidad_id"] = quien.unidad
            return filtro
        return {"entidad_id": entidad_pedida} if entidad_pedida else {"entidad_id": {"$exists": 1}}

    def _buscar(quien: Identidad, codigo: str, sesion: ClientSession | None = None) -> dict:
        doc = db.bandeja.find_one({"_id": codigo, **_alcance(quien, None)}, session=sesion)
        if doc is None or "estado" not in doc:
            # The same answer whether it does not exist or belongs to another entity.
            raise ErrorDeDominio(
                404, "no_encontrado", "No hay un reclamo con ese código en su bandeja."
            )
        return doc

    def _entidad(entidad_id: str, sesion: ClientSession) -> Entidad:
        doc = db.entidades.find_one({"_id": entidad_id}, session=sesion)
        if doc is None:
            raise ErrorDeDominio(409, "sin_catalogo", "La entidad no está en el catálogo.")
        return Entidad.model_validate(doc["entidad"])

    def _evento(tipo: str, datos, codigo: str, **extra) -> Evento:
        return evento_de_la_solicitud(tipo, datos, SERVICIO, codigo=codigo, **extra)

    def _transicion(
        quien: Identidad,
        codigo: str,
        accion: str,
        efecto: Callable[[dict, ClientSession, Any], Efecto],
        modelo: type[BaseModel] | None = None,
    ):
        # The key first: a retry after a traslado or a reasignación must get its first answer,
        # although the caller no longer sees the reclamo.
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        pedido = cuerpo(modelo) if modelo else None

        def aplicar(s: ClientSession):
            doc = _buscar(quien, codigo, s)  # read again inside: concurrent writes conflict
            actual = estado_de(doc)
            if not puede(actual, accion):
                raise ErrorDeDominio(409, "transicion_invalida", rechazo(actual, accion))
            cambios, pasos, eventos, quitar = efecto(doc, s, pedido)
            cambios = {"estado": resultado(actual, accion), **cambios}
            nuevo = escribir(
                db, doc, codigo, cambios, s, pasos=pasos, filtro={"estado": actual}, quitar=quitar
            )
            if nuevo is None:
                raise ErrorDeDominio(
                    409, "conflicto", "El reclamo cambió mientras tanto; reintente."
                )
            respuesta = _entrada(nuevo)
            if reintento:
                reintento.guardar(s, respuesta, 200)
            encolar(db, eventos, s)
            return respuesta

        try:
            return en_transaccion(db, aplicar)
        except idempotencia.YaRegistrada:
            return reintento.previa()  # type: ignore[union-attr]

    return app


def _entrada(doc: dict) -> dict:
    datos = {**doc, "codigo": doc["_id"]}
    if "historial" in doc:  # in the order things happened, whatever order the events came in
        datos["historial"] = sorted(doc["historial"], key=lambda p: p["fecha"])
    return EntradaBandeja.model_validate(datos).model_dump(mode="json")
