"""notificaciones' handlers and what each event costs the store (issue 10): the reclamo's copy
is read once and written once per event, however many steps change it (the mail handler's own
fields, then the webhooks' view). The old handlers wrote it twice and read it twice for
reclamo.registrado and reclamo.derivado.

The copy's content is checked against what the events say, written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.database import Database

from comun.consumo import Despachador
from comun.eventos import EntidadActualizada, PlazoCalculado
from comun.metricas import Metricas
from servicios.notificaciones import dependencias
from servicios.notificaciones.manejadores import SERVICIO, manejadores
from tests.integracion.pedidos import vigilada
from tests.integracion.test_notificaciones_correo import (
    COD,
    EMAIL,
    VENCE,
    catalogo,
    derivado,
    ev,
    registrado,
)

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]


def _plazo() -> object:
    return ev(
        "plazo.calculado",
        PlazoCalculado(
            entidad_id="minsa",
            fecha_recepcion=datetime(2026, 11, 23).date(),
            vence_en=VENCE,
            dias_habiles=30,
        ),
        0.5,
    )


@pytest.fixture
def vigilado(mongo_url, db: Database):
    dependencias.preparar(db)
    with vigilada(mongo_url, db.name) as (visto, pedidos):
        despachador = Despachador(
            visto, SERVICIO, manejadores(visto, "https://reclamos.gob.pe"), Metricas("prueba")
        )
        minsa = catalogo()["minsa"]
        despachador.aplicar(
            e := ev("catalogo.entidad_actualizada", EntidadActualizada(entidad=minsa), -1440, None),
            e.contenido(),
        )
        pedidos.olvidar()
        yield (lambda evento: despachador.aplicar(evento, evento.contenido())), pedidos


def _copia_esperada() -> dict:
    """The copy after registrado, plazo.calculado and derivado, written out from the events."""
    return {
        "_id": COD,
        "entidad_id": "minsa",
        "motivo": "infraestructura",
        "contacto": {"nombres": "María", "email": EMAIL},
        "entidades": ["minsa"],
        "dias_habiles": 30,
        "fecha_recepcion": "2026-11-23",
        "vence_en": VENCE,
        "plazo_en": datetime(2026, 11, 23, 15, 0, 30, tzinfo=UTC),
        "unidad": {
            "entidad_id": "minsa",
            "id": "infraestructura",
            "nombre": next(
                u.nombre for u in catalogo()["minsa"].unidades if u.id == "infraestructura"
            ),
            "en": datetime(2026, 11, 23, 15, 1, tzinfo=UTC),
        },
        "webhook": {
            "estado": "derivado",
            "en": datetime(2026, 11, 23, 15, 1, tzinfo=UTC),
            "entidad": "minsa",
            "entidad_en": datetime(2026, 11, 23, 15, 1, tzinfo=UTC),
        },
    }


def test_cada_evento_lee_y_escribe_la_copia_del_reclamo_una_vez(vigilado, db: Database):
    despachar, pedidos = vigilado

    despachar(registrado())
    assert pedidos.nombres("reclamos") == ["find", "update"]

    pedidos.olvidar()
    despachar(_plazo())
    assert pedidos.nombres("reclamos") == ["find", "update"]

    pedidos.olvidar()
    despachar(derivado())
    assert pedidos.nombres("reclamos") == ["find", "update"]

    assert db.reclamos.find_one({"_id": COD}) == _copia_esperada()
    # The acuse (contact and deadline both in) and the unit's two responsables.
    assert sorted(e["plantilla"] for e in db.entregas.find()) == ["acuse", "derivado", "derivado"]


def test_los_eventos_de_un_reclamo_en_un_lote_leen_y_escriben_la_copia_una_vez(
    mongo_url, db: Database
):
    """A batch brings a reclamo's waiting events along (comun.bus.Turnos): in one transaction
    its copy is read once and written once for all of them, and ends as one by one."""
    dependencias.preparar(db)
    with vigilada(mongo_url, db.name) as (visto, pedidos):
        despachador = Despachador(
            visto, SERVICIO, manejadores(visto, "https://reclamos.gob.pe"), Metricas("prueba")
        )
        minsa = catalogo()["minsa"]
        e = ev("catalogo.entidad_actualizada", EntidadActualizada(entidad=minsa), -1440, None)
        despachador.aplicar(e, e.contenido())
        pedidos.olvidar()
        despachador.aplicar_lote([(x, x.contenido()) for x in (registrado(), _plazo(), derivado())])
        assert pedidos.nombres("reclamos") == ["find", "update"]
        # The entity, for the acuse and for the unit's responsables: once too.
        assert pedidos.nombres("entidades") == ["find"]

    assert db.reclamos.find_one({"_id": COD}) == _copia_esperada()
    assert sorted(e["plantilla"] for e in db.entregas.find()) == ["acuse", "derivado", "derivado"]


def test_una_entidad_actualizada_en_el_lote_se_ve_en_los_eventos_que_la_siguen(
    mongo_url, db: Database
):
    """The entity is read once per transaction, but a catalogue update in the same batch is
    what the events after it see (the responsables of the new version get the mail)."""
    dependencias.preparar(db)
    minsa = catalogo()["minsa"]
    with vigilada(mongo_url, db.name) as (visto, _):
        despachador = Despachador(
            visto, SERVICIO, manejadores(visto, "https://reclamos.gob.pe"), Metricas("prueba")
        )
        e = ev("catalogo.entidad_actualizada", EntidadActualizada(entidad=minsa), -1440, None)
        despachador.aplicar(e, e.contenido())
        nueva = minsa.model_copy(deep=True)
        unidad = next(u for u in nueva.unidades if u.id == "infraestructura")
        unidad.responsable.email = "nuevo.titular@minsa.gob.pe"
        actualizada = ev(
            "catalogo.entidad_actualizada", EntidadActualizada(entidad=nueva), -1, None
        )
        # The acuse reads the entity first; then the update; then the derivado's mail.
        lote = [registrado(), _plazo(), actualizada, derivado()]
        despachador.aplicar_lote([(x, x.contenido()) for x in lote])

    para = sorted(d["para"] for d in db.entregas.find({"plantilla": "derivado"}))
    assert "nuevo.titular@minsa.gob.pe" in para
