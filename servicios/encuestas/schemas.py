"""encuestas' contract: the satisfaction survey a citizen answers once, after the answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comun.eventos import VariasLineasOpcional
from comun.vocabulario import EstadoEncuesta


class Impulsor(StrEnum):
    """Drivers of satisfaction of the public-service quality norm."""

    tiempo = "tiempo"
    trato = "trato"
    informacion = "informacion"
    acceso = "acceso"
    resultado = "resultado"
    confianza = "confianza"


class RespuestaEncuesta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    satisfaccion: int = Field(ge=1, le=5, description="Satisfacción general, de 1 a 5")
    resuelto: bool = Field(description="¿La respuesta resolvió su problema?")
    impulsores: dict[Impulsor, int] = Field(
        description="Calificación de 1 a 5 de cada impulsor: " + ", ".join(Impulsor)
    )
    comentario: VariasLineasOpcional = Field(default=None, max_length=2000)

    @field_validator("impulsores")
    @classmethod
    def _todos_de_1_a_5(cls, impulsores: dict[Impulsor, int]) -> dict[Impulsor, int]:
        faltan = [i.value for i in Impulsor if i not in impulsores]
        if faltan:
            raise ValueError(f"Falta calificar: {', '.join(faltan)}")
        if any(not 1 <= v <= 5 for v in impulsores.values()):
            raise ValueError("Cada calificación debe ser de 1 a 5")
        return impulsores


class Encuesta(BaseModel):
    # Every field is always sent: a generated client gets `X | None`, not "maybe absent".
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)
    codigo: str
    entidad_id: str
    estado: EstadoEncuesta
    vence_en: datetime | None = Field(
        default=None, description="Hasta cuándo puede responderse (UTC)"
    )
    preguntas: dict[str, str]


PREGUNTAS = {
    "satisfaccion": "En general, ¿qué tan satisfecho está con la atención de su reclamo? (1 a 5)",
    "resuelto": "¿La respuesta resolvió su problema?",
    "impulsores": "Califique de 1 a 5: " + ", ".join(Impulsor),
}
