"""The messages people receive, in Spanish. Pure: each returns (asunto, cuerpo).

Dates are shown in America/Lima. A deadline is the end (23:59:59 Lima) of a business day, so the
day alone says it; a citizen's subsanación deadline is shown with its hour, being days away.
"""

from __future__ import annotations

from datetime import datetime

from comun.tiempo import dia_en_lima, en_lima

FIRMA = "Plataforma Digital Única de Reclamos del Estado Peruano"
SEGUIMIENTO = (
    "Puede seguir su atención con el código y su número de documento en el "
    "Libro de Reclamaciones Digital.\n\n"
)
BANDEJA = "Revíselo en su bandeja del Libro de Reclamaciones Digital.\n"

# plazo.recalculado's razon, as the citizen reads it.
RAZONES_PLAZO = {
    "calendario": "se declaró o se retiró un día no laborable del sector público",
    "subsanacion": (
        "se reanudó el plazo tras su subsanación (los días en que se esperó su respuesta "
        "no se cuentan)"
    ),
    "traslado": "su reclamo fue trasladado y el plazo se cuenta de nuevo desde su recepción",
}


def acuse(
    codigo: str, entidad: str, nombres: str, recepcion: str, vence_en: datetime, dias: int
) -> tuple[str, str]:
    return (
        f"Reclamo {codigo} registrado ante {entidad}",
        f"Estimado(a) {nombres}:\n\n"
        f"Su reclamo ante {entidad} fue registrado con el código {codigo}.\n"
        f"Fecha de recepción: {recepcion}.\n"
        f"La entidad debe responderle en un máximo de {dias} días hábiles, "
        f"hasta el {dia_en_lima(vence_en)}.\n\n" + SEGUIMIENTO + FIRMA,
    )


def respuesta(
    codigo: str, entidad: str, nombres: str, texto: str, respondido_en: datetime
) -> tuple[str, str]:
    return (
        f"Respuesta a su reclamo {codigo}",
        f"Estimado(a) {nombres}:\n\n"
        f"{entidad} respondió su reclamo {codigo} el {en_lima(respondido_en)}:\n\n"
        f"{texto}\n\n"
        "En breve recibirá una encuesta de satisfacción.\n",
    )


def encuesta(codigo: str, entidad: str, nombres: str, enlace: str) -> tuple[str, str]:
    return (
        f"Cuéntenos cómo le atendieron: reclamo {codigo}",
        f"Estimado(a) {nombres}:\n\n"
        f"Su reclamo {codigo} ante {entidad} fue respondido. Su opinión ayuda a mejorar "
        "la atención del Estado. Responda esta breve encuesta (un solo uso):\n\n"
        f"{enlace}\n",
    )


def observacion(
    codigo: str,
    entidad: str,
    nombres: str,
    texto: str,
    subsanar_hasta: datetime,
    reloj_pausado: bool,
) -> tuple[str, str]:
    reloj = (
        "Mientras tanto, el plazo de respuesta de la entidad queda suspendido.\n\n"
        if reloj_pausado
        else "El plazo de respuesta de la entidad sigue corriendo.\n\n"
    )
    return (
        f"Reclamo {codigo}: la entidad necesita más información",
        f"Estimado(a) {nombres}:\n\n"
        f"{entidad} necesita que complete su reclamo {codigo}. Lo que falta:\n\n"
        f"{texto}\n\n"
        f"Tiene hasta el {en_lima(subsanar_hasta)} (hora de Lima) para subsanar: ingrese con "
        "el código y su número de documento en el Libro de Reclamaciones Digital. Si no lo "
        "hace a tiempo, el reclamo será archivado.\n" + reloj + FIRMA,
    )


def archivado(codigo: str, entidad: str, nombres: str, razon: str) -> tuple[str, str]:
    porque = (
        "no se recibió a tiempo la información que la entidad le pidió"
        if razon == "subsanacion_vencida"
        else "así lo dispuso la entidad"
    )
    return (
        f"Reclamo {codigo} archivado",
        f"Estimado(a) {nombres}:\n\n"
        f"Su reclamo {codigo} ante {entidad} fue archivado porque {porque}.\n"
        "Si lo desea, puede presentar un nuevo reclamo en el Libro de Reclamaciones "
        "Digital.\n\n" + FIRMA,
    )


