"""plazos' integration-event handlers. Each records its fact on the reclamo's clock and lets
`expedientes.sincronizar` recompute the rest, so events may arrive in any order (and the
Despachador applies each id once): the clock follows from the set of facts, not from arrival.
"""

from __future__ import annotations

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    EntidadActualizada,
    Evento,
    ReclamoArchivado,
    ReclamoDerivado,
    ReclamoDesistido,
    ReclamoObservado,
    ReclamoReasignado,
    ReclamoRegistrado,
    ReclamoRespondido,
    ReclamoSubsanado,
    ReclamoTrasladado,
    SubsanacionAbierta,
)
from comun.tiempo import al_milisegundo
from servicios.plazos import dependencias
from servicios.plazos.cifras import con_cifras
from servicios.plazos.dominio import PoliticaPlazos, subsanar_hasta
from servicios.plazos.expedientes import SERVICIO, escribir, leer, sincronizar

__all__ = ["SERVICIO", "manejadores"]


def manejadores(db: Database, politica: PoliticaPlazos) -> dict[str, Manejador]:
    def registrar(codigo: str, entidad_id: str, cambio: dict, s: ClientSession) -> None:
        # The first event of a reclamo to arrive creates its document, whichever it is.
        escribir(db, codigo, s, {**cambio, "$setOnInsert": {"entidad_id": entidad_id}}, True)

    def al_registrarse(evento: Evento, datos: ReclamoRegistrado, s: ClientSession) -> list[Evento]:
        cambio = {
            "registrado_en": datos.registrado_en,
            "entidad_registro": datos.entidad_id,
            # The term of the policy in force at registration stays with the reclamo.
            "dias_habiles": politica.dias_habiles,
        }
        registrar(evento.codigo, datos.entidad_id, {"$set": cambio}, s)
        return sincronizar(db, evento.codigo, s, politica, origen=evento)

    def al_responderse(evento: Evento, datos: ReclamoRespondido, s: ClientSession) -> list[Evento]:
        cambio = {"$set": {"respondido_en": datos.respondido_en}}
        registrar(evento.codigo, datos.entidad_id, cambio, s)
        return sincronizar(db, evento.codigo, s, politica, origen=evento)

    def al_observarse(evento: Evento, datos: ReclamoObservado, s: ClientSession) -> list[Evento]:
        cal = dependencias.calendario(db, s)
        # Fixed when observed: it is the date the citizen is told.
        hasta = subsanar_hasta(evento.ocurrido_en, cal, politica)
        observacion = {
            "id": evento.id,
            "en": evento.ocurrido_en,
            "pausa": politica.pausa_en_subsanacion,
            "subsanar_hasta": hasta,
        }
        registrar(evento.codigo, datos.entidad_id, {"$push": {"observaciones": observacion}}, s)
        # razon subsanacion: if the subsanado came first, this closes a pause at once.
        eventos = sincronizar(
            db, evento.codigo, s, politica, razon="subsanacion", origen=evento, calendario=cal
        )
        doc = leer(db, evento.codigo, s) or {}
        if doc.get("estado") in ("detenido", "terminado"):
            return eventos  # the reclamo ended meanwhile: nothing to subsanar
        abierta = SubsanacionAbierta(
            entidad_id=doc.get("entidad_id", datos.entidad_id),
            observacion_id=evento.id,
            subsanar_hasta=hasta,
            dias_habiles=politica.dias_subsanacion,
            # False if the subsanación already arrived, or the deadline had passed before.
            reloj_pausado=bool(doc.get("reloj_pausado")),
        )
        return [*eventos, evento.consecuencia("plazo.subsanacion_abierta", abierta, SERVICIO)]

    def al_subsanarse(evento: Evento, datos: ReclamoSubsanado, s: ClientSession) -> list[Evento]:
        subsanacion = {"id": evento.id, "en": evento.ocurrido_en}
        registrar(evento.codigo, datos.entidad_id, {"$push": {"subsanaciones": subsanacion}}, s)
        return sincronizar(
            db, evento.codigo, s, politica, razon="subsanacion", origen=evento, reanuda=True
        )

    def al_trasladarse(evento: Evento, datos: ReclamoTrasladado, s: ClientSession) -> list[Evento]:
        traslado = {
            "id": evento.id,
            "en": evento.ocurrido_en,
            "entidad_id": datos.entidad_id,
            "reinicia": politica.traslado_reinicia,
        }
        registrar(evento.codigo, datos.entidad_id, {"$push": {"traslados": traslado}}, s)
        return sincronizar(db, evento.codigo, s, politica, razon="traslado", origen=evento)

    def terminar(evento: Evento, entidad_id: str, tipo: str, s: ClientSession) -> list[Evento]:
        # The first ending wins; the clock stops and no warning is raised any more.
        doc = leer(db, evento.codigo, s)
        if doc is None or "terminado" not in doc:
            terminado = {"tipo": tipo, "en": evento.ocurrido_en}
            registrar(evento.codigo, entidad_id, {"$set": {"terminado": terminado}}, s)
        return sincronizar(db, evento.codigo, s, politica, origen=evento)

    def al_archivarse(evento: Evento, datos: ReclamoArchivado, s: ClientSession) -> list[Evento]:
        return terminar(evento, datos.entidad_id, "archivado", s)

    def al_desistirse(evento: Evento, datos: ReclamoDesistido, s: ClientSession) -> list[Evento]:
        return terminar(evento, datos.entidad_id, "desistido", s)

    def anotar_unidad(evento: Evento, entidad_id: str, unidad_id: str, s: ClientSession):
        # The unit that holds the reclamo now, for unit-scoped keys: the latest derivado or
        # reasignado by when it happened (at the store's millisecond), whatever the arrival order.
        en = al_milisegundo(evento.ocurrido_en)
        doc = leer(db, evento.codigo, s)
        previa = (doc or {}).get("unidad")
        if previa is None or previa["en"] < en:
            unidad = {"entidad_id": entidad_id, "id": unidad_id, "en": en}
            registrar(evento.codigo, entidad_id, {"$set": {"unidad": unidad}}, s)
        return None

    def al_derivarse(evento: Evento, datos: ReclamoDerivado, s: ClientSession):
        return anotar_unidad(evento, datos.entidad_id, datos.unidad_id, s)

    def al_reasignarse(evento: Evento, datos: ReclamoReasignado, s: ClientSession):
        return anotar_unidad(evento, datos.entidad_id, datos.unidad_id, s)

    def al_actualizarse_entidad(evento: Evento, datos: EntidadActualizada, s: ClientSession):
        # A local copy for the supervisor's listing (name, level, country); a late, older
        # version of the catalogue must not overwrite a newer one.
        entidad = datos.entidad
        actual = db.entidades.find_one({"_id": entidad.id}, {"version": 1}, session=s)
        if actual is not None and actual.get("version") and actual["version"] > evento.ocurrido_en:
            return None
        copia = {
            "nombre": entidad.nombre,
            "nivel": entidad.nivel,
            "pais": entidad.pais,
            "version": evento.ocurrido_en,
        }
        db.entidades.replace_one({"_id": entidad.id}, copia, upsert=True, session=s)
        return None

    de_reclamos = {
        "catalogo.entidad_actualizada": al_actualizarse_entidad,
        "reclamo.registrado": al_registrarse,
        "reclamo.derivado": al_derivarse,
        "reclamo.reasignado": al_reasignarse,
        "reclamo.respondido": al_responderse,
        "reclamo.observado": al_observarse,
        "reclamo.subsanado": al_subsanarse,
        "reclamo.trasladado": al_trasladarse,
        "reclamo.archivado": al_archivarse,
        "reclamo.desistido": al_desistirse,
    }
    # The report figures follow each clock, in the handler's transaction.
    return {tipo: con_cifras(db, m) for tipo, m in de_reclamos.items()}
