"""plazos in the integration tests: dates, events as the other services send them, the store
prepared as the worker prepares it, and plazos' handlers and web app on the test's database.

Dates (hand-counted in tests/unit/test_plazos_dominio.py): a reclamo received Tuesday
24 Nov 2026 at 10:00 Lima is due Monday 11 Jan 2027 (vence_en 2027-01-12T04:59:59Z). An
observation on Monday 7 Dec 2026 may be answered until the end of Friday 11 Dec (8 and 9 Dec are
holidays): 2026-12-12T04:59:59Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pymongo.database import Database

from comun import almacen, outbox
from comun.consumo import Despachador
from comun.eventos import (
    Contacto,
    Entidad,
    EntidadActualizada,
    Evento,
    ReclamoObservado,
    ReclamoRegistrado,
    ReclamoRespondido,
    Responsable,
    Unidad,
    nuevo_evento,
)
from comun.metricas import Metricas
from servicios.plazos import dependencias
from servicios.plazos.dominio import PoliticaPlazos
from servicios.plazos.manejadores import manejadores
from tests.integracion.servicios import app_de_servicio

POLITICA = PoliticaPlazos()
RECIBIDO = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 24 Nov 2026, 10:00 Lima
VENCE = datetime(2027, 1, 12, 4, 59, 59, tzinfo=UTC)
OBSERVADO = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 7 Dec 2026, 10:00 Lima
SUBSANAR_HASTA = datetime(2026, 12, 12, 4, 59, 59, tzinfo=UTC)


def codigo(n: int) -> str:
    """A valid código (R-XXXX-XXXX-XXXX, letters and digits 2-9) numbered n."""
    letras = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    a, b = divmod(n, len(letras))
    return f"R-TEST-PLZ{letras[a % len(letras)]}-{letras[b]}AAA"


def registrado(cod: str, registrado_en: datetime = RECIBIDO, entidad: str = "minsa") -> Evento:
    datos = ReclamoRegistrado(
        entidad_id=entidad,
        canal="virtual",
        motivo="tiempo",
        ocurrido_en=registrado_en - timedelta(days=1),
        registrado_en=registrado_en,
        descripcion="Demora en la atención",
        pedido="Que me atiendan",
        medio_respuesta="email",
        contacto=Contacto(
            tipo_documento="DNI", numero_documento="12345678", nombres="Ana", apellidos="Quispe"
        ),
    )
    return nuevo_evento("reclamo.registrado", datos, fuente="registro", codigo=cod)


def respondido(cod: str, en: datetime, entidad: str = "minsa") -> Evento:
    datos = ReclamoRespondido(entidad_id=entidad, respuesta="Atendido", respondido_en=en)
    return nuevo_evento("reclamo.respondido", datos, fuente="derivacion", codigo=cod)


def observado(cod: str, en: datetime = OBSERVADO, entidad: str = "minsa") -> Evento:
    datos = ReclamoObservado(
        entidad_id=entidad, unidad_id="ogc", observacion="Falta la copia del recibo"
    )
    return nuevo_evento("reclamo.observado", datos, fuente="derivacion", codigo=cod, ocurrido_en=en)


def entidad_actualizada(id_: str, nombre: str, nivel: str = "nacional", pais: str = "PE"):
    responsable = Responsable(nombre="Resp", email="resp@example.org")
    entidad = Entidad(
        id=id_,
        nombre=nombre,
        tipo="ministerio",
        nivel=nivel,
        pais=pais,
        unidades=[Unidad(id="ogc", nombre="Atención", responsable=responsable)],
        unidad_por_defecto="ogc",
    )
    return nuevo_evento(
        "catalogo.entidad_actualizada", EntidadActualizada(entidad=entidad), fuente="derivacion"
    )


def poner_reloj(archivo: Path, momento: datetime) -> None:
    """The domain clock of this process (comun.reloj) reads `momento` now."""
    archivo.write_text(str((momento - datetime.now(UTC)).total_seconds()))


def preparar_almacen(db: Database) -> None:
    almacen.asegurar_colecciones(db, "procesados", "outbox", "relay", "idempotencia")
    outbox.preparar(db)
    dependencias.preparar(db)


def eventos_en_outbox(db: Database, tipo: str) -> list[dict]:
    return [d["evento"] for d in db.outbox.find({"evento.tipo": tipo})]


def despachador(db: Database, politica: PoliticaPlazos = POLITICA):
    d = Despachador(db, "plazos", manejadores(db, politica), Metricas("prueba"))
    return lambda evento: d.aplicar(evento, evento.contenido())


def cliente_plazos(
    monkeypatch: pytest.MonkeyPatch, mongo_url: str, db: Database, amqp_url: str
) -> FlaskClient:
    """plazos' Flask app on the test's database (called with `como`, as the gateway calls it)."""
    app = app_de_servicio(monkeypatch, "plazos", db, mongo_url, amqp_url, LOG_LEVEL="WARNING")
    return app.test_client()
