"""Contrato público de la hoja de reclamación (DESIGN.md §2.1 y §4).

Lo usan el gateway (FastAPI: documentación OpenAPI) y el servicio de registro (Flask: validación),
así que no depende de ningún framework web: solo pydantic v2.

Los mensajes de error de las reglas propias están en castellano; los de las restricciones
declarativas de pydantic (largos, patrones, enumeraciones...) se traducen en
:func:`comun.errores.errores_legibles`, que es lo que debe devolverse al cliente (con el campo
en notación de puntos y sin el valor recibido, que puede ser un dato personal).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from comun import reloj
from comun.errores import errores_legibles, traducir_errores
from comun.eventos import UnaLinea, UnaLineaOpcional, VariasLineas
from comun.vocabulario import (
    Canal,
    EstadoReclamo,
    MedioRespuesta,
    Motivo,
    TipoDocumento,
    TipoMime,
)
from servicios.registro.dominio import codigo_valido, normalizar_codigo

MAX_ADJUNTOS = 10
MAX_BYTES_ADJUNTOS = 20 * 1024 * 1024
#: Tolerancia de desfase de reloj al comprobar que la fecha del hecho no es futura.
TOLERANCIA_RELOJ = timedelta(minutes=5)
PREFIJOS_RUC = ("10", "15", "17", "20")
_PESOS_RUC = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

_DIGITOS = re.compile(r"[0-9]+")
_ALFANUMERICO = re.compile(r"[A-Z0-9]+")
_TELEFONO = re.compile(r"\+?[0-9]{7,15}")
# Separadores habituales al escribir un teléfono ("987 654 321", "(01) 311-7000").
_SEPARADORES_TELEFONO = re.compile(r"[\s\-.()]+")


class _Modelo(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Reglas de documentos ------------------------------------------------------------------------


def digito_verificador_ruc(primeros_diez: str) -> int:
    """Dígito verificador SUNAT (módulo 11) de los 10 primeros dígitos de un RUC."""
    suma = sum(int(d) * p for d, p in zip(primeros_diez, _PESOS_RUC, strict=True))
    resto = 11 - suma % 11
    return {10: 0, 11: 1}.get(resto, resto)


def ruc_valido(ruc: str) -> bool:
    """``True`` si ``ruc`` tiene 11 dígitos, un prefijo válido y su dígito verificador."""
    return (
        len(ruc) == 11
        and _DIGITOS.fullmatch(ruc) is not None
        and ruc.startswith(PREFIJOS_RUC)
        and digito_verificador_ruc(ruc[:10]) == int(ruc[10])
    )


def _validar_numero_documento(tipo: TipoDocumento, numero: str) -> str:
    if tipo is TipoDocumento.dni:
        if len(numero) != 8 or not _DIGITOS.fullmatch(numero):
            raise ValueError("El DNI debe tener 8 dígitos")
        return numero
    if tipo is TipoDocumento.ruc:
        if len(numero) != 11 or not _DIGITOS.fullmatch(numero):
            raise ValueError("El RUC debe tener 11 dígitos")
        if not numero.startswith(PREFIJOS_RUC):
            raise ValueError("El RUC debe empezar por 10, 15, 17 o 20")
        if not ruc_valido(numero):
            raise ValueError("El RUC no es válido: su dígito verificador no corresponde")
        return numero
    numero = numero.upper()
    if tipo is TipoDocumento.carne_extranjeria:
        minimo, nombre = 9, "El carné de extranjería"
    else:
        minimo, nombre = 6, "El pasaporte"
    if not (minimo <= len(numero) <= 12) or not _ALFANUMERICO.fullmatch(numero):
        raise ValueError(f"{nombre} debe tener entre {minimo} y 12 letras o dígitos")
    return numero


def _hasta_20_mb(adjuntos: list[Adjunto]) -> list[Adjunto]:
    if sum(a.tamano_bytes for a in adjuntos) > MAX_BYTES_ADJUNTOS:
        raise ValueError("Los adjuntos no pueden sumar más de 20 MB")
    return adjuntos


# --- Modelos -------------------------------------------------------------------------------------


class Documento(_Modelo):
    """Documento de identidad."""

    tipo: TipoDocumento = Field(description="Tipo de documento de identidad.")
    numero: str = Field(
        description=(
            "Número del documento. DNI: 8 dígitos; RUC: 11 dígitos (empieza por 10, 15, 17 o 20 "
            "y con dígito verificador válido); carné de extranjería: 9 a 12 letras o dígitos; "
            "pasaporte: 6 a 12 letras o dígitos. Las letras se guardan en mayúsculas."
        ),
        examples=["45678912"],
    )

    @field_validator("numero")
    @classmethod
    def _numero_segun_tipo(cls, numero: str, info: ValidationInfo) -> str:
        tipo = info.data.get("tipo")
        if tipo is None:  # el tipo ya falló y tiene su propio error
            return numero
        return _validar_numero_documento(tipo, numero)


class Representante(_Modelo):
    """Representante (padre, madre o tutor) de un ciudadano menor de edad."""

    documento: Documento = Field(description="Documento de identidad del representante.")
    nombres: UnaLinea = Field(
        min_length=1, max_length=100, description="Nombres del representante."
    )
    apellidos: UnaLinea = Field(
        min_length=1, max_length=100, description="Apellidos del representante."
    )


class Ciudadano(_Modelo):
    """Datos de quien presenta el reclamo. Debe indicar al menos un correo o un teléfono."""

    documento: Documento = Field(description="Documento de identidad del ciudadano.")
    nombres: UnaLinea = Field(min_length=1, max_length=100, description="Nombres.")
    apellidos: UnaLinea = Field(min_length=1, max_length=100, description="Apellidos.")
    email: EmailStr | None = Field(default=None, description="Correo electrónico de contacto.")
    telefono: UnaLineaOpcional = Field(
        default=None,
        description=(
            "Teléfono de contacto: de 7 a 15 dígitos, con «+» inicial opcional. Se admiten "
            "espacios, guiones y paréntesis, que se eliminan."
        ),
        examples=["+51987654321"],
    )
    direccion: UnaLineaOpcional = Field(
        default=None, max_length=200, description="Dirección (opcional)."
    )
    es_menor: bool = Field(default=False, description="Si el ciudadano es menor de edad.")
    representante: Representante | None = Field(
        default=None,
        validate_default=True,
        description=(
            "Representante del menor: obligatorio si `es_menor`; no se indica en otro caso."
        ),
    )

    @field_validator("telefono")
    @classmethod
    def _telefono(cls, telefono: str | None) -> str | None:
        if telefono is None:
            return None
        limpio = _SEPARADORES_TELEFONO.sub("", telefono)
        if not _TELEFONO.fullmatch(limpio):
            raise ValueError("El teléfono debe tener entre 7 y 15 dígitos (con «+» opcional)")
        return limpio

    @field_validator("representante")
    @classmethod
    def _representante(
        cls, representante: Representante | None, info: ValidationInfo
    ) -> Representante | None:
        es_menor = info.data.get("es_menor")
        if es_menor is True and representante is None:
            raise ValueError("Si el ciudadano es menor de edad debe indicar a su representante")
        if es_menor is False and representante is not None:
            raise ValueError("Solo se indica representante si el ciudadano es menor de edad")
        return representante

    @model_validator(mode="after")
    def _algun_contacto(self) -> Ciudadano:
        if self.email is None and self.telefono is None:
            raise ValueError("Debe indicar al menos un correo electrónico o un teléfono")
        return self


class Adjunto(_Modelo):
    """Metadatos de un archivo adjunto (el contenido se sube aparte)."""

    nombre: UnaLinea = Field(min_length=1, max_length=200, description="Nombre del archivo.")
    tipo_mime: TipoMime = Field(description="Tipo del archivo: PDF, JPEG o PNG.")
    tamano_bytes: int = Field(
        ge=1, le=MAX_BYTES_ADJUNTOS, description="Tamaño del archivo en bytes (máximo 20 MB)."
    )


class HojaReclamacion(_Modelo):
    """Hoja de reclamación que presenta el ciudadano (o el personal de la entidad en su nombre)."""

    canal: Canal = Field(default=Canal.virtual, description="Canal por el que se registra.")
    ciudadano: Ciudadano = Field(description="Datos de quien reclama.")
    entidad_id: str = Field(
        pattern=r"^[a-z0-9-]{2,40}$",
        description="Identificador de la entidad reclamada (minúsculas, dígitos y guiones).",
        examples=["sunat"],
    )
    sede: UnaLineaOpcional = Field(
        default=None,
        max_length=200,
        description="Lugar de los hechos: sede de la entidad o dirección web.",
    )
    ocurrido_en: datetime = Field(
        description=(
            "Fecha y hora de los hechos, ISO-8601 con zona horaria (p. ej. "
            "2025-03-14T10:30:00-05:00). No puede ser futura. Se guarda en UTC."
        )
    )
    motivo: Motivo = Field(description="Motivo del reclamo.")
    descripcion: VariasLineas = Field(
        min_length=10, max_length=5000, description="Descripción de lo ocurrido."
    )
    pedido: VariasLineas = Field(
        min_length=5, max_length=2000, description="Lo que el ciudadano pide a la entidad."
    )
    medio_respuesta: MedioRespuesta = Field(
        description=(
            "Cómo desea recibir la respuesta. `email` exige el correo del ciudadano y "
            "`telefono` su teléfono."
        )
    )
    acepta_privacidad: bool = Field(
        description="Aceptación del aviso de privacidad (Ley 29733). Debe ser `true`."
    )
    adjuntos: list[Adjunto] = Field(
        default_factory=list,
        max_length=MAX_ADJUNTOS,
        description="Metadatos de los adjuntos: hasta 10 archivos y 20 MB en total.",
    )

    @field_validator("ocurrido_en", mode="before")
    @classmethod
    def _ocurrido_en_es_texto(cls, valor: object) -> object:
        # pydantic would read a number as seconds since 1970: the contract is an ISO-8601 text.
        if isinstance(valor, int | float):
            raise ValueError(
                "Debe ser una fecha y hora ISO-8601 con zona horaria (p. ej. "
                "2025-03-14T10:30:00-05:00)"
            )
        return valor

    @field_validator("ocurrido_en")
    @classmethod
    def _ocurrido_en(cls, ocurrido_en: datetime) -> datetime:
        if ocurrido_en.tzinfo is None or ocurrido_en.utcoffset() is None:
            raise ValueError(
                "La fecha y hora debe incluir la zona horaria (p. ej. 2025-03-14T10:30:00-05:00)"
            )
        if ocurrido_en > reloj.ahora() + TOLERANCIA_RELOJ:
            raise ValueError("La fecha y hora de los hechos no puede ser futura")
        return ocurrido_en.astimezone(UTC)

    @field_validator("medio_respuesta")
    @classmethod
    def _medio_respuesta(cls, medio: MedioRespuesta, info: ValidationInfo) -> MedioRespuesta:
        ciudadano = info.data.get("ciudadano")
        if ciudadano is None:  # el ciudadano ya falló y tiene sus propios errores
            return medio
        if medio is MedioRespuesta.email and ciudadano.email is None:
            raise ValueError("Para responder por correo debe indicar su correo electrónico")
        if medio is MedioRespuesta.telefono and ciudadano.telefono is None:
            raise ValueError("Para responder por teléfono debe indicar su número de teléfono")
        return medio

    @field_validator("acepta_privacidad")
    @classmethod
    def _acepta_privacidad(cls, acepta: bool) -> bool:
        if not acepta:
            raise ValueError("Debe aceptar el aviso de privacidad")
        return acepta

    @field_validator("adjuntos")
    @classmethod
    def _tamano_total(cls, adjuntos: list[Adjunto]) -> list[Adjunto]:
        return _hasta_20_mb(adjuntos)


class ReclamoRegistrado(_Modelo):
    """Respuesta al registrar un reclamo: el código que el ciudadano debe conservar."""

    codigo: str = Field(description="Código del reclamo.", examples=["R-7KQ2-M9XD-4HTP"])
    registrado_en: datetime = Field(description="Fecha y hora de registro (UTC).")
    mensaje: str = Field(description="Mensaje para el ciudadano.")


def _numero_de_documento(numero: str) -> str:
    numero = numero.upper()
    if not (6 <= len(numero) <= 12) or not _ALFANUMERICO.fullmatch(numero):
        raise ValueError("El número de documento debe tener entre 6 y 12 letras o dígitos")
    return numero


class _ConDocumento(_Modelo):
    """What only the citizen who filed the reclamo knows besides its código."""

    numero_documento: str = Field(
        description="Número del documento con el que se registró el reclamo.",
        examples=["45678912"],
    )

    @field_validator("numero_documento")
    @classmethod
    def _numero_documento(cls, numero: str) -> str:
        return _numero_de_documento(numero)


class ConsultaSeguimiento(_ConDocumento):
    """Consulta del seguimiento de un reclamo: se exige el código y el número de documento."""

    codigo: str = Field(
        description="Código del reclamo; se admiten minúsculas y guiones ausentes.",
        examples=["R-7KQ2-M9XD-4HTP"],
    )

    @field_validator("codigo")
    @classmethod
    def _codigo(cls, codigo: str) -> str:
        normalizado = normalizar_codigo(codigo)
        if not codigo_valido(normalizado):
            raise ValueError("El código de reclamo no es válido (formato R-XXXX-XXXX-XXXX)")
        return normalizado


class Subsanacion(_ConDocumento):
    """La información que la entidad pidió (observación), enviada por el ciudadano dentro del
    plazo para subsanar."""

    texto: VariasLineas = Field(
        min_length=10, max_length=5000, description="La información o aclaración solicitada."
    )
    adjuntos: list[Adjunto] = Field(
        default_factory=list,
        max_length=MAX_ADJUNTOS,
        description="Metadatos de los adjuntos: hasta 10 archivos y 20 MB en total.",
    )

    @field_validator("adjuntos")
    @classmethod
    def _tamano_total(cls, adjuntos: list[Adjunto]) -> list[Adjunto]:
        return _hasta_20_mb(adjuntos)


class Desistimiento(_ConDocumento):
    """El ciudadano desiste de su reclamo antes de la respuesta."""

    razon: UnaLineaOpcional = Field(
        default=None, max_length=1000, description="Por qué desiste (opcional)."
    )


class Tramite(BaseModel):
    """Respuesta a una subsanación o un desistimiento."""

    codigo: str = Field(description="Código del reclamo.")
    estado: EstadoReclamo = Field(description="Estado del reclamo tras la solicitud.")
    mensaje: str = Field(description="Mensaje para el ciudadano.")


class AdjuntoGuardado(BaseModel):
    """Un archivo del reclamo, guardado: se descarga por su `id`; `sha256` permite comprobar que
    el archivo descargado es el que se subió."""

    id: str = Field(description="Identificador del archivo en el reclamo")
    nombre: str = Field(description="Nombre con el que se subió")
    tipo_mime: str = Field(description="Tipo reconocido por el contenido del archivo")
    bytes: int = Field(description="Tamaño en bytes")
    sha256: str = Field(description="Huella SHA-256 del contenido, en hexadecimal")
    origen: Literal["ciudadano", "entidad"] = Field(
        description="Quién lo adjuntó: el ciudadano, o la entidad con su respuesta"
    )


class EntradaHistorial(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    fecha: datetime
    estado: EstadoReclamo | None = Field(description="Estado al que pasó el reclamo, si cambió")
    texto: str
    adjuntos: list[AdjuntoGuardado] = Field(
        default_factory=list, description="Los archivos que este paso agregó, con su SHA-256"
    )


class AdjuntosAgregados(BaseModel):
    """Respuesta al adjuntar archivos a un reclamo ya registrado (el ciudadano, o la entidad
    los de su respuesta)."""

    codigo: str = Field(description="Código del reclamo.")
    adjuntos: list[AdjuntoGuardado] = Field(description="Los archivos recién guardados")
    mensaje: str = Field(description="Mensaje para el ciudadano.")


class ReclamoConAdjuntos(ReclamoRegistrado):
    """Respuesta al registrar un reclamo con sus archivos."""

    adjuntos: list[AdjuntoGuardado] = Field(description="Los archivos guardados con el reclamo")


class DescargaCiudadano(_ConDocumento):
    """El ciudadano descarga un archivo de su reclamo con el número de documento (en el cuerpo,
    nunca en la URL)."""


class EntidadResumida(BaseModel):
    id: str
    nombre: str | None


class Seguimiento(BaseModel):
    """Lo que el ciudadano ve de su reclamo: estado, plazo e historial."""

    # Every field is always sent: a generated client gets `X | None`, not "maybe absent".
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    codigo: str
    entidad: EntidadResumida = Field(description="La entidad que lo atiende ahora")
    motivo: Motivo
    estado: EstadoReclamo
    registrado_en: datetime
    fecha_recepcion: date | None = Field(description="Día desde el que corre el plazo")
    vence_en: datetime | None = Field(description="Fin del plazo legal (UTC)")
    vencido: bool = Field(description="Si venció el plazo sin que la entidad respondiera")
    dias_habiles_usados: int | None = None
    dentro_del_plazo: bool | None = None
    observacion: str | None = Field(
        description="Lo que la entidad pidió y el ciudadano debe enviar (si está observado)"
    )
    subsanar_hasta: datetime | None = Field(
        description="Hasta cuándo puede subsanar (UTC), si está observado"
    )
    reloj_pausado: bool = Field(
        description="Si el plazo de la entidad está suspendido mientras espera la subsanación"
    )
    encuesta: str | None = Field(
        description="Enlace a la encuesta de satisfacción mientras puede responderse"
    )
    adjuntos: list[AdjuntoGuardado] = Field(
        default_factory=list, description="Los archivos del reclamo (hasta 10, 20 MB en total)"
    )
    historial: list[EntradaHistorial]


__all__ = ["errores_legibles", "traducir_errores"]  # re-exported for the tests and callers
