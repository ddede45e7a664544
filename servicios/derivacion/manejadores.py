"""derivacion's integration-event handlers: route every new reclamo to the unit that must answer,
and follow what the citizen, plazos and encuestas do to it.

Events arrive more than once (the Despachador drops repeats) and in any order: each handler reads
the reclamo in its transaction and applies only what still makes sense (the state machine, or the
time of the event for projected values such as the deadline).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun.consumo import Manejador
from comun.eventos import (
    EncuestaRespondida,
    EncuestaVencida,
    Entidad,
    Evento,
    PlazoAviso,
    PlazoCalculado,
    PlazoDetenido,
    PlazoRecalculado,
    ReclamoArchivado,
    ReclamoCerrado,
    ReclamoDerivado,
    ReclamoDesistido,
    ReclamoRegistrado,
    ReclamoSubsanado,
    SubsanacionAbierta,
    SubsanacionVencida,
)
from comun.tiempo import dia_en_lima
from servicios.derivacion.dependencias import escribir, leer, paso
from servicios.derivacion.dominio import derivar, puede, resultado

SERVICIO = "derivacion"


class EntidadDesconocida(LookupError):
    pass


def estado_de(doc: dict | None) -> str:
    """A reclamo known only from other services' events has not been routed yet."""
    return (doc or {}).get("estado", "registrado")


