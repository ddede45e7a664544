"""registro's HTTP entrypoints: file a reclamo (hoja de reclamación) and follow it (seguimiento)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from flask import Flask
from pymongo.errors import DuplicateKeyError

from comun import idempotencia
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio
from comun.eventos import Contacto
from comun.eventos import ReclamoRegistrado as DatosRegistrado
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.web import cuerpo, evento_de_la_solicitud, identidad
from servicios.registro import dependencias
from servicios.registro.dominio import nuevo_codigo
from servicios.registro.manejadores import SERVICIO
from servicios.registro.schemas import (
    Canal,
    ConsultaSeguimiento,
    HojaReclamacion,
    ReclamoRegistrado,
)


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, preparar=dependencias.preparar)
    db = ctx.db
    app = ctx.app_web()

    @app.post("/reclamos")
    def registrar():
        hoja: HojaReclamacion = cuerpo(HojaReclamacion)
        quien = identidad()
        # Presencial: staff of the entity types in the hoja, and only for their own entity.
        if hoja.canal == Canal.presencial and (
            quien.rol != "entidad" or quien.entidad != hoja.entidad_id
        ):
            raise ErrorDeDominio(403, "prohibido", "El canal presencial es solo para la entidad.")
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        entidad = db.entidades.find_one({"_id": hoja.entidad_id}, {"nombre": 1})
        if entidad is None:
            return {
                "error": "datos_invalidos",
                "mensaje": "Hay datos inválidos.",
                "detalle": [{"campo": "entidad_id", "mensaje": "Entidad desconocida."}],
            }, 422
        ahora = datetime.now(UTC)
        for _ in range(3):  # a clash of 58-bit random códigos is improbable, not impossible
            codigo = nuevo_codigo()
            respuesta = ReclamoRegistrado(
                codigo=codigo,
                registrado_en=ahora,
                mensaje=(
                    f"Su reclamo ante {entidad['nombre']} fue registrado con el código {codigo}. "
                    "Consérvelo: con él y su número de documento puede seguir su atención."
                ),
            ).model_dump(mode="json")
            try:
                _guardar(hoja, codigo, ahora, respuesta, reintento)
                break
            except DuplicateKeyError:
                continue
            except idempotencia.YaRegistrada:
                # The same request, retried while the first was still being written.
                return reintento.previa()  # type: ignore[union-attr]
        else:
            raise RuntimeError("no se pudo generar un código único")
        return respuesta, 201

    def _guardar(
        hoja: HojaReclamacion,
        codigo: str,
        ahora: datetime,
        respuesta: dict,
        reintento: idempotencia.Solicitud | None,
    ) -> None:
        c = hoja.ciudadano
        datos = DatosRegistrado(
            entidad_id=hoja.entidad_id,
            canal=hoja.canal,
            motivo=hoja.motivo,
            sede=hoja.sede,
            ocurrido_en=hoja.ocurrido_en,
            registrado_en=ahora,
            descripcion=hoja.descripcion,
            pedido=hoja.pedido,
            medio_respuesta=hoja.medio_respuesta,
            contacto=Contacto(
                tipo_documento=c.documento.tipo,
                numero_documento=c.documento.numero,
                nombres=c.nombres,
                apellidos=c.apellidos,
                email=c.email,
                telefono=c.telefono,
            ),
        )
        evento = evento_de_la_solicitud(
            "reclamo.registrado", datos, SERVICIO, codigo=codigo, ocurrido_en=ahora
        )

        def escribir(s):
            if reintento:  # first: a concurrent retry of this very request finds the key taken
                reintento.guardar(s, respuesta, 201)
            db.reclamos.insert_one(
                {
                    "_id": codigo,
                    "hoja": hoja.model_dump(mode="json"),
                    "entidad_id": hoja.entidad_id,
                    "registrado_en": ahora,
                    "estado": "registrado",
                    "estado_en": ahora,
                },
                session=s,
            )
            dependencias.anotar(
                db,
                s,
                evento.id,
                codigo,
                ahora,
                "Reclamo registrado en el Libro de Reclamaciones Digital.",
                "registrado",
            )
            encolar(db, [evento], s)

        en_transaccion(db, escribir)

    @app.post("/seguimiento")
    def seguimiento():
        consulta: ConsultaSeguimiento = cuerpo(ConsultaSeguimiento)
        doc = db.reclamos.find_one({"_id": consulta.codigo})
        documento = (doc or {}).get("hoja", {}).get("ciudadano", {}).get("documento", {})
        if doc is None or not hmac.compare_digest(
            str(documento.get("numero", "")).encode(), consulta.numero_documento.encode()
        ):
            # The same answer for a wrong código and a wrong document: a código reveals nothing.
            raise ErrorDeDominio(
                404, "no_encontrado", "No encontramos un reclamo con ese código y documento."
            )
        entidad = db.entidades.find_one({"_id": doc["entidad_id"]}, {"nombre": 1}) or {}
        historial = db.seguimiento.find({"codigo": doc["_id"]}).sort([("fecha", 1), ("_id", 1)])
        return {
            "codigo": doc["_id"],
            "entidad": {"id": doc["entidad_id"], "nombre": entidad.get("nombre")},
            "motivo": doc["hoja"]["motivo"],
            "estado": doc["estado"],
            "registrado_en": doc["registrado_en"].isoformat(),
            "fecha_recepcion": doc.get("fecha_recepcion"),
            "vence_en": doc["vence_en"].isoformat() if doc.get("vence_en") else None,
            "dias_habiles_usados": doc.get("dias_habiles_usados"),
            "dentro_del_plazo": doc.get("dentro_del_plazo"),
            "historial": [
                {"fecha": h["fecha"].isoformat(), "estado": h["estado"], "texto": h["texto"]}
                for h in historial
            ],
        }

    @app.get("/entidades")
    def entidades():
        """The entities a reclamo can be filed against (the local copy of the catalogue)."""
        return [{"id": d["_id"], "nombre": d["nombre"]} for d in db.entidades.find().sort("_id")]

    return app
