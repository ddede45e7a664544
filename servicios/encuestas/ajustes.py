"""encuestas' settings: the shared ones plus how long a survey can be answered."""

from __future__ import annotations

from comun.ajustes import Ajustes


class AjustesEncuestas(Ajustes):
    # Days (by the domain clock) a survey can be answered; then it expires and the reclamo closes.
    encuesta_dias_vigencia: int = 30
