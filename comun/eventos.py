"""The integration events: one envelope and one schema per `tipo` (DESIGN.md §3).

Producers build events with `nuevo_evento`, consumers read them with `leer_evento`; both validate
against the same schemas, so an event that does not match its schema never enters or leaves a
service. Events are named by what happened, in the past tense.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
)

from comun import reloj
from comun.vocabulario import NivelGobierno, TipoMime

VERSION = 1


class Datos(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Evento(BaseModel):
    """The envelope every event travels in."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tipo: str
    version: int = VERSION
    ocurrido_en: datetime
    fuente: str
    codigo: str | None = None  # the reclamo; None for catalogue events
    correlacion: str | None = None  # request id that started the chain
    datos: dict[str, Any]

    def contenido(self) -> Datos:
        """The `datos` validated against the schema of this event's tipo."""
        return ESQUEMAS[self.tipo].model_validate(self.datos)

    def consecuencia(self, tipo: str, datos: Datos, fuente: str) -> Evento:
        """An event this one caused: same reclamo, same correlation, so a chain can be traced."""
        return nuevo_evento(
            tipo, datos, fuente=fuente, codigo=self.codigo, correlacion=self.correlacion
        )


class EventoInvalido(ValueError):
    """A message that is not a valid event: it is parked, never retried."""


def nuevo_evento(
    tipo: str,
    datos: Datos,
    *,
    fuente: str,
    codigo: str | None = None,
    correlacion: str | None = None,
    ocurrido_en: datetime | None = None,
) -> Evento:
    esquema = ESQUEMAS.get(tipo)
    if esquema is None or not isinstance(datos, esquema):
        raise TypeError(f"{tipo} lleva datos {esquema.__name__ if esquema else '?'}")
    return Evento(
        id=str(uuid.uuid4()),
        tipo=tipo,
        ocurrido_en=ocurrido_en or reloj.ahora(),
        fuente=fuente,
        codigo=codigo,
        correlacion=correlacion,
        datos=datos.model_dump(mode="json"),
    )


def leer_evento(cuerpo: bytes) -> tuple[Evento, Datos]:
    try:
        evento = Evento.model_validate_json(cuerpo)
    except ValidationError as exc:
        primero = exc.errors(include_input=False)[0]
        raise EventoInvalido(f"sobre inválido: {primero['loc']} {primero['msg']}") from exc
    if evento.tipo not in ESQUEMAS:
        raise EventoInvalido(f"tipo desconocido: {evento.tipo}")
    try:
        return evento, evento.contenido()
    except ValidationError as exc:
        # Field names and messages only: the values may be personal data.
        errores = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        raise EventoInvalido(f"datos inválidos para {evento.tipo}: {errores}") from exc


# --- text fields that reach mails and screens -----------------------------------------------------

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a line break in a
# name would add lines to the mails it is written into. The patterns go into the JSON schema so a
# client (or a fuzzer) knows what is accepted; the validators give the Spanish message.
PATRON_UNA_LINEA = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
PATRON_VARIAS_LINEAS = r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def una_linea(texto: str | None) -> str | None:
    if texto is not None and _CONTROL.search(texto):
        raise ValueError("No puede contener saltos de línea ni caracteres de control")
    return texto


def _saltos_de_linea(texto: Any) -> Any:
    # CRLF and CR (what browsers and some systems send) are kept as LF.
    if isinstance(texto, str):
        return texto.replace("\r\n", "\n").replace("\r", "\n")
    return texto


def varias_lineas(texto: str | None) -> str | None:
    if texto is not None and _CONTROL.search(texto.replace("\n", "")):
        raise ValueError(
            "No puede contener caracteres de control (solo se admiten saltos de línea)"
        )
    return texto


# Lengths go on the field (`nombres: UnaLinea = Field(max_length=100)`): so they stay the string's
# own (a "caracteres" message, not "elementos"). An optional field uses the *Opcional type, not
# `UnaLinea | None`, for the same reason.
_UNA_LINEA = (AfterValidator(una_linea), Field(json_schema_extra={"pattern": PATRON_UNA_LINEA}))
_VARIAS_LINEAS = (
    BeforeValidator(_saltos_de_linea),
    AfterValidator(varias_lineas),
    Field(json_schema_extra={"pattern": PATRON_VARIAS_LINEAS}),
)
#: A name or any other single-line text: no line breaks, no control characters.
UnaLinea = Annotated[str, *_UNA_LINEA]
UnaLineaOpcional = Annotated[str | None, *_UNA_LINEA]
#: A text that may have several lines (descripción, pedido, respuesta...): line breaks, no other
#: control characters.
VariasLineas = Annotated[str, *_VARIAS_LINEAS]
VariasLineasOpcional = Annotated[str | None, *_VARIAS_LINEAS]


