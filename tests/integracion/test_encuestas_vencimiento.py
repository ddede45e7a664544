"""Surveys expire (issue 6): `ENCUESTA_DIAS_VIGENCIA` days after they are created, by the domain
clock, the encuestas worker's sweep marks them `vencida` and emits `encuesta.vencida` once each,
also with two sweeps at once; a vencida survey cannot be answered. Real store, real broker."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pika
import pytest
from pymongo.database import Database

from comun import reloj
from comun.bus import Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.eventos import Evento, ReclamoRespondido, nuevo_evento
from comun.metricas import Metricas
from comun.outbox import Relay
from servicios.encuestas import dependencias
from servicios.encuestas.ajustes import AjustesEncuestas
from servicios.encuestas.dominio import huella
from servicios.encuestas.manejadores import manejadores
from tests import esperas
from tests.integracion.servicios import TOKEN, app_de_servicio, como

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

CIUDADANO = como("ciudadano")  # the headers of the citizen's calls, as the gateway sends them
RESPUESTA = {
    "satisfaccion": 4,
    "resuelto": True,
    "impulsores": {
        "tiempo": 3,
        "trato": 5,
        "informacion": 4,
        "acceso": 4,
        "resultado": 4,
        "confianza": 4,
    },
}


@pytest.fixture
def encuestas(mongo_url, db: Database, amqp_url, bus_nombre, reloj_archivo, monkeypatch):
    """encuestas' web app (Flask test client) on the test's database."""
    app = app_de_servicio(monkeypatch, "encuestas", db, mongo_url, amqp_url, bus_nombre)
    return app.test_client()


def responder_reclamo(db: Database, codigo: str, dias: int = 30) -> str:
    """What the worker does on reclamo.respondido; returns the survey's token (from the event)."""
    despachador = Despachador(db, "encuestas", manejadores(db, dias), Metricas("encuestas"))
    datos = ReclamoRespondido(
        entidad_id="sunat", respuesta="Atendido.", respondido_en=reloj.ahora()
    )
    despachador(nuevo_evento("reclamo.respondido", datos, fuente="prueba", codigo=codigo), datos)
    creada = db.outbox.find_one({"evento.tipo": "encuesta.creada", "evento.codigo": codigo})
    return creada["evento"]["datos"]["token"]


def vencidas_emitidas(db: Database) -> list[Evento]:
    return [
        Evento.model_validate(d["evento"])
        for d in db.outbox.find({"evento.tipo": "encuesta.vencida"})
    ]


def test_la_encuesta_vence_a_los_dias_de_vigencia(encuestas, db: Database):
    antes = reloj.ahora()
    token = responder_reclamo(db, "R-2222-3333-4444")

    creada = db.outbox.find_one({"evento.tipo": "encuesta.creada"})["evento"]
    doc = db.encuestas.find_one({"_id": "R-2222-3333-4444"})
    assert antes + timedelta(days=30) <= doc["vence_en"] <= reloj.ahora() + timedelta(days=30)
    assert creada["datos"]["vence_en"] is not None
    assert abs(doc["vence_en"] - Evento.model_validate(creada).contenido().vence_en) < timedelta(
        milliseconds=1
    )
    visto = encuestas.get(f"/encuestas/{token}", headers=CIUDADANO).get_json()
    assert visto["estado"] == "pendiente"
    assert visto["vence_en"] is not None
    assert "estado_1_vence_en_1" in db.encuestas.index_information()  # the sweep's index


def test_los_dias_de_vigencia_se_configuran(monkeypatch: pytest.MonkeyPatch, db: Database):
    monkeypatch.setenv("TOKEN_INTERNO", TOKEN)
    monkeypatch.setenv("ENCUESTA_DIAS_VIGENCIA", "7")
    assert AjustesEncuestas().encuesta_dias_vigencia == 7
    monkeypatch.delenv("ENCUESTA_DIAS_VIGENCIA")
    assert AjustesEncuestas().encuesta_dias_vigencia == 30


