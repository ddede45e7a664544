"""plazos' adapters: its collections and indexes, and the calendar as the operator configured it."""

from __future__ import annotations

from datetime import date

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import cifras
from comun.almacen import asegurar_colecciones, leido_en_la_transaccion
from servicios.plazos.dominio import Calendario

# Named: the supervisor's listing hints it when it filters several entities at once.
INDICE_VENCIDOS = "vencidos"


def preparar(db: Database) -> None:
    asegurar_colecciones(
        db,
        "plazos",
        "dias_no_laborables",
        "cambios_calendario",
        "entidades",
        "intervenciones",
        "intervenciones_por_entidad",
        "migraciones",
    )
    cifras.preparar(db)
    # Overdue reclamos, most overdue first (all entities, or one).
    db.plazos.create_index([("estado", 1), ("vence_en", 1), ("_id", 1)], name=INDICE_VENCIDOS)
    db.plazos.create_index(
        [("estado", 1), ("entidad_id", 1), ("vence_en", 1), ("_id", 1)],
        name="vencidos_por_entidad",
    )
    # What the sweeper raises: each field exists only while its event is still due (sparse).
    for campo in ("aviso_pendiente", "vencer_pendiente", "subsanacion_pendiente"):
        db.plazos.create_index([(campo, 1)], name=campo, sparse=True)
    # Open clocks by their deadline's day: what a declared or withdrawn day may move.
    db.plazos.create_index([("abierto_hasta", 1), ("_id", 1)], name="abiertos", sparse=True)
    db.cambios_calendario.create_index([("pendiente_desde", 1)], name="pendientes", sparse=True)
    db.entidades.create_index([("nivel", 1), ("pais", 1)])
    db.intervenciones.create_index([("codigo", 1), ("registrada_en", 1)])


def calendario(db: Database, s: ClientSession | None = None) -> Calendario:
    """Peru's holidays plus the non-working days decreed for the public sector (operator data).
    Read once per transaction of `s` (a batch of events shares it): only the operator's
    requests write these days, never in a transaction that reads them through here first."""

    def leer() -> Calendario:
        dias = [date.fromisoformat(d["_id"]) for d in db.dias_no_laborables.find({}, session=s)]
        return Calendario(dias)

    return leido_en_la_transaccion(s, "plazos.calendario", leer)
