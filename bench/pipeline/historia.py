"""The synthetic history the pipeline benchmark replays, shaped like the seeds' platform: about
300 entities (115 of them consulates), complaints skewed toward a few entities and motivos, answers
after a spread of days, surveys answered by part of the citizens. Pure and seeded: the same
arguments give the same history."""

from __future__ import annotations

import random
from dataclasses import dataclass

ENTIDADES = 300
CONSULADOS = 115
# Motivo mix, skewed as real complaints are: waiting times and treatment first.
MOTIVOS = {
    "tiempo": 30,
    "trato": 20,
    "procedimiento": 14,
    "informacion": 10,
    "resultado": 8,
    "infraestructura": 7,
    "disponibilidad": 5,
    "confianza": 3,
    "otros": 3,
}
PAISES = ["AR", "CL", "ES", "US", "IT", "JP", "BO", "EC", "CO", "BR", "MX", "DE", "FR", "CA", "AU"]
NIVELES = ("nacional", "regional", "local")
PROPORCION_ENCUESTAS = 0.4  # citizens who answer the survey; the rest expire and close


@dataclass(frozen=True)
class Plan:
    """One reclamo of the history: what is filed, and when (in domain days) it is answered."""

    n: int
    entidad_id: str
    motivo: str
    dia: int  # domain day it is filed, counted from the start of the replay
    responde_tras: int  # calendar days after filing that the entity answers
    contesta_encuesta: bool

    @property
    def documento(self) -> str:
        return f"7{self.n:07d}"

    @property
    def direccion(self) -> str:
        """The citizen's own address, as the reverse proxy reports it (X-Forwarded-For): each
        citizen files from theirs, as in real life, not all from one."""
        return f"10.{(self.n >> 16) & 255}.{(self.n >> 8) & 255}.{self.n & 255}"

    @property
    def email(self) -> str:
        return f"c{self.n}@bench.pe"

    def hoja(self) -> dict:
        return {
            "ciudadano": {
                "documento": {"tipo": "dni", "numero": self.documento},
                "nombres": "Rosa",
                "apellidos": "Mamani Quispe",
                "email": self.email,
            },
            "entidad_id": self.entidad_id,
            "sede": "Sede central",
            "ocurrido_en": "2026-01-15T10:30:00-05:00",
            "motivo": self.motivo,
            "descripcion": f"Esperé varias horas sin ser atendido (reclamo de prueba {self.n}).",
            "pedido": "Que se respeten los horarios de atención.",
            "medio_respuesta": "email",
            "acepta_privacidad": True,
        }


def catalogo(entidades: int = ENTIDADES, consulados: int = CONSULADOS) -> list[dict]:
    """Entities in the catalogue's format, two units each and a rule for infraestructura."""
    resultado = []
    for i in range(entidades):
        consulado = i >= entidades - consulados
        eid = f"consulado-{i:03d}" if consulado else f"entidad-{i:03d}"
        resultado.append(
            {
                "id": eid,
                "nombre": f"Consulado General {i}" if consulado else f"Entidad Pública {i}",
                "tipo": "consulado" if consulado else "organismo",
                "nivel": "nacional" if consulado else NIVELES[i % 3],
                "pais": PAISES[i % len(PAISES)] if consulado else "PE",
                "unidades": [
                    {
                        "id": "atencion",
                        "nombre": "Atención al Ciudadano",
                        "responsable": {"nombre": "Ana Ríos", "email": f"atencion@{eid}.gob.pe"},
                    },
                    {
                        "id": "infraestructura",
                        "nombre": "Infraestructura",
                        "responsable": {"nombre": "Luis Soto", "email": f"obras@{eid}.gob.pe"},
                    },
                ],
                "reglas": [{"motivo": "infraestructura", "unidad": "infraestructura"}],
                "unidad_por_defecto": "atencion",
            }
        )
    return resultado


def historia(reclamos: int, por_dia: int, semilla: int = 29) -> list[Plan]:
    """`reclamos` plans, `por_dia` filed per domain day; entity popularity follows a Zipf-like
    law (a few ministries get most complaints), answers come 1–40 days later (most within 15)."""
    azar = random.Random(semilla)
    ids = [e["id"] for e in catalogo()]
    pesos_entidad = [1 / (r + 1) ** 0.9 for r in range(len(ids))]
    motivos, pesos_motivo = zip(*MOTIVOS.items(), strict=True)
    entidades = azar.choices(ids, pesos_entidad, k=reclamos)
    elegidos = azar.choices(motivos, pesos_motivo, k=reclamos)
    return [
        Plan(
            n=n,
            entidad_id=entidades[n],
            motivo=elegidos[n],
            dia=n // max(1, por_dia),
            responde_tras=min(40, max(1, round(azar.lognormvariate(1.8, 0.6)))),
            contesta_encuesta=azar.random() < PROPORCION_ENCUESTAS,
        )
        for n in range(reclamos)
    ]
