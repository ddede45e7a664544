"""encuestas' adapters: its collection and the indices it aggregates."""

from __future__ import annotations

from pymongo.database import Database

from comun.almacen import asegurar_colecciones
from servicios.encuestas.schemas import Impulsor


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "encuestas")
    db.encuestas.create_index("token", unique=True)
    db.encuestas.create_index([("entidad_id", 1), ("estado", 1)])


def indices(db: Database, entidad_id: str | None) -> list[dict]:
    """Satisfaction per entity: answers, average overall score, % solved, average per driver."""
    filtro: dict = {"estado": "respondida"}
    if entidad_id:
        filtro["entidad_id"] = entidad_id
    grupo: dict = {
        "_id": "$entidad_id",
        "respuestas": {"$sum": 1},
        "satisfaccion": {"$avg": "$respuesta.satisfaccion"},
        "resueltos": {"$sum": {"$cond": ["$respuesta.resuelto", 1, 0]}},
    }
    for impulsor in Impulsor:
        grupo[impulsor.value] = {"$avg": f"$respuesta.impulsores.{impulsor.value}"}
    filas = db.encuestas.aggregate([{"$match": filtro}, {"$group": grupo}, {"$sort": {"_id": 1}}])
    return [
        {
            "entidad_id": f.pop("_id"),
            "respuestas": f["respuestas"],
            "satisfaccion": round(f.pop("satisfaccion"), 2),
            "porcentaje_resueltos": round(100 * f.pop("resueltos") / f["respuestas"], 1),
            "impulsores": {i.value: round(f[i.value], 2) for i in Impulsor},
        }
        for f in filas
    ]
