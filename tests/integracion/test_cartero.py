"""notificaciones' Cartero against a real SMTP server (aiosmtpd) and a real store: a mail server
that is down costs a retry, never the message; once sent, the proof is kept and the body is not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from herramientas.buzon import Buzon
from servicios.notificaciones import dependencias
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from tests.conftest import _puerto_libre

pytestmark = pytest.mark.integracion


def test_reintenta_si_el_servidor_de_correo_no_responde_y_guarda_la_prueba(db, tmp_path):
    puerto = _puerto_libre()
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    cartero = Cartero(db, dependencias.Correo(ajustes), max_intentos=3)
    dependencias.preparar(db)
    with db.client.start_session() as s:
        dependencias.encolar_entrega(
            db,
            s,
            "R-2222-3333-4444:acuse",
            "R-2222-3333-4444",
            "acuse",
            "ciudadano",
            "maria.quispe@gmail.com",
            ("Reclamo R-2222-3333-4444 registrado", "Cuerpo del acuse"),
        )

    # No SMTP server yet: the attempt fails and is scheduled again.
    assert cartero.una_vuelta() == 1
    entrega = db.entregas.find_one()
    assert entrega["estado"] == "pendiente" and entrega["intentos"] == 1
    assert "ConnectionRefusedError" in entrega["ultimo_error"]
    assert entrega["proximo_intento"] > datetime.now(UTC)
    assert cartero.una_vuelta() == 0  # not before its time

    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    try:
        db.entregas.update_one({}, {"$set": {"proximo_intento": datetime.now(UTC)}})
        assert cartero.una_vuelta() == 1
    finally:
        controlador.stop()

    entrega = db.entregas.find_one()
    assert entrega["estado"] == "enviada" and entrega["intentos"] == 2
    assert entrega["message_id"].endswith("@reclamos.gob.pe>")
    assert "cuerpo" not in entrega  # the proof is the Message-ID; the body is not kept
    [correo] = list((tmp_path / "correo").glob("*.eml"))
    assert "Cuerpo del acuse" in correo.read_text()
    assert entrega["message_id"] in correo.read_text()
    [evento] = list(db.outbox.find())
    assert evento["evento"]["tipo"] == "notificacion.enviada"
    assert "maria" not in str(evento["evento"])  # events carry a role, not the address