def trasladado(
    codigo: str, entidad_anterior: str | None, entidad: str, nombres: str, razon: str
) -> tuple[str, str]:
    desde = f" desde {entidad_anterior}" if entidad_anterior else ""
    return (
        f"Reclamo {codigo} trasladado",
        f"Estimado(a) {nombres}:\n\n"
        f"Su reclamo {codigo} fue trasladado{desde} a {entidad}, la entidad competente para "
        f"atenderlo.\nMotivo del traslado: {razon}\n\n"
        f"{entidad} le responderá. " + SEGUIMIENTO + FIRMA,
    )


def nuevo_plazo(
    codigo: str,
    entidad: str,
    nombres: str,
    vence_en: datetime,
    razon: str,
    vence_antes: datetime | None,
) -> tuple[str, str]:
    antes = f" (antes: {dia_en_lima(vence_antes)})" if vence_antes else ""
    return (
        f"Reclamo {codigo}: nuevo plazo de respuesta",
        f"Estimado(a) {nombres}:\n\n"
        f"{entidad} tiene ahora hasta el {dia_en_lima(vence_en)}{antes} para responder su "
        f"reclamo {codigo}, porque {RAZONES_PLAZO.get(razon, 'cambió el cómputo del plazo')}."
        "\n\n" + SEGUIMIENTO + FIRMA,
    )


# --- to the unit's responsables (titular and alterno, each their own mail) -----------------------


def derivado_a_responsable(
    codigo: str, entidad: str, unidad: str, responsable: str, motivo: str
) -> tuple[str, str]:
    return (
        f"Nuevo reclamo {codigo} en su bandeja",
        f"Estimado(a) {responsable}:\n\n"
        f"Se derivó a {unidad} ({entidad}) el reclamo {codigo}, motivo: {motivo}.\n"
        "Revíselo en su bandeja: el plazo legal de respuesta corre en días hábiles.\n",
    )


def reasignado_a_responsable(
    codigo: str,
    entidad: str,
    unidad: str,
    responsable: str,
    razon: str,
    unidad_anterior: str | None,
) -> tuple[str, str]:
    desde = f" desde {unidad_anterior}" if unidad_anterior else ""
    return (
        f"Reclamo {codigo} reasignado a su unidad",
        f"Estimado(a) {responsable}:\n\n"
        f"El reclamo {codigo} fue reasignado{desde} a {unidad} ({entidad}).\n"
        f"Razón de la reasignación: {razon}\n\n"
        "El plazo legal de respuesta sigue corriendo. " + BANDEJA,
    )


def desistido_a_responsable(
    codigo: str, entidad: str, unidad: str, responsable: str, razon: str | None
) -> tuple[str, str]:
    dijo = f"Razón indicada por el ciudadano: {razon}\n\n" if razon else ""
    return (
        f"Reclamo {codigo}: el ciudadano desistió",
        f"Estimado(a) {responsable}:\n\n"
        f"El ciudadano desistió del reclamo {codigo} derivado a {unidad} ({entidad}).\n"
        + dijo
        + "El reclamo queda concluido: no se requiere ninguna acción más de su unidad.\n",
    )


def por_vencer_a_responsable(
    codigo: str, entidad: str, unidad: str, responsable: str, vence_en: datetime, dias: int
) -> tuple[str, str]:
    quedan = "queda 1 día hábil" if dias == 1 else f"quedan {dias} días hábiles"
    return (
        f"Reclamo {codigo} por vencer",
        f"Estimado(a) {responsable}:\n\n"
        f"El plazo legal para responder el reclamo {codigo} ({unidad}, {entidad}) vence el "
        f"{dia_en_lima(vence_en)}: {quedan}.\n" + BANDEJA,
    )


def vencido_a_responsable(
    codigo: str, entidad: str, unidad: str, responsable: str, vence_en: datetime
) -> tuple[str, str]:
    return (
        f"Reclamo {codigo} vencido",
        f"Estimado(a) {responsable}:\n\n"
        f"El plazo legal para responder el reclamo {codigo} ({unidad}, {entidad}) venció el "
        f"{dia_en_lima(vence_en)} sin respuesta.\n"
        "Respóndalo cuanto antes: la respuesta quedará registrada como fuera de plazo y la "
        "Secretaría de Gestión Pública ve los reclamos vencidos.\n" + BANDEJA,
    )


def intervencion_a_responsable(
    codigo: str, entidad: str, unidad: str, responsable: str, nota: str
) -> tuple[str, str]:
    return (
        f"Intervención de la Secretaría de Gestión Pública: reclamo {codigo}",
        f"Estimado(a) {responsable}:\n\n"
        f"La Secretaría de Gestión Pública intervino en el reclamo {codigo} "
        f"({unidad}, {entidad}). Su nota:\n\n"
        f"{nota}\n\n" + BANDEJA,
    )
