"""Routing by the entity's rules and the states a reclamo may go through (pure domain)."""

import pytest

from comun.eventos import Entidad
from servicios.derivacion.dominio import derivar, errores_de_catalogo, puede_pasar


def entidad(**cambios) -> Entidad:
    base = {
        "id": "munilima",
        "nombre": "Municipalidad Metropolitana de Lima",
        "tipo": "municipalidad",
        "unidades": [
            {"id": u, "nombre": u.title(), "responsable": {"nombre": "R", "email": f"{u}@mml.pe"}}
            for u in ("mesa", "licencias", "cercado")
        ],
        "reglas": [
            {"motivo": "procedimiento", "unidad": "licencias"},
            {"sede": "Cercado de Lima", "unidad": "cercado"},
            {"motivo": "trato", "sede": "Cercado de Lima", "unidad": "mesa"},
        ],
        "unidad_por_defecto": "mesa",
    }
    return Entidad.model_validate(base | cambios)


@pytest.mark.parametrize(
    ("motivo", "sede", "unidad", "por_regla"),
    [
        ("procedimiento", None, "licencias", True),
        ("procedimiento", "Cercado de Lima", "licencias", True),  # the first matching rule wins
        ("tiempo", "cercado de lima", "cercado", True),  # sede compared without case
        ("trato", "Cercado de Lima", "cercado", True),  # rule 2 matches before rule 3
        ("tiempo", "Miraflores", "mesa", False),
        ("otros", None, "mesa", False),
    ],
)
def test_derivar_por_reglas(motivo, sede, unidad, por_regla):
    elegida, segun_regla = derivar(entidad(), motivo, sede)
    assert (elegida.id, segun_regla) == (unidad, por_regla)


def test_catalogo_inconsistente_nombra_los_campos():
    mala = entidad(unidad_por_defecto="nadie", reglas=[{"motivo": "trato", "unidad": "fantasma"}])
    assert {e["campo"] for e in errores_de_catalogo(mala)} == {
        "unidad_por_defecto",
        "reglas.0.unidad",
    }
    assert errores_de_catalogo(entidad()) == []


def test_unidades_repetidas():
    u = entidad().unidades[0].model_dump()
    assert errores_de_catalogo(entidad(unidades=[u, u], reglas=[], unidad_por_defecto="mesa"))


@pytest.mark.parametrize(
    ("actual", "nuevo", "permitido"),
    [
        ("derivado", "en_atencion", True),
        ("derivado", "respondido", True),
        ("en_atencion", "respondido", True),
        ("respondido", "cerrado", True),
        ("en_atencion", "en_atencion", False),
        ("respondido", "en_atencion", False),
        ("cerrado", "respondido", False),
        ("derivado", "cerrado", False),
        ("desconocido", "respondido", False),
    ],
)
def test_transiciones(actual, nuevo, permitido):
    assert puede_pasar(actual, nuevo) is permitido
