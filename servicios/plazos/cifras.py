"""plazos' figures (issue 8): reclamos answered, answered within the deadline, and the
distribution of business days taken (a histogram per day count: the median stays exact), by the
entity and unit that answered and the month (Lima) of the answer; interventions by the month they
were registered in.

Every handler of a reclamo's clock is wrapped (`con_cifras`): the clock read before and after (the
second time from hand: expedientes.leer), its contribution moved in the handler's transaction."""

from __future__ import annotations

from datetime import datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import cifras
from comun.cifras import SIN_UNIDAD, Aporte, mes_de
from comun.consumo import Manejador
from comun.eventos import Datos, Evento
from servicios.plazos import expedientes, metricas


def unidad_de(doc: dict) -> str:
    unidad = doc.get("unidad") or {}
    return unidad.get("id") if unidad.get("entidad_id") == doc.get("entidad_id") else SIN_UNIDAD


def aporte(doc: dict | None) -> Aporte | None:
    """A clock contributes once it stopped with the answer (plazo.detenido computed)."""
    if not doc or "dentro_del_plazo" not in doc or not doc.get("respondido_en"):
        return None
    dias = int(doc.get("dias_habiles_usados") or 0)
    valores: dict[str, int | float] = {
        "respondidos": 1,
        "a_tiempo": int(bool(doc["dentro_del_plazo"])),
        "dias_suma": dias,
        f"dias:{dias}": 1,
    }
    return Aporte(doc["entidad_id"], unidad_de(doc), mes_de(doc["respondido_en"]), valores)


def intervencion(doc: dict, en: datetime) -> Aporte:
    return Aporte(doc["entidad_id"], unidad_de(doc), mes_de(en), {"intervenciones": 1})


def con_cifras(db: Database, manejador: Manejador) -> Manejador:
    def envuelto(evento: Evento, datos: Datos, s: ClientSession):
        if not evento.codigo:
            return manejador(evento, datos, s)
        # The clock is read once, here; the handler works on it in hand (expedientes.leer).
        antes = expedientes.leer(db, evento.codigo, s)
        emitidos = manejador(evento, datos, s)
        despues = expedientes.leer(db, evento.codigo, s)
        previo, nuevo = aporte(antes), aporte(despues)
        cifras.mover(db, previo, nuevo, s)
        if previo is None and nuevo is not None:  # answered now: counted after the commit
            metricas.respondido(s, evento.codigo, bool(nuevo.valores["a_tiempo"]))
        return emitidos

    return envuelto
