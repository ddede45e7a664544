"""Access and trace logs (issue 7, finding 10): one JSON access line per request in every Flask
service, with the route template and never the path; the correlation id on every line a request or
an event causes, across services, retries and parking; and every event a worker creates carries
a correlation (its cause's, or the id of the event that starts the chain). Real store, real broker;
the lines are read as the process prints them (JSON on stdout)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pika
import pytest
from aiosmtpd.controller import Controller
from pymongo.database import Database

from comun import logs
from comun.bus import Consumidor, Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.eventos import NotificacionEntregada, nuevo_evento
from comun.logs import FORMA_ID
from comun.metricas import Metricas
from herramientas.buzon import Buzon
from servicios.notificaciones import dependencias as notificaciones
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from servicios.plazos.barrido import Barrido
from tests.conftest import _puerto_libre
from tests.integracion.plazos import (
    POLITICA,
    codigo,
    eventos_en_outbox,
    poner_reloj,
    registrado,
)
from tests.integracion.servicios import app_de_servicio, como
from tests.integracion.test_bus import cerrado, corriendo, esperar, tomar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(90)]

log = logging.getLogger("tests.trazas")
Lineas = Callable[[], list[dict]]


@pytest.fixture
def lineas(monkeypatch) -> Iterator[Lineas]:
    """The process's log as JSON lines, configured as every service configures it (also when an
    app configures it again); each call returns every line printed so far. What a service prints
    on stdout goes to a buffer; the root logger is put back afterwards."""
    salida = io.StringIO()
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stdout=salida))
    raiz = logging.getLogger()
    antes = (raiz.handlers[:], raiz.level)
    logs.configurar_logs("prueba")

    def leer() -> list[dict]:
        return [json.loads(x) for x in salida.getvalue().splitlines()]

    yield leer
    raiz.handlers[:], nivel = antes
    raiz.setLevel(nivel)


def _es_uuid(valor: str) -> bool:
    try:
        return str(uuid.UUID(valor)) == valor
    except (TypeError, ValueError):
        return False


# --- requests -----------------------------------------------------------------------------------


def test_una_linea_de_acceso_por_solicitud_con_la_plantilla_y_su_correlacion(
    plazos_db, despachar, reloj_archivo, monkeypatch, mongo_url, amqp_url, lineas
):
    c = codigo(300)
    assert despachar(registrado(c))
    api = app_de_servicio(monkeypatch, "plazos", plazos_db, mongo_url, amqp_url).test_client()
    nota = {"nota": "Atienda este reclamo de inmediato, por favor."}
    ruta = f"/supervision/reclamos/{c}/intervencion"

    creada = api.post(ruta, json=nota, headers=como("supervisor", **{"X-Request-Id": "req-t-1"}))
    # An id of another shape (here an address) is never logged nor carried: a new one is made.
    otra = api.post(
        ruta, json=nota, headers=como("supervisor", **{"X-Request-Id": "ana.quispe@gmail.com"})
    )
    vista = api.get(f"/plazos/{c}", headers=como("supervisor"))  # a direct call: no id at all
    ajena = api.get(f"/plazos/{c}", headers={"X-Request-Id": "req-t-3"})  # not via the gateway

    estados = [r.status_code for r in (creada, otra, vista, ajena)]
    assert estados == [201, 201, 200, 401]
    acceso = [x for x in lineas() if x["logger"] == "acceso"]
    assert [(x["metodo"], x["ruta"], x["estado"]) for x in acceso] == [
        ("POST", "/supervision/reclamos/<codigo>/intervencion", 201),
        ("POST", "/supervision/reclamos/<codigo>/intervencion", 201),
        ("GET", "/plazos/<codigo>", 200),
        ("GET", "/plazos/<codigo>", 401),
    ]
    correlaciones = [x["correlacion"] for x in acceso]
    assert correlaciones[0] == "req-t-1" and correlaciones[3] == "req-t-3"
    assert _es_uuid(correlaciones[1]) and _es_uuid(correlaciones[2])
    assert correlaciones[1] != correlaciones[2]
    for linea in acceso:
        assert linea["servicio"] == "plazos" and linea["nivel"] == "INFO"
        assert isinstance(linea["duracion_ms"], float) and linea["duracion_ms"] >= 0
        texto = json.dumps(linea)
        assert c not in texto and "ana.quispe" not in texto and "Atienda" not in texto
    # The events the requests caused carry the same correlation as their log lines.
    eventos = eventos_en_outbox(plazos_db, "supervision.intervencion")
    assert sorted(e["correlacion"] for e in eventos) == sorted(correlaciones[:2])
    assert "ana.quispe" not in json.dumps(lineas())


# --- events -------------------------------------------------------------------------------------


def test_cada_linea_de_un_evento_lleva_su_correlacion_y_lo_que_emite_tambien(
    amqp_url, bus_nombre, db: Database, lineas
):
    topo = Topologia(bus_nombre, retraso_reintento_ms=200)
    servicio = bus_nombre.servicio("trazas")

    def manejar(evento, datos, sesion):
        log.info("manejando", extra={"evento": evento.id})
        # As plazos' and other handlers do: an event created without a correlation.
        return [
            nuevo_evento(
                "notificacion.enviada",
                NotificacionEntregada(plantilla="cierre", canal="email", destinatario="ciudadano"),
                fuente="trazas",
                codigo=evento.codigo,
            )
        ]

    despachador = Despachador(db, servicio, {"reclamo.cerrado": manejar}, Metricas("trazas"))
    con_solicitud = cerrado("R-TRAZ-AAAA-0001", correlacion="req-t-2")
    sin_solicitud = cerrado("R-TRAZ-AAAA-0002")  # e.g. raised by a sweep
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    publicador = Publicador(amqp_url, topo)
    try:
        declarar(conexion.channel(), topo, servicio, ["reclamo.cerrado"])
        publicador.publicar(con_solicitud)
        publicador.publicar(sin_solicitud)
        with corriendo(Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)):
            esperar(lambda: db.outbox.count_documents({}) == 2, "los dos efectos escritos")
    finally:
        publicador.cerrar()
        conexion.close()

    emitidos = {d["evento"]["codigo"]: d["evento"] for d in db.outbox.find()}
    assert emitidos["R-TRAZ-AAAA-0001"]["correlacion"] == "req-t-2"
    assert emitidos["R-TRAZ-AAAA-0002"]["correlacion"] == sin_solicitud.id
    por_evento: dict[str, set] = {}
    for linea in lineas():
        if linea.get("evento") in (con_solicitud.id, sin_solicitud.id):
            por_evento.setdefault(linea["evento"], set()).add(
                (linea["message"], linea["correlacion"])
            )
    assert por_evento == {
        con_solicitud.id: {("manejando", "req-t-2"), ("evento aplicado", "req-t-2")},
        sin_solicitud.id: {("manejando", sin_solicitud.id), ("evento aplicado", sin_solicitud.id)},
    }


def test_reintentos_y_parking_conservan_la_correlacion(amqp_url, bus_nombre, db: Database, lineas):
    """A message whose correlation travels only in its body (no correlation_id property, as any
    client may send it): its retry and parked copies carry it as their property, and the lines
    of every attempt and of the parking carry it."""
    topo = Topologia(bus_nombre, limite_intentos=2, retraso_reintento_ms=200)
    servicio = bus_nombre.servicio("trazas-falla")

    def fallar(evento, datos, sesion):
        raise RuntimeError("falla siempre")

    despachador = Despachador(db, servicio, {"reclamo.cerrado": fallar}, Metricas("trazas"))
    evento = cerrado("R-TRAZ-AAAA-0003", correlacion="req-t-4")
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        canal = conexion.channel()
        declarar(canal, topo, servicio, ["reclamo.cerrado"])
        canal.basic_publish(
            topo.intercambio,
            "reclamo.cerrado",
            evento.model_dump_json().encode(),
            pika.BasicProperties(delivery_mode=2, message_id=evento.id),
        )
        with corriendo(Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)):
            _, propiedades, _ = esperar(
                lambda: tomar(canal, topo.cola_parking(servicio)), "el mensaje llega al parking"
            )
    finally:
        conexion.close()

    assert propiedades.correlation_id == "req-t-4"
    assert propiedades.message_id == evento.id
    assert propiedades.headers["x-intentos"] == 2
    del_consumidor = [
        (x["message"], x["correlacion"]) for x in lineas() if x["logger"] == "comun.bus"
    ]
    assert del_consumidor == [
        (f"consumidor: falló reclamo.cerrado ({evento.id}), intento 1 de 2", "req-t-4"),
        (f"consumidor: falló reclamo.cerrado ({evento.id}), intento 2 de 2", "req-t-4"),
        (f"consumidor: mensaje aparcado en {topo.cola_parking(servicio)}", "req-t-4"),
    ]


def test_plazos_emite_con_la_correlacion_de_la_causa_o_su_id(plazos_db, despachar):
    con_solicitud = registrado(codigo(310)).model_copy(update={"correlacion": "req-t-5"})
    sin_solicitud = registrado(codigo(311))
    assert despachar(con_solicitud) and despachar(sin_solicitud)

    calculados = {e["codigo"]: e for e in eventos_en_outbox(plazos_db, "plazo.calculado")}
    assert calculados[codigo(310)]["correlacion"] == "req-t-5"
    assert calculados[codigo(311)]["correlacion"] == sin_solicitud.id


def test_los_avisos_del_barrido_empiezan_su_propia_cadena(plazos_db, despachar, reloj_archivo):
    c = codigo(320)
    assert despachar(registrado(c))
    # Tuesday 5 Jan 2027: past the warning day of a reclamo received 24 Nov 2026.
    poner_reloj(reloj_archivo, datetime(2027, 1, 5, 15, 0, tzinfo=UTC))
    Barrido(plazos_db, POLITICA).una_pasada()

    [aviso] = eventos_en_outbox(plazos_db, "plazo.por_vencer")
    assert aviso["correlacion"] == aviso["id"]


@pytest.fixture
def buzon(tmp_path):
    puerto = _puerto_libre()
    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    yield puerto
    controlador.stop()


def test_el_cartero_emite_con_la_correlacion_de_la_entrega_o_su_id(db: Database, buzon):
    notificaciones.preparar(db)
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=buzon)
    with db.client.start_session() as s:
        for clave in ("R-2222-3333-4441:acuse", "R-2222-3333-4442:acuse"):
            cod = clave.split(":")[0]
            notificaciones.encolar_entrega(
                db, s, clave, cod, "acuse", "ciudadano", "ana@prueba.pe", (cod, "Acuse")
            )
    # A delivery that kept the correlation of the event that asked for it.
    db.entregas.update_one({"_id": "R-2222-3333-4442:acuse"}, {"$set": {"correlacion": "req-t-6"}})

    assert Cartero(db, notificaciones.Correo(ajustes), max_intentos=3).una_vuelta() == 2

    enviadas = {d["evento"]["codigo"]: d["evento"] for d in db.outbox.find()}
    assert enviadas["R-2222-3333-4441"]["correlacion"] == enviadas["R-2222-3333-4441"]["id"]
    assert enviadas["R-2222-3333-4442"]["correlacion"] == "req-t-6"
    for evento in enviadas.values():
        assert FORMA_ID.fullmatch(evento["correlacion"])
