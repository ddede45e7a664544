"""The messages people receive, in Spanish. Pure: each returns (asunto, cuerpo)."""

from __future__ import annotations

from datetime import datetime

from comun.tiempo import dia_en_lima, en_lima


def acuse(
    codigo: str, entidad: str, nombres: str, recepcion: str, vence_en: datetime, dias: int
) -> tuple[str, str]:
    return (
        f"Reclamo {codigo} registrado ante {entidad}",
        f"Estimado(a) {nombres}:\n\n"
        f"Su reclamo ante {entidad} fue registrado con el código {codigo}.\n"
        f"Fecha de recepción: {recepcion}.\n"
        f"La entidad debe responderle en un máximo de {dias} días hábiles, "
        f"hasta el {dia_en_lima(vence_en)}.\n\n"
        "Puede seguir su atención con el código y su número de documento en el "
        "Libro de Reclamaciones Digital.\n\n"
        "Plataforma Digital Única de Reclamos del Estado Peruano",
    )


def derivado_a_responsable(
    codigo: str, entidad: str, unidad: str, responsable: str, motivo: str
) -> tuple[str, str]:
    return (
        f"Nuevo reclamo {codigo} en su bandeja",
        f"Estimado(a) {responsable}:\n\n"
        f"Se derivó a {unidad} ({entidad}) el reclamo {codigo}, motivo: {motivo}.\n"
        "Revíselo en su bandeja: el plazo legal de respuesta corre en días hábiles.\n",
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
