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

    def politica(self) -> PoliticaPlazos:
        return PoliticaPlazos(
            dias_habiles=self.plazo_dias_habiles,
            hora_cierre=self.plazo_hora_cierre,
            dias_aviso=self.plazo_dias_aviso,
            dias_subsanacion=self.plazo_dias_subsanacion,
        )
