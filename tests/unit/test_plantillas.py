"""notificaciones' templates: Spanish, the subjects the platform promises, the motivo named, and
dates shown in Lima (UTC-5, no daylight saving), computed here by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from servicios.notificaciones import plantillas

COD = "R-7K2M-9XPQ-4TWA"
MINSA = "Ministerio de Salud"
# 23:59:59 Lima on 1 December 2026 is 04:59:59 UTC on the 2nd: the day shown is the 1st.
VENCE = datetime(2026, 12, 2, 4, 59, 59, tzinfo=UTC)
# 23:59:59 Lima on 26 November 2026.
SUBSANAR = datetime(2026, 11, 27, 4, 59, 59, tzinfo=UTC)


def test_derivado_nombra_el_motivo():
    asunto, cuerpo = plantillas.derivado_a_responsable(
        COD, MINSA, "Oficina General de Infraestructura", "Jorge Huamán Ríos", "infraestructura"
    )
    assert asunto == f"Nuevo reclamo {COD} en su bandeja"
    assert "motivo: infraestructura" in cuerpo
    assert "—" not in cuerpo
    assert cuerpo.startswith("Estimado(a) Jorge Huamán Ríos:")
    assert "Oficina General de Infraestructura (Ministerio de Salud)" in cuerpo


def test_reasignado_nombra_la_unidad_nueva_la_anterior_y_la_razon():
    asunto, cuerpo = plantillas.reasignado_a_responsable(
        COD,
        MINSA,
        "Oficina de Integridad Institucional",
        "Lucía Paredes Soto",
        "El caso trata de un cobro indebido",
        "Oficina de Atención al Ciudadano",
    )
    assert asunto == f"Reclamo {COD} reasignado a su unidad"
    assert "desde Oficina de Atención al Ciudadano a Oficina de Integridad Institucional" in cuerpo
    assert "Razón de la reasignación: El caso trata de un cobro indebido" in cuerpo
    _, sin_anterior = plantillas.reasignado_a_responsable(
        COD, MINSA, "Integridad", "Lucía", "razón", None
    )
    assert "reasignado a Integridad" in sin_anterior


def test_desistido_con_y_sin_razon():
    asunto, cuerpo = plantillas.desistido_a_responsable(
        COD, MINSA, "Atención", "Rosa", "Ya me atendieron en la sede"
    )
    assert asunto == f"Reclamo {COD}: el ciudadano desistió"
    assert "desistió del reclamo" in cuerpo
    assert "Razón indicada por el ciudadano: Ya me atendieron en la sede" in cuerpo
    assert "no se requiere ninguna acción más" in cuerpo
    _, sin_razon = plantillas.desistido_a_responsable(COD, MINSA, "Atención", "Rosa", None)
    assert "Razón" not in sin_razon


def test_por_vencer_muestra_el_dia_en_lima_y_los_dias_que_quedan():
    asunto, cuerpo = plantillas.por_vencer_a_responsable(COD, MINSA, "Atención", "Rosa", VENCE, 5)
    assert asunto == f"Reclamo {COD} por vencer"
    assert "vence el 01/12/2026" in cuerpo
    assert "02/12/2026" not in cuerpo  # the UTC day is not the legal one
    assert "quedan 5 días hábiles" in cuerpo
    _, uno = plantillas.por_vencer_a_responsable(COD, MINSA, "Atención", "Rosa", VENCE, 1)
    assert "queda 1 día hábil" in uno


def test_vencido_muestra_el_dia_en_lima():
    asunto, cuerpo = plantillas.vencido_a_responsable(COD, MINSA, "Atención", "Rosa", VENCE)
    assert asunto == f"Reclamo {COD} vencido"
    assert "venció el 01/12/2026 sin respuesta" in cuerpo
    assert "fuera de plazo" in cuerpo


def test_intervencion_lleva_la_nota_de_la_sgp():
    nota = "Se solicita responder en un plazo de 48 horas e informar a la SGP."
    asunto, cuerpo = plantillas.intervencion_a_responsable(COD, MINSA, "Atención", "Rosa", nota)
    assert asunto == f"Intervención de la Secretaría de Gestión Pública: reclamo {COD}"
    assert "La Secretaría de Gestión Pública intervino en el reclamo" in cuerpo
    assert nota in cuerpo


@pytest.mark.parametrize(
    ("pausado", "frase"),
    [(True, "queda suspendido"), (False, "sigue corriendo")],
)
def test_observacion_dice_que_falta_y_hasta_cuando(pausado, frase):
    falta = "Adjunte la boleta de la atención y precise la fecha de la cita."
    asunto, cuerpo = plantillas.observacion(COD, MINSA, "María", falta, SUBSANAR, pausado)
    assert asunto == f"Reclamo {COD}: la entidad necesita más información"
    assert cuerpo.startswith("Estimado(a) María:")
    assert falta in cuerpo
    assert "Tiene hasta el 26/11/2026 23:59 (hora de Lima) para subsanar" in cuerpo
    assert "será archivado" in cuerpo
    assert frase in cuerpo


def test_archivado_dice_que_puede_presentar_otro():
    asunto, cuerpo = plantillas.archivado(COD, MINSA, "María", "subsanacion_vencida")
    assert asunto == f"Reclamo {COD} archivado"
    assert "no se recibió a tiempo la información" in cuerpo
    assert "puede presentar un nuevo reclamo" in cuerpo


def test_trasladado_nombra_la_entidad_nueva_y_la_razon():
    asunto, cuerpo = plantillas.trasladado(
        COD,
        MINSA,
        "Municipalidad Metropolitana de Lima",
        "María",
        "La licencia de funcionamiento es competencia municipal",
    )
    assert asunto == f"Reclamo {COD} trasladado"
    assert "trasladado desde Ministerio de Salud a Municipalidad Metropolitana de Lima" in cuerpo
    assert "Motivo del traslado: La licencia de funcionamiento es competencia municipal" in cuerpo
    _, sin_anterior = plantillas.trasladado(COD, None, "Municipalidad", "María", "razón")
    assert "trasladado a Municipalidad" in sin_anterior


@pytest.mark.parametrize(
    ("razon", "frase"),
    [
        ("calendario", "día no laborable"),
        ("subsanacion", "tras su subsanación"),
        ("traslado", "fue trasladado"),
    ],
)
def test_nuevo_plazo_muestra_la_fecha_nueva_en_lima(razon, frase):
    # 23:59:59 Lima on 13 January 2027; before, the 12th.
    nuevo = datetime(2027, 1, 14, 4, 59, 59, tzinfo=UTC)
    antes = datetime(2027, 1, 13, 4, 59, 59, tzinfo=UTC)
    asunto, cuerpo = plantillas.nuevo_plazo(COD, MINSA, "María", nuevo, razon, antes)
    assert asunto == f"Reclamo {COD}: nuevo plazo de respuesta"
    assert "tiene ahora hasta el 13/01/2027 (antes: 12/01/2027) para responder" in cuerpo
    assert frase in cuerpo
    _, sin_antes = plantillas.nuevo_plazo(COD, MINSA, "María", nuevo, razon, None)
    assert "antes:" not in sin_antes


def test_acuse_muestra_el_vencimiento_en_lima():
    asunto, cuerpo = plantillas.acuse(COD, MINSA, "María", "23/11/2026", VENCE, 30)
    assert asunto == f"Reclamo {COD} registrado ante {MINSA}"
    assert "máximo de 30 días hábiles, hasta el 01/12/2026" in cuerpo
