"""plazos' settings: the shared ones plus the deadline policy (DESIGN.md §2.3: policies are
configurable; the defaults are the law's and the documented ones)."""

from __future__ import annotations

from datetime import time

from comun.ajustes import Ajustes
from servicios.plazos.dominio import PoliticaPlazos


class AjustesPlazos(Ajustes):
    plazo_dias_habiles: int = 30
    plazo_hora_cierre: time = time(16, 30)  # America/Lima; filed later counts from next day
    plazo_dias_aviso: int = 5
    plazo_dias_subsanacion: int = 2
    # While the entity waits for the citizen's subsanación its clock stops (DESIGN.md §2.3).
    plazo_pausa_en_subsanacion: bool = True
    # A traslado keeps the original count by default; true restarts it at the new entity.
    plazo_traslado_reinicia: bool = False

    def politica(self) -> PoliticaPlazos:
        return PoliticaPlazos(
            dias_habiles=self.plazo_dias_habiles,
            hora_cierre=self.plazo_hora_cierre,
            dias_aviso=self.plazo_dias_aviso,
            dias_subsanacion=self.plazo_dias_subsanacion,
            pausa_en_subsanacion=self.plazo_pausa_en_subsanacion,
            traslado_reinicia=self.plazo_traslado_reinicia,
        )
