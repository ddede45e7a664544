"""What the citizen may do on a reclamo by its state, and the bodies of those requests (no I/O)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from servicios.registro.dominio import puede_desistir, puede_subsanar
from servicios.registro.schemas import Desistimiento, Subsanacion, errores_legibles

ESTADOS = [
    "registrado",
    "derivado",
    "en_atencion",
    "observado",
    "subsanado",
    "respondido",
    "cerrado",
    "archivado",
    "desistido",
]
MB = 1024 * 1024


@pytest.mark.parametrize("estado", ESTADOS)
def test_solo_se_subsana_un_reclamo_observado(estado: str):
    assert puede_subsanar(estado) is (estado == "observado")


@pytest.mark.parametrize("estado", ESTADOS)
def test_se_desiste_en_cualquier_momento_antes_de_la_respuesta(estado: str):
    cerrados = {"respondido", "cerrado", "archivado", "desistido"}
    assert puede_desistir(estado) is (estado not in cerrados)


def campos(modelo, datos: dict) -> set[str]:
    with pytest.raises(ValidationError) as exc:
        modelo.model_validate(datos)
    return {e["campo"] for e in errores_legibles(exc.value)}


def adjunto(tamano: int) -> dict:
    return {"nombre": "ticket.pdf", "tipo_mime": "application/pdf", "tamano_bytes": tamano}


def test_subsanacion_valida():
    s = Subsanacion.model_validate(
        {"numero_documento": "ab123456", "texto": "  El ticket es el 1234.  ", "adjuntos": []}
    )
    assert s.numero_documento == "AB123456"
    assert s.texto == "El ticket es el 1234."


def test_subsanacion_limites():
    base = {"numero_documento": "45678912", "texto": "El ticket es el 1234."}
    assert campos(Subsanacion, {**base, "texto": "corto"}) == {"texto"}
    assert campos(Subsanacion, {**base, "texto": "x" * 5001}) == {"texto"}
    assert campos(Subsanacion, {**base, "adjuntos": [adjunto(1000)] * 11}) == {"adjuntos"}
    assert campos(Subsanacion, {**base, "adjuntos": [adjunto(11 * MB)] * 2}) == {"adjuntos"}
    assert campos(Subsanacion, {"texto": base["texto"]}) == {"numero_documento"}
    assert campos(Subsanacion, {**base, "numero_documento": "12-34"}) == {"numero_documento"}
    assert campos(Subsanacion, {**base, "codigo": "R-2222-3333-4444"}) == {"codigo"}


def test_desistimiento():
    assert Desistimiento.model_validate({"numero_documento": "45678912"}).razon is None
    assert campos(Desistimiento, {"numero_documento": "45678912", "razon": "x" * 1001}) == {"razon"}
