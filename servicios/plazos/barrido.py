"""plazos' periodic sweep (a `bucles` entry of the worker): raises plazo.por_vencer,
plazo.vencido and plazo.subsanacion_vencida once each, and applies pending calendar changes.

Once, with any number of workers and across restarts: each due item is claimed by a conditional
update of its `*_pendiente` field in the same transaction as the outbox write. Two workers that
claim the same item conflict; the loser's transaction is retried and its condition no longer
matches, so it writes and emits nothing. Only what is due is read, through sparse indexes on
those fields.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pymongo.client_session import ClientSession
from pymongo.database import Database

from comun import almacen, reloj
from comun.almacen import AlmacenOcupado, en_transaccion
from comun.eventos import Datos, Evento, PlazoAviso, SubsanacionVencida, nuevo_evento
from comun.outbox import encolar
from servicios.plazos import dependencias
from servicios.plazos.consultas import por_clave
from servicios.plazos.dominio import Calendario, PoliticaPlazos, habiles_restantes
from servicios.plazos.expedientes import SERVICIO, sincronizar

log = logging.getLogger(__name__)
MIGRACION = "barrido-de-plazos"


def inicia_su_cadena(evento: Evento) -> Evento:
    """What the sweep raises has no request behind it: the event starts its own chain, its id is
    the correlation every later event and log line of that chain carries."""
    if evento.correlacion:
        return evento
    return evento.model_copy(update={"correlacion": evento.id})


class Barrido:
    def __init__(
        self,
        db: Database,
        politica: PoliticaPlazos,
        lote: int = 100,
        gracia_s: float | None = None,
    ) -> None:
        self.db = db
        self.politica = politica
        self.lote = lote
        # How long a calendar change waits before it is applied (see aplicar_cambios...).
        self.gracia_s = gracia_s

    def correr(self, parar: threading.Event, intervalo: float) -> None:
        self.completar_anteriores()
        while not parar.is_set():
            self.una_pasada()
            parar.wait(intervalo)

    def una_pasada(self) -> dict[str, int]:
        """One pass over what is due now; returns how many of each this worker raised."""
        # Calendar first: warnings then go by the deadlines it moved.
        recalculados = self.aplicar_cambios_de_calendario()
        ahora = reloj.ahora()
        cal = dependencias.calendario(self.db)
        hechos = {
            # por_vencer from the start (00:00 Lima) of the warning day; the others once past.
            "plazo.por_vencer": self._vencidos_de(
                "aviso_pendiente",
                "$lte",
                ahora,
                "por_vencer_en",
                lambda d: (
                    "plazo.por_vencer",
                    PlazoAviso(
                        entidad_id=d["entidad_id"],
                        vence_en=d["vence_en"],
                        dias_habiles_restantes=habiles_restantes(d["vence_en"], ahora, cal),
                    ),
                ),
            ),
            "plazo.vencido": self._vencidos_de(
                "vencer_pendiente",
                "$lt",
                ahora,
                "vencido_en",
                lambda d: (
                    "plazo.vencido",
                    PlazoAviso(
                        entidad_id=d["entidad_id"], vence_en=d["vence_en"], dias_habiles_restantes=0
                    ),
                ),
            ),
            "plazo.subsanacion_vencida": self._vencidos_de(
                "subsanacion_pendiente",
                "$lt",
                ahora,
                None,
                lambda d: (
                    "plazo.subsanacion_vencida",
                    SubsanacionVencida(
                        entidad_id=d["entidad_id"], subsanar_hasta=d["subsanacion_pendiente"]
                    ),
                ),
            ),
        }
        hechos["plazo.recalculado"] = recalculados
        return hechos

    def completar_anteriores(self) -> int:
        """Clocks stored before the sweep existed lack the fields it queries: they are computed
        once per deployment (the running ones without `abierto_hasta`; every clock synchronised
        since has it), then a marker keeps later starts from looking again."""
        if self.db.migraciones.find_one({"_id": MIGRACION}) is not None:
            return 0
        cal = dependencias.calendario(self.db)
        hechos, completo = 0, True
        anteriores = self.db.plazos.find(
            {"estado": "corriendo", "abierto_hasta": {"$exists": False}}, {"_id": 1}
        )
        for doc in anteriores:
            try:
                self._recalcular(doc["_id"], cal)
                hechos += 1
            except AlmacenOcupado:
                completo = False  # tried again at the next start
        if completo:
            self.db.migraciones.update_one(
                {"_id": MIGRACION}, {"$set": {"en": datetime.now(UTC)}}, upsert=True
            )
        return hechos

    # --- warnings -------------------------------------------------------------------------------

    def _vencidos_de(
        self,
        campo: str,
        op: str,
        ahora: datetime,
        marca: str | None,
        construir: Callable[[dict], tuple[str, Datos]],
    ) -> int:
        total = 0
        while True:
            debidos = [
                d["_id"]
                for d in self.db.plazos.find({campo: {op: ahora}}, {"_id": 1})
                .sort(campo, 1)
                .limit(self.lote)
            ]
            hechos = sum(self._reclamar(c, campo, op, ahora, marca, construir) for c in debidos)
            total += hechos
            # A short batch was all that is due; a batch with no progress (busy store, or
            # another worker took them) is left for the next pass.
            if len(debidos) < self.lote or hechos == 0:
                return total

    def _reclamar(
        self,
        codigo: str,
        campo: str,
        op: str,
        ahora: datetime,
        marca: str | None,
        construir: Callable[[dict], tuple[str, Datos]],
    ) -> bool:
        def trabajo(s: ClientSession) -> bool:
            doc = self.db.plazos.find_one({"_id": codigo, campo: {op: ahora}}, session=s)
            if doc is None:
                return False  # done by another worker, or no longer due
            cambio: dict = {"$unset": {campo: ""}}
            if marca:
                cambio["$set"] = {marca: ahora}
            else:  # the subsanación's flag is per observation: a later one has its own
                cambio["$addToSet"] = {"subsanaciones_vencidas": doc["subsanacion_id"]}
            hecho = self.db.plazos.update_one({"_id": codigo, campo: doc[campo]}, cambio, session=s)
            if hecho.modified_count != 1:
                return False
            tipo, datos = construir(doc)
            evento = nuevo_evento(tipo, datos, fuente=SERVICIO, codigo=codigo)
            encolar(self.db, [inicia_su_cadena(evento)], s)
            return True

        try:
            return en_transaccion(self.db, trabajo)
        except AlmacenOcupado:
            log.warning(
                "barrido: reclamo ocupado, queda para la próxima pasada",
                extra={"codigo": codigo, "campo": campo},
            )
            return False

    # --- calendar -------------------------------------------------------------------------------

    def aplicar_cambios_de_calendario(self) -> int:
        """Recomputes the open clocks each pending change touches, then marks it applied.
        A change waits until every transaction that may have read the calendar before it has
        ended (they are bounded by ESPERA_TRANSACCION), so none of them can still write a
        deadline computed without it after this pass went by."""
        segundos = self.gracia_s
        if segundos is None:
            segundos = 2 * almacen.ESPERA_TRANSACCION + 1
        gracia = timedelta(seconds=segundos)
        listos = datetime.now(UTC) - gracia  # machine time: it bounds transactions, not the law
        recalculados = 0
        pendientes = (
            self.db.cambios_calendario.find({"pendiente_desde": {"$lte": listos}})
            .sort("pendiente_desde", 1)
            .limit(20)
        )
        for cambio in list(pendientes):
            hechos = self._aplicar(cambio["fecha"])
            if hechos is None:
                continue  # something was busy: the whole change is retried next pass
            recalculados += hechos
            self.db.cambios_calendario.update_one(
                {"_id": cambio["_id"]},
                {"$unset": {"pendiente_desde": ""}, "$set": {"aplicado_en": datetime.now(UTC)}},
            )
            log.info(
                "cambio de calendario aplicado",
                extra={"fecha": cambio["fecha"], "recalculados": hechos},
            )
        return recalculados

    def _aplicar(self, fecha: str) -> int | None:
        cal = dependencias.calendario(self.db)
        filtro = {"registrado_dia": {"$lte": fecha}}
        despues = None
        recalculados, completo = 0, True
        while True:
            pagina = por_clave(
                self.db.plazos, filtro, "abierto_hasta", {"$gte": fecha}, despues, self.lote
            )
            for doc in pagina:
                try:
                    recalculados += self._recalcular(doc["_id"], cal)
                except AlmacenOcupado:
                    completo = False
            if len(pagina) < self.lote:
                return recalculados if completo else None
            despues = (pagina[-1]["abierto_hasta"], pagina[-1]["_id"])

    def _recalcular(self, codigo: str, cal: Calendario) -> int:
        """One clock in its own small transaction: the new deadline and its plazo.recalculado
        together; an unchanged deadline writes and emits nothing."""

        def trabajo(s: ClientSession) -> int:
            eventos = sincronizar(self.db, codigo, s, self.politica, "calendario", calendario=cal)
            encolar(self.db, [inicia_su_cadena(e) for e in eventos], s)
            return len(eventos)

        return en_transaccion(self.db, trabajo)
