"""Routing by the entity's rules, the states a reclamo may go through, the bandeja's urgency order
and its cursor (pure domain)."""

import warnings
from datetime import UTC, datetime, timedelta

import pytest

from comun.eventos import Entidad
from comun.vocabulario import NivelGobierno
from servicios.derivacion.dominio import (
    ACCIONES,
    ESTADOS,
    MAQUINA,
    TERMINALES,
    CursorInvalido,
    clave_urgencia,
    codificar_cursor,
    decodificar_cursor,
    derivar,
    errores_de_catalogo,
    limite_vencimiento,
    puede,
    rechazo,
    resultado,
    tope_vencimiento,
)


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


# --- the state machine of the contract (issue 6) ----------------------------------------------

PERMITIDAS = {
    ("registrado", "desistir"): "desistido",
    ("derivado", "atender"): "en_atencion",
    ("derivado", "observar"): "observado",
    ("derivado", "reasignar"): "derivado",
    ("derivado", "trasladar"): "derivado",
    ("derivado", "responder"): "respondido",
    ("derivado", "desistir"): "desistido",
    ("en_atencion", "observar"): "observado",
    ("en_atencion", "reasignar"): "derivado",
    ("en_atencion", "trasladar"): "derivado",
    ("en_atencion", "responder"): "respondido",
    ("en_atencion", "desistir"): "desistido",
    ("observado", "subsanar"): "subsanado",
    ("observado", "archivar"): "archivado",
    ("observado", "desistir"): "desistido",
    ("subsanado", "atender"): "en_atencion",
    ("subsanado", "observar"): "observado",
    ("subsanado", "reasignar"): "derivado",
    ("subsanado", "trasladar"): "derivado",
    ("subsanado", "responder"): "respondido",
    ("subsanado", "desistir"): "desistido",
    ("respondido", "cerrar"): "cerrado",
}
NO_PERMITIDAS = [(e, a) for e in ESTADOS for a in ACCIONES if (e, a) not in PERMITIDAS]


def test_la_maquina_es_la_del_contrato():
    assert set(ESTADOS) == {
        "registrado",
        "derivado",
        "en_atencion",
        "observado",
        "subsanado",
        "respondido",
        "cerrado",
        "archivado",
        "desistido",
    }
    assert {(e, a): r for e, acciones in MAQUINA.items() for a, r in acciones.items()} == (
        PERMITIDAS
    )
    assert {"cerrado", "archivado", "desistido"} == TERMINALES


@pytest.mark.parametrize(("estado", "accion"), sorted(PERMITIDAS))
def test_accion_permitida(estado, accion):
    assert puede(estado, accion)
    assert resultado(estado, accion) == PERMITIDAS[(estado, accion)]


@pytest.mark.parametrize(("estado", "accion"), NO_PERMITIDAS)
def test_accion_no_permitida_nombra_el_estado(estado, accion):
    assert not puede(estado, accion)
    with pytest.raises(KeyError):
        resultado(estado, accion)
    mensaje = rechazo(estado, accion)
    assert mensaje.startswith(f"Un reclamo en estado {estado} no puede ")


def test_estado_o_accion_desconocidos():
    assert not puede("desconocido", "responder")
    assert not puede("derivado", "borrar")


def test_los_terminales_no_admiten_nada():
    for estado in TERMINALES:
        assert not any(puede(estado, a) for a in ACCIONES)


# --- urgency and cursor -------------------------------------------------------------------------

T = datetime(2026, 12, 1, 4, 59, 59, tzinfo=UTC)


def test_urgencia_ordena_por_vencimiento_y_luego_codigo():
    claves = [
        clave_urgencia("R-BBBB-0000-0000", "derivado", T),
        clave_urgencia("R-AAAA-0000-0000", "derivado", T),
        clave_urgencia("R-ZZZZ-0000-0000", "en_atencion", T - timedelta(days=3)),
        clave_urgencia("R-CCCC-0000-0000", "subsanado", T + timedelta(milliseconds=1)),
    ]
    assert sorted(claves) == [claves[2], claves[1], claves[0], claves[3]]


@pytest.mark.parametrize(
    ("estado", "vence_en", "pausado"),
    [
        ("derivado", None, False),  # not computed yet
        ("observado", T, True),  # paused while waiting for the subsanación
        ("respondido", T, False),  # stopped
        ("cerrado", T, False),
        ("desistido", T, False),
        (None, T, False),  # not routed yet
    ],
)
def test_sin_plazo_corriendo_va_despues(estado, vence_en, pausado):
    sin = clave_urgencia("R-AAAA-0000-0000", estado, vence_en, pausado)
    lejano = clave_urgencia("R-ZZZZ-0000-0000", "derivado", T + timedelta(days=3650))
    assert sin > lejano


def test_observado_sin_pausa_sigue_corriendo():
    assert clave_urgencia("R-A", "observado", T, False) < clave_urgencia("R-A", "derivado", None)


def test_urgencia_independiente_de_la_zona_y_microsegundos():
    from comun.tiempo import LIMA

    assert clave_urgencia("R-A", "derivado", T.astimezone(LIMA)) == clave_urgencia(
        "R-A", "derivado", T.replace(microsecond=999)
    )


def test_cursor_ida_y_vuelta():
    for clave in (clave_urgencia("R-2345-ABCD-EFGH", "derivado", T), "1|R-2345-ABCD-EFGH"):
        cursor = codificar_cursor(clave)
        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
        assert decodificar_cursor(cursor) == clave


@pytest.mark.parametrize(
    "cursor", ["", "!!!", "a", codificar_cursor("2|R-A"), codificar_cursor("0|ayer|R-A"), "____"]
)
def test_cursor_mal_formado(cursor):
    with pytest.raises(CursorInvalido, match="cursor"):
        decodificar_cursor(cursor)


def test_tope_de_vencimiento_es_estricto():
    tope = tope_vencimiento(T)
    assert clave_urgencia("R-A", "derivado", T - timedelta(milliseconds=1)) < tope
    assert clave_urgencia("R-A", "derivado", T) > tope
    assert clave_urgencia("R-A", "derivado", None) > tope


def test_vence_antes_fecha_es_el_inicio_del_dia_en_lima():
    assert limite_vencimiento("2026-12-02") == datetime(2026, 12, 2, 5, tzinfo=UTC)
    assert limite_vencimiento("2026-12-02T10:00:00") == datetime(2026, 12, 2, 15, tzinfo=UTC)
    assert limite_vencimiento("2026-12-02T10:00:00Z") == datetime(2026, 12, 2, 10, tzinfo=UTC)
    for malo in ("2026-02-30", "mañana", "2026-13-01T00:00"):
        with pytest.raises(ValueError, match="fecha"):
            limite_vencimiento(malo)


def test_una_entidad_sin_nivel_es_nacional_y_se_serializa_sin_avisos() -> None:
    """The default level was the string "nacional" in an enum field: every dump of a catalogue
    entry without `nivel` warned (PydanticSerializationUnexpectedValue), 30+ times per test run."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert entidad().model_dump(mode="json")["nivel"] == "nacional"
        assert entidad().model_dump()["nivel"] is NivelGobierno.nacional
