"""registro's HTTP entrypoints: file a reclamo (hoja de reclamación), follow it (seguimiento),
and what the citizen may do on it with código + document (subsanación, desistimiento)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote

from flask import Flask, Response, g, request
from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from comun import idempotencia, reloj
from comun.almacen import en_transaccion
from comun.errores import ErrorDeDominio, errores_legibles
from comun.eventos import (
    ArchivoAdjunto,
    ArchivoGuardado,
    Contacto,
    Evento,
    ReclamoAdjuntado,
    ReclamoDesistido,
    ReclamoSubsanado,
)
from comun.eventos import ReclamoRegistrado as DatosRegistrado
from comun.outbox import encolar
from comun.servicio import arrancar
from comun.tiempo import en_lima
from comun.web import Identidad, cuerpo, evento_de_la_solicitud, exigir_rol, identidad
from servicios.registro import adjuntos, dependencias
from servicios.registro.ajustes import AjustesRegistro
from servicios.registro.dominio import (
    NO_DESISTIBLES as NO_ADJUNTABLES,
)
from servicios.registro.dominio import (
    TERMINALES,
    nuevo_codigo,
    puede_adjuntar,
    puede_desistir,
    puede_subsanar,
)
from servicios.registro.manejadores import SERVICIO
from servicios.registro.schemas import (
    Canal,
    ConsultaSeguimiento,
    DescargaCiudadano,
    Desistimiento,
    HojaReclamacion,
    ReclamoRegistrado,
    Subsanacion,
    Tramite,
)

NO_ENCONTRADO = "No encontramos un reclamo con ese código y documento."
ADJUNTO_NO_ENCONTRADO = "No encontramos ese archivo."
# What reclamo.adjuntado says of a file (its schema forbids anything else, such as `origen`).
CAMPOS_DEL_EVENTO = ("id", "nombre", "tipo_mime", "bytes", "sha256")


def crear_app() -> Flask:
    ctx = arrancar(SERVICIO, AjustesRegistro, preparar=dependencias.preparar)
    db = ctx.db
    url_portal = ctx.ajustes.url_portal.rstrip("/")
    app = ctx.app_web()

    @app.errorhandler(adjuntos.ErrorDeAdjunto)
    def _adjunto_rechazado(exc: adjuntos.ErrorDeAdjunto):
        return {"error": exc.error, "mensaje": exc.mensaje, "detalle": exc.detalle}, exc.estado

    @app.post("/reclamos")
    def registrar():
        hoja: HojaReclamacion = cuerpo(HojaReclamacion)
        return _registrar(hoja, idempotencia.de_la_solicitud(db), [])

    @app.post("/reclamos/con-adjuntos")
    def registrar_con_adjuntos():
        """Multipart: `hoja` (the hoja's JSON text) and the files in `archivos`."""
        texto = request.form.get("hoja")
        if texto is None:
            return _invalido("hoja", "Falta la hoja de reclamación (campo hoja, JSON).")
        try:
            hoja = HojaReclamacion.model_validate_json(texto)
        except ValidationError as exc:
            detalle = [
                {**e, "campo": ".".join(p for p in ("hoja", e["campo"]) if p)}
                for e in errores_legibles(exc)
            ]
            return {
                "error": "datos_invalidos",
                "mensaje": "Hay datos inválidos.",
                "detalle": detalle,
            }, 422
        if hoja.adjuntos:
            return _invalido(
                "hoja.adjuntos",
                "En esta ruta los adjuntos son los archivos enviados: deje la lista vacía.",
            )
        archivos = adjuntos.revisar(_recibidos())
        reintento = _reintento_multipart(texto, archivos)
        return _registrar(hoja, reintento, archivos)

    def _recibidos() -> list[tuple[str | None, bytes]]:
        return [(f.filename, f.read()) for f in request.files.getlist("archivos")]

    def _reintento_multipart(
        texto: str, archivos: list[adjuntos.Archivo], *otros: str
    ) -> idempotencia.Solicitud | None:
        """comun.idempotencia for a multipart body: its fingerprint is the form's text and the
        files' names and SHA-256, not a JSON body."""
        clave = request.headers.get(idempotencia.CABECERA)
        if clave is None:
            return None
        if not idempotencia.FORMATO.match(clave):
            raise ErrorDeDominio(
                400,
                "idempotencia_invalida",
                f"La cabecera {idempotencia.CABECERA} debe tener de 1 a 200 caracteres "
                "visibles, sin espacios.",
            )
        quien = g.identidad
        alcance = f"{quien.rol}|{quien.entidad or ''}|{quien.unidad or ''}|{request.path}|{clave}"
        contenido = json.dumps(
            [texto, *otros, [(a.nombre, a.sha256) for a in archivos]], ensure_ascii=False
        )
        return idempotencia.Solicitud(
            db,
            hashlib.sha256(alcance.encode()).hexdigest(),
            hashlib.sha256(contenido.encode()).hexdigest(),
        )

    def _registrar(
        hoja: HojaReclamacion,
        reintento: idempotencia.Solicitud | None,
        archivos: list[adjuntos.Archivo],
    ):
        quien = identidad()
        # Presencial: staff of the entity types in the hoja, and only for their own entity.
        if hoja.canal == Canal.presencial and (
            quien.rol != "entidad" or quien.entidad != hoja.entidad_id
        ):
            raise ErrorDeDominio(403, "prohibido", "El canal presencial es solo para la entidad.")
        # The key is not looked up first: its insert in the filing's transaction is the check,
        # and a retry (rare) is answered from there (issue 10: a read per filing is not rare).
        entidad = db.entidades.find_one({"_id": hoja.entidad_id}, {"nombre": 1})
        if entidad is None:
            return _invalido("entidad_id", "Entidad desconocida.")
        ahora = reloj.ahora()
        # The files' chunks first (GridFS cannot join a transaction), confirmed with the reclamo.
        ids = adjuntos.subir(db, archivos)
        try:
            for _ in range(3):  # a clash of 58-bit random códigos is improbable, not impossible
                codigo = nuevo_codigo()
                respuesta = ReclamoRegistrado(
                    codigo=codigo,
                    registrado_en=ahora,
                    mensaje=(
                        f"Su reclamo ante {entidad['nombre']} fue registrado con el código "
                        f"{codigo}. Consérvelo: con él y su número de documento puede seguir su "
                        "atención."
                    ),
                ).model_dump(mode="json")
                if archivos:
                    respuesta["adjuntos"] = adjuntos.descritos(ids, archivos)
                try:
                    _guardar(hoja, codigo, ahora, respuesta, reintento, ids, archivos)
                    break
                except DuplicateKeyError:
                    continue
                except idempotencia.YaRegistrada:
                    # The same key was used before (or by a concurrent retry): its response.
                    adjuntos.descartar(db, ids)
                    return reintento.previa()  # type: ignore[union-attr]
            else:
                raise RuntimeError("no se pudo generar un código único")
        except BaseException:
            adjuntos.descartar(db, ids)  # nothing half-stored
            raise
        return respuesta, 201

    def _guardar(
        hoja: HojaReclamacion,
        codigo: str,
        ahora: datetime,
        respuesta: dict,
        reintento: idempotencia.Solicitud | None,
        ids: list,
        archivos: list[adjuntos.Archivo],
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
            guardados = adjuntos.confirmar(db, s, codigo, ids, archivos) if ids else []
            db.reclamos.insert_one(
                {
                    "_id": codigo,
                    "hoja": hoja.model_dump(mode="json"),
                    "entidad_id": hoja.entidad_id,
                    "registrado_en": ahora,
                    "estado": "registrado",
                    "estado_en": ahora,
                    "adjuntos": [{**a, "subido_en": ahora} for a in guardados],
                },
                session=s,
            )
            texto = "Reclamo registrado en el Libro de Reclamaciones Digital."
            if guardados:
                texto += " " + _texto_adjuntos(guardados)
            dependencias.entrada(db, s, evento.id, codigo, ahora, texto, "registrado", guardados)
            encolar(db, [evento], s)

        en_transaccion(db, escribir)

    def _del_ciudadano(codigo: str, numero_documento: str) -> dict:
        """The reclamo, only for whoever gives its código and the document it was filed with."""
        doc = db.reclamos.find_one({"_id": codigo})
        documento = (doc or {}).get("hoja", {}).get("ciudadano", {}).get("documento", {})
        if doc is None or not hmac.compare_digest(
            str(documento.get("numero", "")).encode(), numero_documento.encode()
        ):
            # The same answer for a wrong código and a wrong document: a código reveals nothing.
            raise ErrorDeDominio(404, "no_encontrado", NO_ENCONTRADO)
        return doc

    @app.post("/seguimiento")
    def seguimiento():
        consulta: ConsultaSeguimiento = cuerpo(ConsultaSeguimiento)
        doc = _del_ciudadano(consulta.codigo, consulta.numero_documento)
        entidad = db.entidades.find_one({"_id": doc["entidad_id"]}, {"nombre": 1}) or {}
        historial = db.seguimiento.find({"codigo": doc["_id"]}).sort([("fecha", 1), ("_id", 1)])
        observado = doc["estado"] == "observado"
        plazo = _plazo_de_subsanacion(doc) if observado else None
        return {
            "codigo": doc["_id"],
            "entidad": {
                "id": doc["entidad_id"],
                # The catalogue copy, else the name the traslado brought.
                "nombre": entidad.get("nombre") or doc.get("entidad_nombre"),
            },
            "motivo": doc["hoja"]["motivo"],
            "estado": doc["estado"],
            "registrado_en": doc["registrado_en"].isoformat(),
            "fecha_recepcion": doc.get("fecha_recepcion"),
            "vence_en": _iso(doc.get("vence_en")),
            "vencido": bool(doc.get("vencido")),
            "dias_habiles_usados": doc.get("dias_habiles_usados"),
            "dentro_del_plazo": doc.get("dentro_del_plazo"),
            "observacion": doc.get("observacion", {}).get("texto") if observado else None,
            "subsanar_hasta": _iso(plazo["hasta"]) if plazo else None,
            "reloj_pausado": bool(plazo and plazo["reloj_pausado"]),
            "encuesta": _enlace_encuesta(doc),
            "adjuntos": [_vista_adjunto(a) for a in doc.get("adjuntos", [])],
            "historial": [
                {
                    "fecha": h["fecha"].isoformat(),
                    "estado": h["estado"],
                    "texto": h["texto"],
                    "adjuntos": [_vista_adjunto(a) for a in h.get("adjuntos", [])],
                }
                for h in historial
            ],
        }

    def _enlace_encuesta(doc: dict) -> str | None:
        """The survey link while it can be answered: after the answer, not once the reclamo is
        closed or the survey expired."""
        encuesta = doc.get("encuesta")
        if not encuesta or doc["estado"] != "respondido":
            return None
        if encuesta.get("vence_en") and reloj.ahora() >= encuesta["vence_en"]:
            return None
        return f"{url_portal}/api/v1/encuestas/{encuesta['token']}"

    @app.post("/reclamos/<codigo>/subsanacion")
    def subsanar(codigo: str):
        solicitud: Subsanacion = cuerpo(Subsanacion)
        doc = _del_ciudadano(codigo, solicitud.numero_documento)
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        estado = doc["estado"]
        if not puede_subsanar(estado):
            raise ErrorDeDominio(
                409,
                "transicion_invalida",
                f"Un reclamo en estado {estado} no puede subsanarse: solo se subsana un reclamo "
                "observado por la entidad.",
            )
        ahora = reloj.ahora()
        plazo = _plazo_de_subsanacion(doc)
        # Not yet known (plazos' answer still on its way): the observación is hours old at most,
        # well within the business days the citizen has.
        if plazo and ahora > plazo["hasta"]:
            raise ErrorDeDominio(
                409,
                "plazo_vencido",
                f"El plazo para subsanar venció el {en_lima(plazo['hasta'])}.",
            )
        datos = ReclamoSubsanado(
            entidad_id=doc["entidad_id"],
            texto=solicitud.texto,
            adjuntos=[
                ArchivoAdjunto(nombre=a.nombre, tipo_mime=a.tipo_mime, bytes=a.tamano_bytes)
                for a in solicitud.adjuntos
            ],
        )
        evento = evento_de_la_solicitud(
            "reclamo.subsanado", datos, SERVICIO, codigo=doc["_id"], ocurrido_en=ahora
        )
        texto = "Usted envió la información que pidió la entidad (subsanación)"
        if n := len(solicitud.adjuntos):
            texto += f", con {n} archivo{'s' if n > 1 else ''} adjunto{'s' if n > 1 else ''}"
        respuesta = Tramite(
            codigo=doc["_id"],
            estado="subsanado",
            mensaje="Recibimos la información que envió; la entidad continuará con la atención "
            "de su reclamo.",
        )
        return _cambiar(doc, evento, texto + ".", respuesta, reintento)

    @app.post("/reclamos/<codigo>/desistimiento")
    def desistir(codigo: str):
        solicitud: Desistimiento = cuerpo(Desistimiento)
        doc = _del_ciudadano(codigo, solicitud.numero_documento)
        reintento = idempotencia.de_la_solicitud(db)
        if reintento and (previa := reintento.previa()):
            return previa
        estado = doc["estado"]
        if not puede_desistir(estado):
            raise ErrorDeDominio(
                409,
                "transicion_invalida",
                f"Un reclamo en estado {estado} no puede desistirse: solo se desiste antes de "
                "la respuesta de la entidad.",
            )
        datos = ReclamoDesistido(entidad_id=doc["entidad_id"], razon=solicitud.razon)
        evento = evento_de_la_solicitud(
            "reclamo.desistido", datos, SERVICIO, codigo=doc["_id"], ocurrido_en=reloj.ahora()
        )
        texto = "Usted desistió de su reclamo; la entidad ya no lo atenderá."
        if solicitud.razon:
            texto += f" Motivo: {solicitud.razon}"
        respuesta = Tramite(
            codigo=doc["_id"],
            estado="desistido",
            mensaje="Registramos su desistimiento: su reclamo terminó y la entidad ya no lo "
            "atenderá.",
        )
        return _cambiar(doc, evento, texto, respuesta, reintento)

    def _cambiar(
        doc: dict,
        evento: Evento,
        texto: str,
        respuesta: Tramite,
        reintento: idempotencia.Solicitud | None,
    ):
        """The state change, its timeline entry and the event, in one transaction."""
        cuerpo_respuesta = respuesta.model_dump(mode="json")

        def escribir(s):
            if reintento:  # first: a concurrent retry of this very request finds the key taken
                reintento.guardar(s, cuerpo_respuesta, 200)
            # The state read is in the filter: of two requests at once, only one changes it.
            hecho = db.reclamos.update_one(
                {"_id": doc["_id"], "estado": doc["estado"]},
                {"$set": {"estado": respuesta.estado, "estado_en": evento.ocurrido_en}},
                session=s,
            )
            if hecho.modified_count != 1:
                raise ErrorDeDominio(
                    409,
                    "conflicto",
                    "Su reclamo cambió mientras tanto; consulte su seguimiento e intente "
                    "nuevamente.",
                )
            dependencias.entrada(
                db, s, evento.id, doc["_id"], evento.ocurrido_en, texto, respuesta.estado
            )
            encolar(db, [evento], s)

        try:
            en_transaccion(db, escribir)
        except idempotencia.YaRegistrada:
            return reintento.previa()  # type: ignore[union-attr]
        return cuerpo_respuesta

    @app.post("/reclamos/<codigo>/adjuntos")
    def adjuntar(codigo: str):
        """Multipart: `numero_documento` and the files in `archivos`, while not answered."""
        try:
            solicitud = DescargaCiudadano.model_validate(
                {"numero_documento": request.form.get("numero_documento", "")}
            )
        except ValidationError as exc:
            return {
                "error": "datos_invalidos",
                "mensaje": "Hay datos inválidos.",
                "detalle": errores_legibles(exc),
            }, 422
        doc = _del_ciudadano(codigo, solicitud.numero_documento)
        archivos = adjuntos.revisar(_recibidos())
        reintento = _reintento_multipart(solicitud.numero_documento, archivos)
        if reintento and (previa := reintento.previa()):
            return previa  # before the limits: the files it added count now
        _caben(doc, archivos)
        if not puede_adjuntar(doc["estado"]):
            raise ErrorDeDominio(
                409,
                "transicion_invalida",
                f"Un reclamo en estado {doc['estado']} ya no admite archivos: se adjuntan "
                "antes de la respuesta de la entidad.",
            )
        return _guardar_adjuntos(
            doc,
            archivos,
            reintento,
            origen="ciudadano",
            no_admiten=NO_ADJUNTABLES,
            entrada="Usted adjuntó archivos a su reclamo. ",
            mensaje="Recibimos sus archivos; la entidad podrá verlos con su reclamo.",
            conflicto="Su reclamo cambió mientras tanto; consulte su seguimiento e intente "
            "nuevamente.",
        )

    @app.post("/entidad/reclamos/<codigo>/adjuntos")
    def adjuntar_entidad(codigo: str):
        """Multipart: the files of the entity's answer in `archivos`, by the entity (and unit)
        that has the reclamo now, until the reclamo ends (also once answered)."""
        quien = exigir_rol("entidad")
        doc = _de_la_entidad(codigo, quien)
        archivos = adjuntos.revisar(_recibidos())
        reintento = _reintento_multipart(codigo, archivos)
        if reintento and (previa := reintento.previa()):
            return previa  # before the limits: the files it added count now
        # One budget per reclamo, whoever attached: what the citizen can download stays bounded.
        _caben(doc, archivos)
        if doc["estado"] in TERMINALES:
            raise ErrorDeDominio(
                409,
                "transicion_invalida",
                f"Un reclamo en estado {doc['estado']} ya no admite archivos: su trámite terminó.",
            )
        return _guardar_adjuntos(
            doc,
            archivos,
            reintento,
            origen="entidad",
            no_admiten=TERMINALES,
            # A traslado or reasignación meanwhile takes the reclamo out of this entity's hands.
            filtro={"acceso": doc.get("acceso")},
            entrada="La entidad adjuntó archivos a su respuesta: ",
            mensaje="Archivos guardados: el ciudadano los verá y podrá descargarlos en su "
            "seguimiento.",
            conflicto="El reclamo cambió mientras tanto; consúltelo e intente nuevamente.",
        )

    def _caben(doc: dict, archivos: list[adjuntos.Archivo]) -> None:
        """The reclamo's one budget of files, whoever attaches them."""
        previos = doc.get("adjuntos", [])
        adjuntos.cabe(
            len(archivos),
            sum(a.bytes for a in archivos),
            len(previos),
            sum(a["bytes"] for a in previos),
        )

    def _guardar_adjuntos(
        doc: dict,
        archivos: list[adjuntos.Archivo],
        reintento: idempotencia.Solicitud | None,
        *,
        origen: str,
        no_admiten: Iterable[str],
        entrada: str,
        mensaje: str,
        conflicto: str,
        filtro: dict | None = None,
    ):
        """Stores `archivos` on `doc` in one transaction: the files, the reclamo's list, the
        timeline entry (`entrada` + the files) and `reclamo.adjuntado`, which the entity that has
        the reclamo hears of through its webhooks; a retry with the same key emits nothing. What
        was read is in the filter (the state, the count, and `filtro`): two uploads at once
        cannot pass 10 files together. Nothing is left half-stored."""
        previos = doc.get("adjuntos", [])
        ahora = reloj.ahora()
        ids = adjuntos.subir(db, archivos)
        descritos = adjuntos.descritos(ids, archivos, origen=origen)
        respuesta = {"codigo": doc["_id"], "adjuntos": descritos, "mensaje": mensaje}

        def escribir(s):
            if reintento:
                reintento.guardar(s, respuesta, 201)
            guardados = adjuntos.confirmar(db, s, doc["_id"], ids, archivos, origen=origen)
            hecho = db.reclamos.update_one(
                {
                    "_id": doc["_id"],
                    "estado": {"$nin": sorted(no_admiten)},
                    **(filtro or {}),
                    **(
                        {"adjuntos": {"$size": len(previos)}}
                        if previos
                        else {"adjuntos.0": {"$exists": False}}  # none yet (no $or: a scan)
                    ),
                },
                {"$push": {"adjuntos": {"$each": [{**a, "subido_en": ahora} for a in guardados]}}},
                session=s,
            )
            if hecho.modified_count != 1:
                raise ErrorDeDominio(409, "conflicto", conflicto)
            texto = entrada + _texto_adjuntos(guardados)
            dependencias.entrada(db, s, evento.id, doc["_id"], ahora, texto, None, guardados)
            encolar(db, [evento], s)

        try:
            datos = ReclamoAdjuntado(
                entidad_id=doc["entidad_id"],
                adjuntos=[
                    ArchivoGuardado.model_validate({k: a[k] for k in CAMPOS_DEL_EVENTO})
                    for a in descritos
                ],
            )
            evento = evento_de_la_solicitud(
                "reclamo.adjuntado", datos, SERVICIO, codigo=doc["_id"], ocurrido_en=ahora
            )
            en_transaccion(db, escribir)
        except idempotencia.YaRegistrada:
            adjuntos.descartar(db, ids)
            return reintento.previa()  # type: ignore[union-attr]
        except BaseException:
            adjuntos.descartar(db, ids)  # nothing half-stored
            raise
        return respuesta, 201

    def _de_la_entidad(codigo: str, quien: Identidad) -> dict:
        """The reclamo, only for the entity (and unit, for a unit credential) that has it now (a
        traslado moves it); anyone else learns nothing, not even that it exists."""
        doc = db.reclamos.find_one({"_id": codigo})
        acceso = (doc or {}).get("acceso") or {"entidad_id": (doc or {}).get("entidad_id")}
        if (
            doc is None
            or acceso.get("entidad_id") != quien.entidad
            or (quien.unidad and acceso.get("unidad_id") != quien.unidad)
        ):
            raise ErrorDeDominio(404, "no_encontrado", ADJUNTO_NO_ENCONTRADO)
        return doc

    @app.post("/reclamos/<codigo>/adjuntos/<adjunto_id>")
    def descargar_ciudadano(codigo: str, adjunto_id: str):
        solicitud: DescargaCiudadano = cuerpo(DescargaCiudadano)
        doc = _del_ciudadano(codigo, solicitud.numero_documento)
        return _archivo(doc, adjunto_id)

    @app.get("/entidad/reclamos/<codigo>/adjuntos/<adjunto_id>")
    def descargar_entidad(codigo: str, adjunto_id: str):
        doc = _de_la_entidad(codigo, exigir_rol("entidad"))
        return _archivo(doc, adjunto_id)

    def _archivo(doc: dict, adjunto_id: str) -> Response:
        meta = next((a for a in doc.get("adjuntos", []) if a["id"] == adjunto_id), None)
        trozos = adjuntos.leer(db, adjunto_id) if meta else None
        if trozos is None:
            raise ErrorDeDominio(404, "no_encontrado", ADJUNTO_NO_ENCONTRADO)
        nombre = quote(meta["nombre"], safe="")
        return Response(
            trozos,
            mimetype="application/octet-stream",
            headers={
                "Content-Length": str(meta["bytes"]),
                "Content-Disposition": f"attachment; filename*=UTF-8''{nombre}",
                "X-Contenido-SHA256": meta["sha256"],
                "X-Tipo-Contenido": meta["tipo_mime"],
            },
        )

    @app.get("/entidades")
    def entidades():
        """The entities a reclamo can be filed against (the local copy of the catalogue)."""
        return [{"id": d["_id"], "nombre": d["nombre"]} for d in db.entidades.find().sort("_id")]

    return app


def _invalido(campo: str, mensaje: str):
    return {
        "error": "datos_invalidos",
        "mensaje": "Hay datos inválidos.",
        "detalle": [{"campo": campo, "mensaje": mensaje}],
    }, 422


def _texto_adjuntos(guardados: list[dict]) -> str:
    """The timeline's words for the files, each with its SHA-256 (to verify a download)."""
    n = len(guardados)
    lista = "; ".join(f"{a['nombre']} (SHA-256 {a['sha256']})" for a in guardados)
    return f"{n} archivo{'s' if n > 1 else ''} adjunto{'s' if n > 1 else ''}: {lista}."


def _vista_adjunto(a: dict) -> dict:
    # Files stored before `origen` existed were all the citizen's.
    return {**{k: a[k] for k in CAMPOS_DEL_EVENTO}, "origen": a.get("origen", "ciudadano")}


def _plazo_de_subsanacion(doc: dict) -> dict | None:
    """The deadline plazos gave for the pending observación (None until it arrives)."""
    plazo, observacion = doc.get("subsanacion"), doc.get("observacion")
    if plazo and observacion and plazo["observacion_id"] == observacion["id"]:
        return plazo
    return None


def _iso(momento: datetime | None) -> str | None:
    return momento.isoformat() if momento else None
