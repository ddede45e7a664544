"""What the gateway adds to the contract: the uniform error body and the statuses that carry it,
the answers of routes that pass a service's JSON through, and examples that work against the demo
catalogue. It re-exports the citizen's views of a reclamo from registro's contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from servicios.registro.schemas import Seguimiento, Tramite

__all__ = [
    "DetalleError",
    "EncuestaRespondida",
    "EntidadPublica",
    "Entrega",
    "Error",
    "IndiceSatisfaccion",
    "Seguimiento",
    "Tramite",
    "errores",
]


class DetalleError(BaseModel):
    campo: str = Field(description="El campo en notación de puntos, p. ej. `ciudadano.nombres`")
    mensaje: str


class Error(BaseModel):
    """Every 4xx and 5xx of the API: a stable code, a message in Spanish, and for invalid data
    one line per field (never the value received)."""

    error: str = Field(description="Código estable del error, p. ej. `datos_invalidos`")
    mensaje: str
    detalle: list[DetalleError] | None = None


_REINTENTAR = {
    "Retry-After": {
        "description": "Segundos que conviene esperar antes de reintentar",
        "schema": {"type": "integer", "minimum": 1},
    }
}
# What each status means wherever it is declared; `errores(...)` picks the ones a route can give.
_ERRORES: dict[int, dict[str, Any]] = {
    400: {"description": "El cuerpo no se pudo leer (p. ej. no es texto UTF-8)."},
    401: {"description": "Falta la clave de acceso (X-API-Key) o no es válida o está revocada."},
    403: {"description": "La credencial no permite esta operación."},
    404: {"description": "No existe, o no está al alcance de la credencial."},
    409: {"description": "El estado actual no permite la operación."},
    411: {"description": "Falta el largo del cuerpo (Content-Length)."},
    413: {"description": "El cuerpo supera el tamaño máximo."},
    422: {"description": "Datos inválidos: `detalle` nombra cada campo y qué le falta."},
    429: {"description": "Demasiadas solicitudes; reintente después.", "headers": _REINTENTAR},
    502: {"description": "Un servicio interno falló; reintente."},
    503: {"description": "Un servicio no está disponible ahora; reintente en unos minutos."},
}
# Every route: a key that does not verify, and the internal service behind it failing or away.
COMUNES = (401, 413, 502, 503)
# Every POST and PUT: the body's length declared and under the limit, readable, and valid (422
# also comes from a bad parameter or header: routes with parameters and no body declare it).
CON_CUERPO = (400, 411, 413, 422)


def errores(*estados: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: each status with the `Error` body and what it means."""
    return {estado: {"model": Error, **_ERRORES[estado]} for estado in estados}


class EntidadPublica(BaseModel):
    id: str = Field(description="Identificador, el `entidad_id` de la hoja")
    nombre: str


class EncuestaRespondida(BaseModel):
    codigo: str = Field(description="Código del reclamo de la encuesta")
    mensaje: str


class IndiceSatisfaccion(BaseModel):
    entidad_id: str
    respuestas: int = Field(description="Encuestas respondidas")
    satisfaccion: float = Field(description="Satisfacción general media, de 1 a 5")
    porcentaje_resueltos: float = Field(description="% de respuestas que resolvieron el problema")
    impulsores: dict[str, float] = Field(description="Media de 1 a 5 de cada impulsor")


class Entrega(BaseModel):
    """One notification to the citizen or to a unit: whether and when the mail server took it."""

    plantilla: str | None = None
    destinatario: str | None = None
    estado: str | None = Field(default=None, description="pendiente, enviada o fallida")
    intentos: int | None = None
    terminada_en: datetime | None = None
    message_id: str | None = Field(default=None, description="Message-ID del correo enviado")


# A hoja that files a reclamo against the demo catalogue (`infra/catalogo/entidades.json`); the
# fuzzer of the suite starts from it. Its document is used by no other test: filing is limited
# per document.
HOJA_DE_EJEMPLO = {
    "canal": "virtual",
    "ciudadano": {
        "documento": {"tipo": "dni", "numero": "40718263"},
        "nombres": "Rosa Elvira",
        "apellidos": "Quispe Mamani",
        "email": "rosa.quispe@example.pe",
        "telefono": "+51987654321",
    },
    "entidad_id": "minsa",
    "sede": "Hospital Nacional Dos de Mayo",
    "ocurrido_en": "2025-03-14T10:30:00-05:00",
    "motivo": "tiempo",
    "descripcion": "Esperé cuatro horas en admisión sin que me dieran un turno de atención.",
    "pedido": "Que me asignen un turno y se informe el tiempo de espera.",
    "medio_respuesta": "email",
    "acepta_privacidad": True,
}
EJEMPLOS_HOJA = {
    "virtual": {
        "summary": "Reclamo por correo electrónico",
        "value": HOJA_DE_EJEMPLO,
    },
    "menor_de_edad": {
        "summary": "Un menor, con su representante, respuesta por teléfono",
        "value": {
            **HOJA_DE_EJEMPLO,
            "ciudadano": {
                "documento": {"tipo": "dni", "numero": "71234508"},
                "nombres": "Luis",
                "apellidos": "Huamán Rojas",
                "telefono": "987 654 321",
                "es_menor": True,
                "representante": {
                    "documento": {"tipo": "dni", "numero": "40915372"},
                    "nombres": "Carmen",
                    "apellidos": "Rojas Díaz",
                },
            },
            "entidad_id": "munilima",
            "sede": "Mesa de partes, Cercado de Lima",
            "motivo": "trato",
            "medio_respuesta": "telefono",
        },
    },
}
# The document travels in the body; with a código that does not exist they get 404.
EJEMPLOS_SEGUIMIENTO = {
    "seguimiento": {
        "summary": "Código y documento",
        "value": {"codigo": "R-7KQ2-M9XD-4HTP", "numero_documento": "40718263"},
    }
}
EJEMPLOS_SUBSANACION = {
    "subsanacion": {
        "summary": "La información que pidió la entidad",
        "value": {
            "numero_documento": "40718263",
            "texto": "Adjunto la constancia de la cita que me dieron en admisión.",
        },
    }
}
EJEMPLOS_DESISTIMIENTO = {
    "desistimiento": {
        "summary": "Desistir, con la razón",
        "value": {"numero_documento": "40718263", "razon": "Ya me atendieron."},
    }
}
