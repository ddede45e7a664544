"""The life of a reclamo inside the entity, and how it is routed. Pure: no I/O."""

from __future__ import annotations

from comun.eventos import Entidad, Unidad

# Which state may follow which (DESIGN.md §2). Side paths (observado, trasladado) come later.
TRANSICIONES: dict[str, set[str]] = {
    "derivado": {"en_atencion", "respondido"},
    "en_atencion": {"respondido"},
    "respondido": {"cerrado"},
    "cerrado": set(),
}

ESTADOS_ABIERTOS = {"derivado", "en_atencion"}


def puede_pasar(actual: str, nuevo: str) -> bool:
    return nuevo in TRANSICIONES.get(actual, set())


def derivar(entidad: Entidad, motivo: str, sede: str | None) -> tuple[Unidad, bool]:
    """The unit that must answer: the first rule whose conditions all match, else the default.

    Returns the unit and whether a rule chose it.
    """
    unidades = {u.id: u for u in entidad.unidades}
    for regla in entidad.reglas:
        if regla.motivo is not None and regla.motivo != motivo:
            continue
        if regla.sede is not None and (sede or "").casefold() != regla.sede.casefold():
            continue
        return unidades[regla.unidad], True
    return unidades[entidad.unidad_por_defecto], False


def errores_de_catalogo(entidad: Entidad) -> list[dict[str, str]]:
    """Units referenced by the default and the rules must exist, and unit ids be unique."""
    ids = [u.id for u in entidad.unidades]
    errores = []
    if len(set(ids)) != len(ids):
        errores.append({"campo": "unidades", "mensaje": "Hay unidades con el mismo id."})
    if entidad.unidad_por_defecto not in ids:
        errores.append(
            {"campo": "unidad_por_defecto", "mensaje": "No es una unidad de la entidad."}
        )
    for i, regla in enumerate(entidad.reglas):
        if regla.unidad not in ids:
            errores.append(
                {"campo": f"reglas.{i}.unidad", "mensaje": "No es una unidad de la entidad."}
            )
    return errores
