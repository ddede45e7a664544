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
# Errors whose text is written by the validator that raised them (in Spanish in this code base).
_DEL_VALIDADOR = {"value_error", "assertion_error"}
_OBJETO = "Debe ser un objeto"
_LISTA = "Debe ser una lista"
_FECHA = "Debe ser una fecha AAAA-MM-DD"
_FECHA_HORA = "Debe ser una fecha y hora ISO-8601"
_URL = "Debe ser una URL válida"
# Any other type (pydantic's internal ones: recursion, arguments, callables...).
_GENERICO = "Valor no válido"

# Traducción de los errores de pydantic, tipo por tipo (pydantic_core.core_schema.ErrorType).
_MENSAJES: dict[str, str] = {
    "missing": "Campo obligatorio",
    "extra_forbidden": "Campo no permitido",
    "no_such_attribute": "Campo no permitido",
    "frozen_field": "No se puede modificar",
    "frozen_instance": "No se puede modificar",
    "invalid_key": "Las claves deben ser textos",
    "json_invalid": "JSON no válido",
    "json_type": "Debe ser un texto JSON",
    "none_required": "Debe ser nulo",
    "string_type": "Debe ser un texto",
    "string_unicode": "Debe ser un texto Unicode",
    "string_not_ascii": "Solo admite caracteres ASCII",
    "string_too_short": "Debe tener al menos {min_length} caracteres",
    "string_too_long": "Debe tener como máximo {max_length} caracteres",
    "string_pattern_mismatch": "Formato no válido",
    "bytes_type": "Debe ser un texto",
    "bytes_too_short": "Debe tener al menos {min_length} bytes",
    "bytes_too_long": "Debe tener como máximo {max_length} bytes",
    "bytes_invalid_encoding": "Codificación no válida",
    "too_short": "Debe tener al menos {min_length} elementos",
    "too_long": "Debe tener como máximo {max_length} elementos",
    "enum": "Valor no válido; opciones: {expected}",
    "literal_error": "Valor no válido; opciones: {expected}",
    "union_tag_invalid": "Valor no válido de {discriminator}; opciones: {expected_tags}",
    "union_tag_not_found": "Falta el campo {discriminator}",
    "bool_type": "Debe ser verdadero o falso",
    "bool_parsing": "Debe ser verdadero o falso",
    "int_type": "Debe ser un número entero",
    "int_parsing": "Debe ser un número entero",
    "int_from_float": "Debe ser un número entero",
    "int_parsing_size": "El número es demasiado grande",
    "float_type": "Debe ser un número",
    "float_parsing": "Debe ser un número",
    "finite_number": "Debe ser un número finito",
    "decimal_type": "Debe ser un número decimal",
    "decimal_parsing": "Debe ser un número decimal",
    "decimal_max_digits": "Debe tener como máximo {max_digits} dígitos",
    "decimal_max_places": "Debe tener como máximo {decimal_places} decimales",
    "decimal_whole_digits": "Debe tener como máximo {whole_digits} dígitos enteros",
    "fraction_type": "Debe ser una fracción",
    "fraction_parsing": "Debe ser una fracción",
    "complex_type": "Debe ser un número complejo",
    "complex_str_parsing": "Debe ser un número complejo",
    "greater_than": "Debe ser mayor que {gt}",
    "greater_than_equal": "Debe ser mayor o igual que {ge}",
    "less_than": "Debe ser menor que {lt}",
    "less_than_equal": "Debe ser menor o igual que {le}",
    "multiple_of": "Debe ser múltiplo de {multiple_of}",
    "date_type": _FECHA,
    "date_parsing": _FECHA,
    "date_from_datetime_parsing": _FECHA,
    "date_from_datetime_inexact": "Debe ser una fecha sin hora",
    "date_past": "Debe ser una fecha pasada",
    "date_future": "Debe ser una fecha futura",
    "time_type": "Debe ser una hora HH:MM:SS",
    "time_parsing": "Debe ser una hora HH:MM:SS",
    "datetime_type": _FECHA_HORA,
    "datetime_parsing": _FECHA_HORA,
    "datetime_object_invalid": _FECHA_HORA,
    "datetime_from_date_parsing": _FECHA_HORA,
    "datetime_past": "Debe ser una fecha y hora pasada",
    "datetime_future": "Debe ser una fecha y hora futura",
    "timezone_naive": "No debe indicar zona horaria",
    "timezone_aware": "Debe indicar la zona horaria",
    "timezone_offset": "Zona horaria no válida",
    "time_delta_type": "Debe ser una duración ISO-8601",
    "time_delta_parsing": "Debe ser una duración ISO-8601",
    "uuid_type": "Debe ser un UUID",
    "uuid_parsing": "Debe ser un UUID",
    "uuid_version": "Debe ser un UUID versión {expected_version}",
    "url_type": _URL,
    "url_parsing": _URL,
    "url_syntax_violation": _URL,
    "url_too_long": "La URL debe tener como máximo {max_length} caracteres",
    "url_scheme": "La URL debe empezar con {expected_schemes}",
    "list_type": _LISTA,
    "tuple_type": _LISTA,
    "named_tuple_type": _LISTA,
    "deque_type": _LISTA,
    "iterable_type": _LISTA,
    "iteration_error": _LISTA,
    "set_type": "Debe ser una lista sin repetidos",
    "frozen_set_type": "Debe ser una lista sin repetidos",
    "set_item_not_hashable": "Elemento no válido",
    "model_type": _OBJETO,
    "model_attributes_type": _OBJETO,
    "dataclass_type": _OBJETO,
    "dataclass_exact_type": _OBJETO,
    "dict_type": _OBJETO,
    "frozen_dict_type": _OBJETO,
    "ordered_dict_type": _OBJETO,
    "counter_type": _OBJETO,
    "mapping_type": _OBJETO,
}


def _mensaje(error: Mapping[str, Any]) -> str:
    tipo = error.get("type", "")
    mensaje = str(error.get("msg", ""))
    if tipo == "value_error" and mensaje.startswith("value is not a valid email address"):
        return "El correo electrónico no es válido"
    if tipo in _DEL_VALIDADOR:
        for prefijo in _PREFIJOS_PYDANTIC:
            if mensaje.startswith(prefijo):
                return mensaje.removeprefix(prefijo)
        return mensaje
    # "'a', 'b' or 'c'" → "'a', 'b' o 'c'"
    contexto = {
        clave: valor.replace(" or ", " o ") if isinstance(valor, str) else valor
        for clave, valor in dict(error.get("ctx") or {}).items()
    }
    if tipo == "string_too_short" and contexto.get("min_length") == 1:
        return "No puede estar vacío"
    try:
        return _MENSAJES.get(tipo, _GENERICO).format(**contexto)
    except (KeyError, IndexError):  # a template whose context did not come: never the English
        return _GENERICO


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