def _ms(momento: datetime | None) -> datetime | None:
    """As the store keeps it (milliseconds, UTC), so that two copies of one instant compare."""
    if momento is None:
        return None
    utc = momento.astimezone(UTC) if momento.tzinfo else momento.replace(tzinfo=UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _posterior(doc: dict | None, campo: str, momento: datetime) -> bool:
    """Whether an event of `momento` is newer than what set `campo` (projections apply by time)."""
    previo = (doc or {}).get(campo)
    return previo is None or _ms(previo) < _ms(momento)


def manejadores(db: Database) -> dict[str, Manejador]:
    def al_registrarse(evento: Evento, datos: ReclamoRegistrado, s: ClientSession) -> list[Evento]:
        entidad_doc = db.entidades.find_one({"_id": datos.entidad_id}, session=s)
        if entidad_doc is None:  # registro only accepts known entities: retried, then parked
            raise EntidadDesconocida(f"entidad {datos.entidad_id} no está en el catálogo")
        entidad = Entidad.model_validate(entidad_doc["entidad"])
        unidad, por_regla = derivar(entidad, datos.motivo, datos.sede)
        doc = leer(db, evento.codigo, s)
        cambios = {
            "entidad_id": datos.entidad_id,
            "unidad_id": unidad.id,
            "unidad_nombre": unidad.nombre,
            "motivo": datos.motivo,
            "canal": datos.canal,
            "sede": datos.sede,
            "descripcion": datos.descripcion,
            "pedido": datos.pedido,
            "medio_respuesta": datos.medio_respuesta,
            "contacto": datos.contacto.model_dump(),
            "registrado_en": datos.registrado_en,
            "derivado_en": evento.ocurrido_en,
        }
        # A desistimiento (or a deadline) that came first may have created the document: its
        # state stands.
        if "estado" not in (doc or {}):
            cambios["estado"] = "derivado"
        pasos = [
            paso(datos.registrado_en, "registrado", f"Reclamo registrado (canal {datos.canal})."),
            paso(
                evento.ocurrido_en,
                "derivado",
                f"Derivado a {unidad.nombre} de {entidad.nombre}"
                + (" según las reglas de la entidad." if por_regla else " (unidad por defecto)."),
            ),
        ]
        escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)
        derivado = ReclamoDerivado(
            entidad_id=datos.entidad_id,
            unidad_id=unidad.id,
            unidad_nombre=unidad.nombre,
            por_regla=por_regla,
            motivo=datos.motivo,
        )
        return [evento.consecuencia("reclamo.derivado", derivado, SERVICIO)]

    def al_calcularse_plazo(evento: Evento, datos: PlazoCalculado, s: ClientSession) -> None:
        # May arrive before reclamo.registrado (the document is created then) or after a
        # recalculation (then it is older and changes nothing).
        doc = leer(db, evento.codigo, s)
        if _posterior(doc, "vence_al", evento.ocurrido_en):
            cambios = {"vence_en": datos.vence_en, "vence_al": evento.ocurrido_en}
            texto = f"Plazo de respuesta: hasta el {dia_en_lima(datos.vence_en)}."
            pasos = [paso(evento.ocurrido_en, estado_de(doc), texto)]
            escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)

    def al_recalcularse_plazo(evento: Evento, datos: PlazoRecalculado, s: ClientSession) -> None:
        doc = leer(db, evento.codigo, s)
        momento = evento.ocurrido_en
        cambios: dict = {}
        # A recalculation may overtake the first calculation or an older recalculation.
        if _posterior(doc, "vence_al", momento):
            cambios |= {"vence_en": datos.vence_en, "vence_al": momento}
        if datos.razon == "subsanacion" and _posterior(doc, "pausa_al", momento):
            cambios |= {"reloj_pausado": False, "pausa_al": momento}  # the clock resumed
        # Moved past the moment it was moved: no longer overdue (unless plazos says so later).
        if _ms(datos.vence_en) > _ms(momento) and _posterior(doc, "vencido_al", momento):
            cambios |= {"vencido": False, "vencido_al": momento}
        if cambios:
            texto = f"Nuevo plazo de respuesta: hasta el {dia_en_lima(datos.vence_en)}."
            pasos = [paso(momento, estado_de(doc), texto)] if "vence_en" in cambios else []
            escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)

    def al_abrirse_subsanacion(
        evento: Evento, datos: SubsanacionAbierta, s: ClientSession
    ) -> list[Evento]:
        doc = leer(db, evento.codigo, s)
        if doc is None or doc.get("observacion_id") != datos.observacion_id:
            return []  # the answer to an earlier observación, superseded by a newer one
        cambios: dict = {"subsanar_hasta": datos.subsanar_hasta}
        if _posterior(doc, "pausa_al", evento.ocurrido_en):
            cambios |= {"reloj_pausado": datos.reloj_pausado, "pausa_al": evento.ocurrido_en}
        pasos = [
            paso(
                evento.ocurrido_en,
                estado_de(doc),
                f"El ciudadano tiene hasta el {dia_en_lima(datos.subsanar_hasta)} para subsanar"
                + ("; el plazo de respuesta está suspendido." if datos.reloj_pausado else "."),
            )
        ]
        doc = escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)
        # The term's expiry may have come first: it was kept until this deadline was known.
        pendiente = doc.get("vencida_pendiente")
        if (
            pendiente is not None
            and _ms(pendiente) == _ms(datos.subsanar_hasta)
            and puede(estado_de(doc), "archivar")
        ):
            return _archivar(evento, doc, s)
        return []

    def al_vencer_subsanacion(
        evento: Evento, datos: SubsanacionVencida, s: ClientSession
    ) -> list[Evento]:
        doc = leer(db, evento.codigo, s)
        if not puede(estado_de(doc), "archivar"):
            return []  # subsanado (or withdrawn) meanwhile: nothing to archive
        conocido = doc.get("subsanar_hasta")
        if conocido is None:
            # Its deadline (plazo.subsanacion_abierta) has not arrived yet: wait for it.
            escribir(db, doc, evento.codigo, {"vencida_pendiente": datos.subsanar_hasta}, s)
            return []
        if _ms(conocido) != _ms(datos.subsanar_hasta):
            return []  # the term of an earlier observación
        return _archivar(evento, doc, s)

    def _archivar(evento: Evento, doc: dict, s: ClientSession) -> list[Evento]:
        cambios = {
            "estado": resultado("observado", "archivar"),
            "archivado_en": evento.ocurrido_en,
        }
        pasos = [
            paso(
                evento.ocurrido_en,
                "archivado",
                "Archivado: el ciudadano no subsanó dentro del plazo.",
            )
        ]
        escribir(db, doc, doc["_id"], cambios, s, pasos=pasos, quitar=("vencida_pendiente",))
        archivado = ReclamoArchivado(entidad_id=doc["entidad_id"], razon="subsanacion_vencida")
        return [evento.consecuencia("reclamo.archivado", archivado, SERVICIO)]

    def al_subsanarse(evento: Evento, datos: ReclamoSubsanado, s: ClientSession) -> None:
        doc = leer(db, evento.codigo, s)
        if not puede(estado_de(doc), "subsanar"):
            return  # archived or withdrawn meanwhile
        cambios = {
            "estado": resultado("observado", "subsanar"),
            "subsanado_en": evento.ocurrido_en,
            "subsanacion": {
                "texto": datos.texto,
                "adjuntos": [a.model_dump() for a in datos.adjuntos],
            },
        }
        adjuntos = f" ({len(datos.adjuntos)} adjunto(s))" if datos.adjuntos else ""
        pasos = [paso(evento.ocurrido_en, "subsanado", f"El ciudadano subsanó{adjuntos}.")]
        escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)

    def al_desistir(evento: Evento, datos: ReclamoDesistido, s: ClientSession) -> None:
        doc = leer(db, evento.codigo, s)
        actual = estado_de(doc)
        if not puede(actual, "desistir"):
            return  # answered, closed, archived or already withdrawn: nothing more
        razon = f": {datos.razon}" if datos.razon else "."
        cambios = {"estado": resultado(actual, "desistir"), "desistido_en": evento.ocurrido_en}
        pasos = [paso(evento.ocurrido_en, "desistido", f"El ciudadano desistió{razon}")]
        escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)

    def al_vencer_plazo(evento: Evento, datos: PlazoAviso, s: ClientSession) -> None:
        doc = leer(db, evento.codigo, s)
        if not _posterior(doc, "vencido_al", evento.ocurrido_en):
            return
        cambios = {"vencido": True, "vencido_al": evento.ocurrido_en}
        pasos = [
            paso(
                evento.ocurrido_en,
                estado_de(doc),
                f"Plazo de respuesta vencido (vencía el {dia_en_lima(datos.vence_en)}).",
            )
        ]
        escribir(db, doc, evento.codigo, cambios, s, pasos=pasos)

    def al_detenerse_plazo(evento: Evento, datos: PlazoDetenido, s: ClientSession) -> None:
        doc = leer(db, evento.codigo, s)
        cambios = {
            "dentro_del_plazo": datos.dentro_del_plazo,
            "dias_habiles_usados": datos.dias_habiles_usados,
        }
        escribir(db, doc, evento.codigo, cambios, s)

    def _cerrar(evento: Evento, entidad_id: str, motivo: str, s: ClientSession) -> list[Evento]:
        doc = leer(db, evento.codigo, s)
        if not puede(estado_de(doc), "cerrar"):
            return []  # already closed by the other survey event
        texto = (
            "Cerrado: el ciudadano respondió la encuesta."
            if motivo == "encuesta_respondida"
            else "Cerrado: venció la encuesta sin respuesta."
        )
        cambios = {"estado": resultado("respondido", "cerrar"), "cerrado_en": evento.ocurrido_en}
        escribir(
            db,
            doc,
            evento.codigo,
            cambios,
            s,
            pasos=[paso(evento.ocurrido_en, "cerrado", texto)],
        )
        cerrado = ReclamoCerrado(entidad_id=entidad_id, motivo=motivo)
        return [evento.consecuencia("reclamo.cerrado", cerrado, SERVICIO)]

    def al_responder_encuesta(
        evento: Evento, datos: EncuestaRespondida, s: ClientSession
    ) -> list[Evento]:
        return _cerrar(evento, datos.entidad_id, "encuesta_respondida", s)

    def al_vencer_encuesta(
        evento: Evento, datos: EncuestaVencida, s: ClientSession
    ) -> list[Evento]:
        return _cerrar(evento, datos.entidad_id, "encuesta_vencida", s)

    return {
        "reclamo.registrado": al_registrarse,
        "reclamo.subsanado": al_subsanarse,
        "reclamo.desistido": al_desistir,
        "plazo.calculado": al_calcularse_plazo,
        "plazo.recalculado": al_recalcularse_plazo,
        "plazo.subsanacion_abierta": al_abrirse_subsanacion,
        "plazo.subsanacion_vencida": al_vencer_subsanacion,
        "plazo.vencido": al_vencer_plazo,
        "plazo.detenido": al_detenerse_plazo,
        "encuesta.respondida": al_responder_encuesta,
        "encuesta.vencida": al_vencer_encuesta,
    }
