"""derivacion's figures (issue 8): what each reclamo of the bandeja contributes, by the entity and
unit that hold it now and the month (Lima) it was registered in: received, by motivo, channel and
current state, open, and open past its deadline (the flag plazos raises with plazo.vencido).

`dependencias.escribir` moves the contribution on every write, in the write's transaction."""

from __future__ import annotations

from comun.cifras import SIN_UNIDAD, Aporte, mes_de
from servicios.derivacion.dominio import ABIERTOS


def aporte(doc: dict | None) -> Aporte | None:
    """None until the reclamo is registered and has a state (events may come before)."""
    if not doc or not doc.get("entidad_id") or not doc.get("registrado_en"):
        return None
    estado = doc.get("estado")
    if not estado:
        return None
    abierto = estado in ABIERTOS
    valores: dict[str, int | float] = {
        "recibidos": 1,
        f"motivo:{doc.get('motivo') or 'otros'}": 1,
        f"canal:{doc.get('canal') or 'virtual'}": 1,
        f"estado:{estado}": 1,
        "abiertos": int(abierto),
        "vencidos_abiertos": int(abierto and bool(doc.get("vencido"))),
    }
    return Aporte(
        doc["entidad_id"], doc.get("unidad_id") or SIN_UNIDAD, mes_de(doc["registrado_en"]), valores
    )


def nivel_de_reporte(entidad: dict) -> str:
    """nacional, regional, local, or consulado (tipo consulado, or a country other than Peru)."""
    if entidad.get("tipo", "").lower() == "consulado" or entidad.get("pais", "PE") != "PE":
        return "consulado"
    return entidad.get("nivel") or "nacional"