# --- catalogue (owned by derivacion) -------------------------------------------------------------

Identificador = Annotated[str, Field(pattern=r"^[a-z0-9-]{2,40}$")]


class Responsable(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nombre: UnaLinea = Field(min_length=1, max_length=120)
    email: EmailStr


class Unidad(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: Identificador
    nombre: UnaLinea = Field(min_length=1, max_length=200)
    responsable: Responsable = Field(description="Responsable titular de la unidad")
    alterno: Responsable | None = Field(default=None, description="Responsable alterno")

    def responsables(self) -> list[Responsable]:
        """Everyone who must hear about the unit's reclamos: titular, then alterno."""
        return [self.responsable, *([self.alterno] if self.alterno else [])]


class Regla(BaseModel):
    """Routes a reclamo to `unidad` when every given condition matches."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    unidad: Identificador
    motivo: UnaLineaOpcional = Field(default=None, max_length=200)
    sede: UnaLineaOpcional = Field(default=None, max_length=200)


class Entidad(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: Identificador
    nombre: UnaLinea = Field(min_length=2, max_length=200)
    tipo: UnaLinea = Field(
        max_length=100, description="ministerio, municipalidad, consulado, organismo..."
    )
    nivel: NivelGobierno = Field(default=NivelGobierno.nacional, description="Nivel de gobierno")
    pais: str = Field(default="PE", pattern=r"^[A-Z]{2}$", description="País (consulados)")
    unidades: list[Unidad] = Field(min_length=1)
    reglas: list[Regla] = []
    unidad_por_defecto: Identificador


class EntidadActualizada(Datos):
    entidad: Entidad


# --- reclamo ------------------------------------------------------------------------------------


class Contacto(BaseModel):
    """What the entity and notificaciones need to answer the citizen (Ley 29733: only them)."""

    model_config = ConfigDict(extra="forbid")
    tipo_documento: str
    numero_documento: str
    nombres: str
    apellidos: str
    email: str | None = None
    telefono: str | None = None


class ReclamoRegistrado(Datos):
    entidad_id: str
    canal: str
    motivo: str
    sede: str | None = None
    ocurrido_en: datetime
    registrado_en: datetime
    descripcion: str
    pedido: str
    medio_respuesta: str
    contacto: Contacto


class ReclamoDerivado(Datos):
    entidad_id: str
    unidad_id: str
    unidad_nombre: str
    por_regla: bool
    motivo: str | None = None  # the reclamo's motivo, for the responsables' mail


class ReclamoReasignado(Datos):
    """Moved to another unit of the same entity; the old unit no longer sees it."""

    entidad_id: str
    unidad_anterior_id: str
    unidad_id: str
    unidad_nombre: str
    razon: str


class ReclamoObservado(Datos):
    """The entity asks the citizen for missing data (observación)."""

    entidad_id: str
    unidad_id: str
    observacion: str  # what is missing, in words


class ArchivoAdjunto(BaseModel):
    """Metadatos de un archivo que adjuntó el ciudadano (el contenido se guarda aparte)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nombre: UnaLinea = Field(min_length=1, max_length=200)
    tipo_mime: TipoMime
    bytes: int = Field(ge=1, le=20 * 1024 * 1024)


class ArchivoGuardado(ArchivoAdjunto):
    """A file registro checked and stored: what the entity sees of it (never its content)."""

    id: str = Field(pattern=r"^[0-9a-f]{24}$", description="Para descargarlo")
    # Checked by content in registro, which also admits office documents: any type it stored.
    tipo_mime: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]{1,100}$")  # type: ignore[assignment]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ReclamoAdjuntado(Datos):
    """The citizen added files to a filed reclamo (published by registro, which keeps them)."""

    entidad_id: str  # the entity that has the reclamo when the files arrive
    adjuntos: list[ArchivoGuardado] = Field(min_length=1, max_length=10)


class ReclamoSubsanado(Datos):
    """The citizen answered an observación (published by registro)."""

    entidad_id: str
    texto: str
    adjuntos: list[ArchivoAdjunto] = []


class ReclamoArchivado(Datos):
    entidad_id: str
    razon: str  # "subsanacion_vencida"


class ReclamoTrasladado(Datos):
    """Sent to the competent entity; a reclamo.derivado at the new entity follows."""

    entidad_anterior_id: str
    entidad_id: str
    entidad_nombre: str
    razon: str


class ReclamoDesistido(Datos):
    """The citizen withdrew the reclamo before the answer (published by registro)."""

    entidad_id: str
    razon: str | None = None


class ReclamoEnAtencion(Datos):
    entidad_id: str
    unidad_id: str


class ReclamoRespondido(Datos):
    entidad_id: str
    respuesta: str
    respondido_en: datetime


class ReclamoCerrado(Datos):
    entidad_id: str
    motivo: str  # "encuesta_respondida" | "encuesta_vencida"


# --- plazos -------------------------------------------------------------------------------------


class PlazoCalculado(Datos):
    entidad_id: str
    fecha_recepcion: date
    vence_en: datetime
    dias_habiles: int


class PlazoDetenido(Datos):
    entidad_id: str
    detenido_en: datetime
    dias_habiles_usados: int
    dentro_del_plazo: bool


class PlazoRecalculado(Datos):
    """The deadline moved: a non-working day declared or withdrawn, a pause ended, a traslado."""

    entidad_id: str
    vence_en: datetime
    vence_antes: datetime | None = None
    razon: Literal["calendario", "subsanacion", "traslado"]


class SubsanacionAbierta(Datos):
    """plazos' answer to an observación: the citizen's deadline, and whether the clock paused."""

    entidad_id: str
    observacion_id: str  # the reclamo.observado event it answers
    subsanar_hasta: datetime
    dias_habiles: int
    reloj_pausado: bool


class SubsanacionVencida(Datos):
    entidad_id: str
    subsanar_hasta: datetime


class PlazoAviso(Datos):
    """plazo.por_vencer and plazo.vencido: raised once each per reclamo."""

    entidad_id: str
    vence_en: datetime
    dias_habiles_restantes: int  # 0 once overdue


class Intervencion(Datos):
    """The Secretaría de Gestión Pública intervened in an overdue reclamo."""

    entidad_id: str
    nota: str


# --- encuestas ----------------------------------------------------------------------------------


class EncuestaCreada(Datos):
    entidad_id: str
    # The single-use token travels to notificaciones, which mails the link, and to registro, which
    # shows it in tracking (behind código + document) for citizens without email; encuestas keeps
    # only its hash.
    token: str
    vence_en: datetime | None = None


class EncuestaVencida(Datos):
    entidad_id: str


class EncuestaRespondida(Datos):
    entidad_id: str
    satisfaccion: int
    resuelto: bool
    impulsores: dict[str, int]


# --- notificaciones -----------------------------------------------------------------------------


class NotificacionEntregada(Datos):
    plantilla: str
    canal: str
    destinatario: str  # a role ("ciudadano", "responsable"), never an address


ESQUEMAS: dict[str, type[Datos]] = {
    "catalogo.entidad_actualizada": EntidadActualizada,
    "reclamo.registrado": ReclamoRegistrado,
    "reclamo.derivado": ReclamoDerivado,
    "reclamo.en_atencion": ReclamoEnAtencion,
    "reclamo.reasignado": ReclamoReasignado,
    "reclamo.observado": ReclamoObservado,
    "reclamo.subsanado": ReclamoSubsanado,
    "reclamo.adjuntado": ReclamoAdjuntado,
    "reclamo.archivado": ReclamoArchivado,
    "reclamo.trasladado": ReclamoTrasladado,
    "reclamo.desistido": ReclamoDesistido,
    "reclamo.respondido": ReclamoRespondido,
    "reclamo.cerrado": ReclamoCerrado,
    "plazo.calculado": PlazoCalculado,
    "plazo.recalculado": PlazoRecalculado,
    "plazo.detenido": PlazoDetenido,
    "plazo.subsanacion_abierta": SubsanacionAbierta,
    "plazo.subsanacion_vencida": SubsanacionVencida,
    "plazo.por_vencer": PlazoAviso,
    "plazo.vencido": PlazoAviso,
    "supervision.intervencion": Intervencion,
    "encuesta.creada": EncuestaCreada,
    "encuesta.respondida": EncuestaRespondida,
    "encuesta.vencida": EncuestaVencida,
    "notificacion.enviada": NotificacionEntregada,
    "notificacion.fallida": NotificacionEntregada,
}
