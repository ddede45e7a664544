"""encuestas' figures (issue 8): surveys answered, the sum of the overall score and of each driver,
and how many said the answer solved their problem; by the entity and unit that answered the
reclamo and the month (Lima) in which the survey was answered. Sums, so that the gateway can
average any range; moved in the transaction that answers the survey (or learns its unit)."""

from __future__ import annotations

from comun.cifras import SIN_UNIDAD, Aporte, mes_de


def aporte(doc: dict | None) -> Aporte | None:
    if not doc or doc.get("estado") != "respondida" or not doc.get("respondida_en"):
        return None
    respuesta = doc.get("respuesta") or {}
    valores: dict[str, int | float] = {
        "encuestas": 1,
        "satisfaccion_suma": int(respuesta.get("satisfaccion", 0)),
        "resueltos": int(bool(respuesta.get("resuelto"))),
    }
    for impulsor, nota in (respuesta.get("impulsores") or {}).items():
        valores[f"impulsores:{impulsor}:suma"] = int(nota)
        valores[f"impulsores:{impulsor}:n"] = 1
    unidad = doc.get("unidad") or {}
    unidad_id = unidad.get("id") if unidad.get("entidad_id") == doc["entidad_id"] else None
    return Aporte(doc["entidad_id"], unidad_id or SIN_UNIDAD, mes_de(doc["respondida_en"]), valores)
