"""The broker definitions shipped in infra/ are the ones the code declares."""

import json
from pathlib import Path

from comun.bus import Topologia
from comun.eventos import ESQUEMAS
from herramientas.topologia import claves_por_servicio, definiciones

RAIZ = Path(__file__).resolve().parents[2]


def test_definitions_json_coincide_con_el_codigo():
    enviado = json.loads((RAIZ / "infra/rabbitmq/definitions.json").read_text())
    assert enviado == definiciones(Topologia()), (
        "regenere con: python -m herramientas.topologia > infra/rabbitmq/definitions.json"
    )


def test_cada_evento_publicado_tiene_quien_lo_consuma():
    consumidos = {c for claves in claves_por_servicio().values() for c in claves}
    # Every tipo with a schema reaches someone; else the relay sets it aside as sin_ruta.
    emitidos = set(ESQUEMAS)
    assert emitidos <= consumidos, emitidos - consumidos