def test_dos_barridos_a_la_vez_vencen_cada_encuesta_una_vez(
    encuestas, db: Database, reloj_archivo: Path, amqp_url, bus_nombre
):
    codigos = [f"R-2222-3333-{i:04d}" for i in range(40)]
    tokens = {c: responder_reclamo(db, c) for c in codigos}
    respondida = codigos[0]
    r = encuestas.post(f"/encuestas/{tokens[respondida]}", json=RESPUESTA, headers=CIUDADANO)
    assert r.status_code == 200
    reloj.adelantar(reloj_archivo, dias=31)
    nueva = "R-9999-9999-9999"
    responder_reclamo(db, nueva)  # created after the clock moved: not yet due

    # Two sweepers (two workers) at once, each making several passes; small batches.
    listos = threading.Barrier(2)
    errores: list[BaseException] = []

    def barrer() -> None:
        try:
            listos.wait(timeout=10)
            for _ in range(3):
                dependencias.vencer(db, reloj.ahora(), 30, lote=7)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errores.append(exc)

    hilos = [threading.Thread(target=barrer) for _ in range(2)]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join(timeout=60)
    assert not errores, errores

    debidas = set(codigos) - {respondida}
    emitidas = vencidas_emitidas(db)
    assert Counter(e.codigo for e in emitidas) == Counter(debidas)  # each exactly once
    assert all(e.contenido().entidad_id == "sunat" for e in emitidas)
    estados = {d["_id"]: d["estado"] for d in db.encuestas.find()}
    assert {c for c, e in estados.items() if e == "vencida"} == debidas
    assert estados[respondida] == "respondida"
    assert estados[nueva] == "pendiente"
    assert dependencias.vencer(db, reloj.ahora(), 30) == 0  # a later pass finds nothing

    # Each reaches the broker once.
    topo = Topologia(bus_nombre)
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        canal = conexion.channel()
        declarar(canal, topo, bus_nombre.servicio("derivacion"), ["encuesta.vencida"])
        publicador = Publicador(amqp_url, topo)
        try:
            relay = Relay(db, publicador, Metricas("encuestas"))
            while relay.una_vuelta():
                pass
        finally:
            publicador.cerrar()
        recibidos: list[str] = []

        def tomar_todo() -> bool:
            while True:
                metodo, propiedades, _ = canal.basic_get(topo.cola("derivacion"), auto_ack=True)
                if metodo is None:
                    return len(recibidos) >= len(debidas)
                recibidos.append(propiedades.message_id)

        esperas.esperar(tomar_todo, "las encuesta.vencida llegan a la cola")
        assert sorted(recibidos) == sorted(e.id for e in emitidas)
    finally:
        conexion.close()


def test_una_encuesta_vencida_no_se_responde(encuestas, db: Database, reloj_archivo: Path):
    token = responder_reclamo(db, "R-2222-3333-4444")
    reloj.adelantar(reloj_archivo, dias=30, segundos=5)

    # Past its date, before any sweep: already expired for the citizen.
    visto = encuestas.get(f"/encuestas/{token}", headers=CIUDADANO).get_json()
    antes_del_barrido = encuestas.post(f"/encuestas/{token}", json=RESPUESTA, headers=CIUDADANO)
    dependencias.vencer(db, reloj.ahora(), 30)
    despues = encuestas.post(f"/encuestas/{token}", json=RESPUESTA, headers=CIUDADANO)

    assert visto["estado"] == "vencida"
    for r in (antes_del_barrido, despues):
        assert r.status_code == 409
        assert r.get_json()["error"] == "encuesta_vencida"
        assert "venció" in r.get_json()["mensaje"]
    assert db.encuestas.find_one({"_id": "R-2222-3333-4444"})["estado"] == "vencida"
    assert db.outbox.count_documents({"evento.tipo": "encuesta.respondida"}) == 0
    assert len(vencidas_emitidas(db)) == 1


def test_una_encuesta_en_plazo_se_responde_una_vez(encuestas, db: Database):
    token = responder_reclamo(db, "R-2222-3333-4444")

    primera = encuestas.post(f"/encuestas/{token}", json=RESPUESTA, headers=CIUDADANO)
    segunda = encuestas.post(f"/encuestas/{token}", json=RESPUESTA, headers=CIUDADANO)

    assert primera.status_code == 200
    assert segunda.status_code == 409 and segunda.get_json()["error"] == "ya_respondida"
    doc = db.encuestas.find_one({"token": huella(token)})
    assert doc["estado"] == "respondida"


def test_una_encuesta_anterior_sin_fecha_de_vencimiento_recibe_una(
    db: Database, reloj_archivo: Path
):
    dependencias.preparar(db)
    creada = reloj.ahora()
    db.encuestas.insert_one(
        {
            "_id": "R-2222-3333-4444",
            "entidad_id": "sunat",
            "token": huella("x" * 32),
            "estado": "pendiente",
            "creada_en": creada,
        }
    )
    assert dependencias.vencer(db, reloj.ahora(), 30) == 0
    vence_en = db.encuestas.find_one({"_id": "R-2222-3333-4444"})["vence_en"]
    assert abs(vence_en - (creada + timedelta(days=30))) < timedelta(milliseconds=1)

    reloj.adelantar(reloj_archivo, dias=31)

    assert dependencias.vencer(db, reloj.ahora(), 30) == 1


def test_el_bucle_del_worker_vence_cada_intervalo(
    db: Database, reloj_archivo: Path, monkeypatch: pytest.MonkeyPatch
):
    from servicios.encuestas.worker import vencimientos

    monkeypatch.setenv("TOKEN_INTERNO", TOKEN)
    monkeypatch.setenv("BARRIDO_INTERVALO_S", "0.1")
    dependencias.preparar(db)
    responder_reclamo(db, "R-2222-3333-4444")
    parar = threading.Event()
    hilo = threading.Thread(target=vencimientos(db, AjustesEncuestas()), args=(parar,))
    hilo.start()
    try:
        reloj.adelantar(reloj_archivo, dias=31)  # while the loop runs
        esperas.esperar(lambda: vencidas_emitidas(db), "el bucle vence la encuesta", 10)
    finally:
        parar.set()
        hilo.join(timeout=10)
    assert not hilo.is_alive()
    assert len(vencidas_emitidas(db)) == 1
