"""Errors that reach a person: Spanish, and naming the field that is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError


class ErrorDeDominio(Exception):
    """An expected refusal: becomes a 4xx with a Spanish message for whoever reads it."""

    def __init__(self, estado: int, error: str, mensaje: str) -> None:
        super().__init__(mensaje)
        self.estado, self.error, self.mensaje = estado, error, mensaje


_PREFIJOS_PYDANTIC = ("Value error, ", "Assertion failed, ")

# Traducción de los errores de las restricciones declarativas de pydantic.
_MENSAJES: dict[str, str] = {
    "missing": "Campo obligatorio",
    "extra_forbidden": "Campo no permitido",
    "string_type": "Debe ser un texto",
    "string_too_short": "Debe tener al menos {min_length} caracteres",
    "string_too_long": "Debe tener como máximo {max_length} caracteres",
    "string_pattern_mismatch": "Formato no válido",
    "too_short": "Debe tener al menos {min_length} elementos",
    "too_long": "Debe tener como máximo {max_length} elementos",
    "enum": "Valor no válido; opciones: {expected}",
    "literal_error": "Valor no válido; opciones: {expected}",
    "bool_type": "Debe ser verdadero o falso",
    "bool_parsing": "Debe ser verdadero o falso",
    "int_type": "Debe ser un número entero",
    "int_parsing": "Debe ser un número entero",
    "int_from_float": "Debe ser un número entero",
    "greater_than": "Debe ser mayor que {gt}",
    "greater_than_equal": "Debe ser mayor o igual que {ge}",
    "less_than": "Debe ser menor que {lt}",
    "less_than_equal": "Debe ser menor o igual que {le}",
    "datetime_type": "Debe ser una fecha y hora ISO-8601",
    "datetime_parsing": "Debe ser una fecha y hora ISO-8601",
    "datetime_from_date_parsing": "Debe ser una fecha y hora ISO-8601",
    "list_type": "Debe ser una lista",
    "model_type": "Debe ser un objeto",
    "model_attributes_type": "Debe ser un objeto",
    "dict_type": "Debe ser un objeto",
    "json_invalid": "JSON no válido",
}


def _mensaje(error: Mapping[str, Any]) -> str:
    tipo = error.get("type", "")
    mensaje = str(error.get("msg", ""))
    if tipo == "value_error" and mensaje.startswith("value is not a valid email address"):
        return "El correo electrónico no es válido"
    contexto = dict(error.get("ctx") or {})
    if tipo == "string_too_short" and contexto.get("min_length") == 1:
        return "No puede estar vacío"
    if "expected" in contexto:  # "'a', 'b' or 'c'" → "'a', 'b' o 'c'"
        contexto["expected"] = str(contexto["expected"]).replace(" or ", " o ")
    plantilla = _MENSAJES.get(tipo)
    if plantilla is not None:
        try:
            return plantilla.format(**contexto)
        except (KeyError, IndexError):
            return mensaje
    for prefijo in _PREFIJOS_PYDANTIC:
        if mensaje.startswith(prefijo):
            return mensaje.removeprefix(prefijo)
    return mensaje


def traducir_errores(errores: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Como :func:`errores_legibles`, a partir de una lista de errores al estilo pydantic.

    Sirve, p. ej., para ``RequestValidationError.errors()`` de FastAPI (quien llama decide si
    quita el prefijo ``body`` de ``loc``).
    """
    return [
        {
            "campo": ".".join(str(parte) for parte in error.get("loc", ())),
            "mensaje": _mensaje(error),
        }
        for error in errores
    ]


def errores_legibles(exc: ValidationError) -> list[dict[str, str]]:
    """Errores de validación como ``[{"campo": "ciudadano.documento.numero", "mensaje": ...}]``.

    El campo va en notación de puntos (los índices de listas como números: ``adjuntos.3.nombre``);
    un error de una regla entre varios campos lleva el del objeto que la contiene (p. ej.
    ``ciudadano`` cuando falta todo medio de contacto; vacío si es la raíz). No incluye el valor
    recibido: puede ser un dato personal.
    """
    return traducir_errores(exc.errors(include_url=False, include_input=False))
