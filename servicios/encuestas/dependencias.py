"""encuestas' adapters: its collection, the indices it aggregates, and the expiry sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import cifras
from comun.almacen import AlmacenOcupado, asegurar_colecciones, en_transaccion
from comun.eventos import EncuestaVencida, nuevo_evento
from comun.outbox import encolar
from servicios.encuestas.manejadores import SERVICIO
from servicios.encuestas.schemas import Impulsor

LOTE = 200


def preparar(db: Database) -> None:
    asegurar_colecciones(db, "encuestas", "unidades")
    cifras.preparar(db)
    db.encuestas.create_index("token", unique=True)
    db.encuestas.create_index([("entidad_id", 1), ("estado", 1)])
    db.encuestas.create_index([("entidad_id", 1), ("unidad.id", 1), ("estado", 1)])
    # The sweep asks only for what is due: pending surveys by expiry.
    db.encuestas.create_index([("estado", 1), ("vence_en", 1)])


def vencer(db: Database, ahora: datetime, dias_vigencia: int, lote: int = LOTE) -> int:
    """One pass of the sweep: every pending survey past its `vence_en` becomes `vencida` and
    `encuesta.vencida` is emitted once, however many sweepers run. Returns how many it expired."""
    _fechar_antiguas(db, dias_vigencia, lote)
    vencidas = 0
    while True:
        debidas = list(
            db.encuestas.find(
                {"estado": "pendiente", "vence_en": {"$lte": ahora}}, {"entidad_id": 1}
            )
            .sort("vence_en", 1)
            .limit(lote)
        )
        en_el_lote = 0
        for doc in debidas:
            try:
                en_el_lote += en_transaccion(db, lambda s, d=doc: _vencer(db, s, d, ahora))
            except AlmacenOcupado:
                continue  # another sweeper holds it: it expires it, or the next pass does
        vencidas += en_el_lote
        # A full batch may hide more; one where nothing moved is left to the next pass.
        if len(debidas) < lote or en_el_lote == 0:
            return vencidas


def _vencer(db: Database, s: ClientSession, doc: dict, ahora: datetime) -> int:
    # The state in the filter: a survey answered or expired by another sweeper meanwhile is left
    # alone, so its event is written once, in the transaction that changed it.
    hecho = db.encuestas.update_one(
        {"_id": doc["_id"], "estado": "pendiente"},
        {"$set": {"estado": "vencida", "vencida_en": ahora}},
        session=s,
    )
    if hecho.modified_count != 1:
        return 0
    evento = nuevo_evento(
        "encuesta.vencida",
        EncuestaVencida(entidad_id=doc["entidad_id"]),
        fuente=SERVICIO,
        codigo=doc["_id"],
    )
    encolar(db, [evento], s)
    return 1


def _fechar_antiguas(db: Database, dias_vigencia: int, lote: int) -> None:
    """Surveys created before they had an expiry get one, counted from their creation, so no
    reclamo waits forever on them."""
    for doc in db.encuestas.find({"estado": "pendiente", "vence_en": None}, {"creada_en": 1}).limit(
        lote
    ):
        db.encuestas.update_one(
            {"_id": doc["_id"], "vence_en": None},
            {"$set": {"vence_en": doc["creada_en"] + timedelta(days=dias_vigencia)}},
        )


def indices(db: Database, entidad_id: str | None, unidad_id: str | None = None) -> list[dict]:
    """Satisfaction per entity: answers, average overall score, % solved, average per driver;
    with `unidad_id`, of the surveys of the reclamos that unit of `entidad_id` held."""
    filtro: dict = {"estado": "respondida"}
    if entidad_id:
        filtro["entidad_id"] = entidad_id
    if unidad_id:
        filtro["unidad.entidad_id"] = entidad_id
        filtro["unidad.id"] = unidad_id
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
