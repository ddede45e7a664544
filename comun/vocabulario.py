"""The reclamo's words that every service and the gateway's contract share: one definition each,
so a request, a response and a filter name the same values (and a generated client gets enums)."""

from __future__ import annotations

from enum import StrEnum


class TipoDocumento(StrEnum):
    """Tipo de documento de identidad."""

    dni = "dni"
    carne_extranjeria = "carne_extranjeria"
    pasaporte = "pasaporte"
    ruc = "ruc"


class Motivo(StrEnum):
    """Motivo del reclamo."""

    trato = "trato"
    tiempo = "tiempo"
    procedimiento = "procedimiento"
    infraestructura = "infraestructura"
    informacion = "informacion"
    resultado = "resultado"
    confianza = "confianza"
    disponibilidad = "disponibilidad"
    otros = "otros"


class Canal(StrEnum):
    """Canal de registro: `virtual` (el ciudadano) o `presencial` (personal de la entidad)."""

    virtual = "virtual"
    presencial = "presencial"


class MedioRespuesta(StrEnum):
    """Cómo desea recibir la respuesta: correo electrónico, teléfono o recojo en una sede."""

    email = "email"
    telefono = "telefono"
    sede = "sede"


class TipoMime(StrEnum):
    """Tipo de un archivo adjunto: PDF, JPEG o PNG."""

    pdf = "application/pdf"
    jpeg = "image/jpeg"
    png = "image/png"


class NivelGobierno(StrEnum):
    """Nivel de gobierno de una entidad."""

    nacional = "nacional"
    regional = "regional"
    local = "local"


class EstadoReclamo(StrEnum):
    """Dónde está el reclamo en su procedimiento."""

    registrado = "registrado"
    derivado = "derivado"
    en_atencion = "en_atencion"
    observado = "observado"
    subsanado = "subsanado"
    respondido = "respondido"
    cerrado = "cerrado"
    archivado = "archivado"
    desistido = "desistido"


# What a step of the entity's history records: the state it left the reclamo in, or its move to
# another entity (`trasladado`, followed by its `derivado` there).
Paso = StrEnum("Paso", {**{e.name: e.value for e in EstadoReclamo}, "trasladado": "trasladado"})
Paso.__doc__ = "El estado en que el paso dejó el reclamo, o su traslado a otra entidad."


class EstadoEncuesta(StrEnum):
    """La encuesta: por responder, respondida, o vencida sin respuesta."""

    pendiente = "pendiente"
    respondida = "respondida"
    vencida = "vencida"
