"""What the citizen does on a reclamo with código + document (issue 6): subsanación and
desistimiento, in registro against the real store, their events relayed to the real broker.

registro's web app runs in-process (Flask test client) on the test's database; the events other
services would send are applied with registro's own handlers through a real Despachador (the
`registro` fixture, tests/integracion/conftest.py, and tests/integracion/ciudadano.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from comun import reloj
from comun.bus import Publicador, Topologia, declarar
from comun.eventos import ReclamoEnAtencion, ReclamoObservado, ReclamoRespondido
from comun.metricas import Metricas
from comun.outbox import Relay
from tests import esperas
from tests.integracion.ciudadano import Ciudadano

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]


# --- subsanación --------------------------------------------------------------------------------


def test_subsanacion_en_plazo_pasa_a_subsanado_y_publica_el_evento(
    registro: Ciudadano, canal, amqp_url, bus_nombre
):
    codigo = registro.presentar()
    registro.observar(codigo)
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "observado"
    assert visto["observacion"] == "Adjunte copia del ticket de atención que le entregaron."
    assert visto["subsanar_hasta"] is not None
    assert visto["reloj_pausado"] is True

    r = registro.subsanar(codigo, clave="subsanar-1")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["codigo"] == codigo
    assert r.get_json()["estado"] == "subsanado"
    assert "Recibimos la información" in r.get_json()["mensaje"]
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "subsanado"
    assert visto["observacion"] is None and visto["subsanar_hasta"] is None
    assert visto["reloj_pausado"] is False
    ultimo = visto["historial"][-1]
    assert ultimo["estado"] == "subsanado"
    assert "Usted envió la información que pidió la entidad" in ultimo["texto"]

    # The same request retried with its key gets the first answer; nothing happens twice.
    otra = registro.subsanar(codigo, clave="subsanar-1")
    assert otra.status_code == 200 and otra.get_json() == r.get_json()
    [evento] = registro.emitidos("reclamo.subsanado")
    assert evento["codigo"] == codigo
    assert evento["datos"]["entidad_id"] == "sunat"
    assert evento["datos"]["adjuntos"] == [
        {"nombre": "ticket.jpg", "tipo_mime": "image/jpeg", "bytes": 9000}
    ]
    assert evento["correlacion"] == "prueba"

    # The outbox reaches the broker.
    topo = Topologia(bus_nombre)
    declarar(canal, topo, bus_nombre.servicio("derivacion"), ["reclamo.subsanado"])
    publicador = Publicador(amqp_url, topo)
    try:
        relay = Relay(registro.db, publicador, Metricas("registro"))
        esperas.esperar(lambda: relay.una_vuelta() or None, "el relay publica")
    finally:
        publicador.cerrar()
    metodo, propiedades, _ = esperas.esperar(
        lambda: (lambda r: r if r[0] else None)(
            canal.basic_get(topo.cola("derivacion"), auto_ack=True)
        ),
        "reclamo.subsanado llega a la cola de derivacion",
    )
    assert metodo.routing_key == "reclamo.subsanado"
    assert propiedades.message_id == evento["id"]


def test_subsanacion_fuera_de_plazo_es_409_y_no_cambia_nada(
    registro: Ciudadano, reloj_archivo: Path
):
    codigo = registro.presentar()
    registro.observar(codigo, dias=2)
    reloj.adelantar(reloj_archivo, dias=3)

    r = registro.subsanar(codigo)

    assert r.status_code == 409
    assert r.get_json()["error"] == "plazo_vencido"
    assert "venció" in r.get_json()["mensaje"]
    assert registro.seguir(codigo).get_json()["estado"] == "observado"
    assert registro.emitidos("reclamo.subsanado") == []


def test_subsanacion_sin_observacion_es_409_con_el_estado(registro: Ciudadano):
    codigo = registro.presentar()

    r = registro.subsanar(codigo)

    assert r.status_code == 409
    assert r.get_json()["error"] == "transicion_invalida"
    assert "Un reclamo en estado derivado no puede subsanarse" in r.get_json()["mensaje"]
    assert registro.emitidos("reclamo.subsanado") == []


def test_subsanacion_antes_de_conocer_el_plazo_se_acepta(registro: Ciudadano):
    # plazos' subsanacion_abierta is still on its way: the observación is only moments old.
    codigo = registro.presentar()
    registro.recibir(
        "reclamo.observado",
        ReclamoObservado(entidad_id="sunat", unidad_id="atencion", observacion="Falta el DNI."),
        codigo,
    )
    assert registro.subsanar(codigo).status_code == 200


def test_documento_o_codigo_equivocado_da_el_mismo_404(registro: Ciudadano):
    codigo = registro.presentar()
    registro.observar(codigo)
    seguimiento = registro.seguir(codigo, "87654321")
    otro_codigo = "R-2222-3333-4444"

    respuestas = [
        registro.subsanar(codigo, "87654321"),
        registro.subsanar(otro_codigo),
        registro.desistir(codigo, "87654321"),
        registro.desistir(otro_codigo),
    ]

    assert seguimiento.status_code == 404
    for r in respuestas:
        assert r.status_code == 404
        assert r.get_json() == seguimiento.get_json()
    assert registro.seguir(codigo).get_json()["estado"] == "observado"
    assert registro.db.outbox.count_documents({"evento.tipo": {"$ne": "reclamo.registrado"}}) == 0


def test_subsanacion_valida_el_cuerpo(registro: Ciudadano):
    codigo = registro.presentar()
    registro.observar(codigo)
    grande = {"nombre": "a.pdf", "tipo_mime": "application/pdf", "tamano_bytes": 15 * 1024 * 1024}

    corto = registro.subsanar(codigo, texto="poco")
    pesado = registro.subsanar(codigo, adjuntos=[grande, grande])

    assert corto.status_code == 422
    assert corto.get_json()["detalle"][0]["campo"] == "texto"
    assert pesado.status_code == 422
    assert pesado.get_json()["detalle"][0]["campo"] == "adjuntos"


# --- desistimiento ------------------------------------------------------------------------------


@pytest.mark.parametrize("estado", ["derivado", "en_atencion", "observado"])
def test_desistimiento_antes_de_la_respuesta(registro: Ciudadano, estado: str):
    codigo = registro.presentar()
    if estado == "en_atencion":
        registro.recibir(
            "reclamo.en_atencion",
            ReclamoEnAtencion(entidad_id="sunat", unidad_id="atencion"),
            codigo,
        )
    elif estado == "observado":
        registro.observar(codigo)
    assert registro.seguir(codigo).get_json()["estado"] == estado

    r = registro.desistir(codigo, clave="desistir-1")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["estado"] == "desistido"
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "desistido"
    assert visto["historial"][-1]["estado"] == "desistido"
    assert "Usted desistió de su reclamo" in visto["historial"][-1]["texto"]
    [evento] = registro.emitidos("reclamo.desistido")
    assert evento["datos"] == {"entidad_id": "sunat", "razon": "Ya me atendieron en otra sede."}
    assert registro.desistir(codigo, clave="desistir-1").get_json() == r.get_json()

    otra = registro.desistir(codigo)  # a new request, not a retry

    assert otra.status_code == 409
    assert "Un reclamo en estado desistido no puede desistirse" in otra.get_json()["mensaje"]
    assert len(registro.emitidos("reclamo.desistido")) == 1


def test_desistimiento_tras_la_respuesta_es_409_con_el_estado(registro: Ciudadano):
    codigo = registro.presentar()
    registro.recibir(
        "reclamo.respondido",
        ReclamoRespondido(
            entidad_id="sunat", respuesta="Se reforzó el personal.", respondido_en=reloj.ahora()
        ),
        codigo,
    )

    r = registro.desistir(codigo)

    assert r.status_code == 409
    assert r.get_json()["error"] == "transicion_invalida"
    assert "Un reclamo en estado respondido no puede desistirse" in r.get_json()["mensaje"]
    assert registro.emitidos("reclamo.desistido") == []


def test_desistimiento_usa_la_entidad_actual_tras_un_traslado(registro: Ciudadano):
    from comun.eventos import ReclamoTrasladado

    codigo = registro.presentar()
    registro.recibir(
        "reclamo.trasladado",
        ReclamoTrasladado(
            entidad_anterior_id="sunat",
            entidad_id="minsa",
            entidad_nombre="Ministerio de Salud",
            razon="El hecho ocurrió en un hospital.",
        ),
        codigo,
    )

    assert registro.desistir(codigo).status_code == 200
    [evento] = registro.emitidos("reclamo.desistido")
    assert evento["datos"]["entidad_id"] == "minsa"


def test_desistido_no_lo_cambia_un_evento_de_antes_pero_si_la_respuesta(registro: Ciudadano):
    """registro's desistido is provisional: derivacion, which owns the states, ignores it once it
    answered; any other event that was already on its way does not reopen it."""
    codigo = registro.presentar()
    antes = reloj.ahora()
    assert registro.desistir(codigo).status_code == 200

    registro.recibir(
        "reclamo.en_atencion",
        ReclamoEnAtencion(entidad_id="sunat", unidad_id="atencion"),
        codigo,
        ocurrido_en=reloj.ahora(),  # in flight when derivacion had not yet seen the desistimiento
    )
    assert registro.seguir(codigo).get_json()["estado"] == "desistido"

    registro.recibir(
        "reclamo.respondido",
        ReclamoRespondido(entidad_id="sunat", respuesta="Atendido.", respondido_en=antes),
        codigo,
        ocurrido_en=antes,  # answered before the desistimiento reached derivacion
    )
    assert registro.seguir(codigo).get_json()["estado"] == "respondido"
