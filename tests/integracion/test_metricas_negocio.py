"""notificaciones' and plazos' metrics against the real store: mail deliveries pending, overdue,
failed and sent (with a real SMTP server that is down, then up); open and overdue reclamos and
answers on time vs late, from events applied by plazos' real handlers. Expected values are
counted by the test from what it wrote (dates hand-counted in tests/integracion/plazos.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY

from comun import metricas
from herramientas.buzon import Buzon
from servicios.notificaciones import dependencias
from servicios.notificaciones import metricas as metricas_notificaciones
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from servicios.plazos import metricas as metricas_plazos
from tests.conftest import _puerto_libre
from tests.integracion.plazos import (
    OBSERVADO,
    RECIBIDO,
    codigo,
    observado,
    poner_reloj,
    registrado,
    respondido,
)

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]


def _valor(nombre: str, **etiquetas: str) -> float | None:
    return REGISTRY.get_sample_value(nombre, etiquetas)


def test_entregas_de_correo_pendientes_atrasadas_fallidas_y_enviadas(db, tmp_path):
    servicio = f"notificaciones-{db.name}"
    dependencias.preparar(db)
    puerto = _puerto_libre()  # no SMTP server there yet
    cartero = Cartero(
        db,
        dependencias.Correo(AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)),
        max_intentos=2,
    )
    hace_dos_minutos = datetime.now(UTC) - timedelta(seconds=120)
    with db.client.start_session() as s:
        for i in range(3):
            dependencias.encolar_entrega(
                db,
                s,
                f"R-2222-3333-444{i}:acuse",
                f"R-2222-3333-444{i}",
                "acuse",
                "ciudadano",
                "ana@prueba.pe",
                ("Acuse", "Cuerpo"),
            )
    # One waiting since two minutes ago; the other two due now.
    db.entregas.update_one(
        {"_id": "R-2222-3333-4440:acuse"}, {"$set": {"proximo_intento": hace_dos_minutos}}
    )
    # Every series from the start, at 0.
    assert _valor("entregas_fallidas_total", canal="correo") is not None
    antes = {
        n: _valor(n, canal="correo") or 0.0
        for n in (
            "entregas_enviadas_total",
            "entregas_intentos_fallidos_total",
            "entregas_fallidas_total",
        )
    }
    metricas_notificaciones.medir(db, servicio)
    try:
        leido_desde = time.time()
        pendientes = _valor("entregas_pendientes", servicio=servicio, canal="correo")
        atraso = _valor("entregas_atraso_segundos", servicio=servicio, canal="correo")
        leido_hasta = time.time()
        assert pendientes == 3
        assert leido_desde - hace_dos_minutos.timestamp() - 1 <= atraso
        assert atraso <= leido_hasta - hace_dos_minutos.timestamp() + 1
        assert _valor("entregas_pendientes", servicio=servicio, canal="webhook") == 0

        # The server is down: three failed attempts (each one retried later).
        assert cartero.una_vuelta() == 3
        assert _valor("entregas_intentos_fallidos_total", canal="correo") == (
            antes["entregas_intentos_fallidos_total"] + 3
        )
        assert _valor("entregas_fallidas_total", canal="correo") == antes["entregas_fallidas_total"]
        # The second attempt of one of them is its last (max_intentos=2): given up.
        db.entregas.update_one(
            {"_id": "R-2222-3333-4440:acuse"}, {"$set": {"proximo_intento": datetime.now(UTC)}}
        )
        assert cartero.una_vuelta() == 1
        assert _valor("entregas_intentos_fallidos_total", canal="correo") == (
            antes["entregas_intentos_fallidos_total"] + 4
        )
        assert _valor("entregas_fallidas_total", canal="correo") == (
            antes["entregas_fallidas_total"] + 1
        )

        # The server answers: the two left are sent.
        controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
        controlador.start()
        try:
            db.entregas.update_many(
                {"estado": "pendiente"}, {"$set": {"proximo_intento": datetime.now(UTC)}}
            )
            assert cartero.una_vuelta() == 2
        finally:
            controlador.stop()
        assert _valor("entregas_enviadas_total", canal="correo") == (
            antes["entregas_enviadas_total"] + 2
        )
        assert db.entregas.count_documents({"estado": "pendiente"}) == 0
        # The gauges are read again once their cache (5 s) expired.
        time.sleep(5.1)
        assert _valor("entregas_pendientes", servicio=servicio, canal="correo") == 0
        assert _valor("entregas_atraso_segundos", servicio=servicio, canal="correo") == 0
    finally:
        metricas.dejar_de_medir(servicio, "entregas")


LUNES_23 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # due Friday 8 Jan 2027
MIERCOLES_25 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # due Tuesday 12 Jan 2027
JUEVES_14_ENE = datetime(2027, 1, 14, 15, 0, tzinfo=UTC)
VIERNES_15_ENE = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def test_reclamos_abiertos_vencidos_y_respondidos_a_tiempo_o_tarde(
    plazos_db, despachar, reloj_archivo
):
    servicio = f"plazos-{plazos_db.name}"
    poner_reloj(reloj_archivo, VIERNES_15_ENE)
    antes = {
        plazo: _valor("reclamos_respondidos_total", plazo=plazo) or 0.0 for plazo in metricas.PLAZOS
    }
    # 1: received 23 Nov, still open on 15 Jan: overdue since 8 Jan.
    assert despachar(registrado(codigo(1), LUNES_23))
    # 2: received 24 Nov (due 11 Jan), answered 5 Jan: on time.
    assert despachar(registrado(codigo(2), RECIBIDO))
    assert despachar(respondido(codigo(2), datetime(2027, 1, 5, 15, 0, tzinfo=UTC)))
    # 3: received 25 Nov (due 12 Jan), answered 14 Jan: late.
    assert despachar(registrado(codigo(3), MIERCOLES_25))
    respuesta = respondido(codigo(3), JUEVES_14_ENE)
    assert despachar(respuesta)
    # 4: received 14 Jan: open, due in February.
    assert despachar(registrado(codigo(4), JUEVES_14_ENE))
    # 5: received 24 Nov, observed 7 Dec and never corrected: its clock is paused (open, and
    # not overdue while it waits).
    assert despachar(registrado(codigo(5), RECIBIDO))
    assert despachar(observado(codigo(5), OBSERVADO))
    # The same answer delivered again, or another answer to an answered reclamo: counted once.
    assert not despachar(respuesta)
    despachar(respondido(codigo(3), VIERNES_15_ENE))

    metricas_plazos.medir(plazos_db, servicio)
    try:
        assert _valor("reclamos_abiertos", servicio=servicio) == 3  # 1, 4 and 5
        assert _valor("reclamos_vencidos_abiertos", servicio=servicio) == 1  # 1
        assert _valor("medicion_correcta", servicio=servicio, medicion="reclamos") == 1
    finally:
        metricas.dejar_de_medir(servicio, "reclamos")
    assert _valor("reclamos_respondidos_total", plazo="a_tiempo") == antes["a_tiempo"] + 1
    assert (
        _valor("reclamos_respondidos_total", plazo="fuera_de_plazo") == antes["fuera_de_plazo"] + 1
    )
