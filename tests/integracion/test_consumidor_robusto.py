"""A consumer no message can crash or stall (issue 5): any header, body or property is handled or
parked with its reason, and a lock left by a dead worker's transaction costs one message a later
retry, not the whole queue. Real broker, real store."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pika
import pytest
from pymongo.database import Database

from comun.bus import Consumidor, Topologia, declarar
from comun.consumo import Despachador
from comun.metricas import Metricas
from tests.integracion.test_bus import cerrado, corriendo, esperar, tomar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(90)]


@pytest.fixture
def servicio(bus_nombre) -> str:
    return bus_nombre.servicio("robusto")


def _sobre_valido() -> bytes:
    return cerrado().model_dump_json().encode()


def _publicar(canal, topo: Topologia, cuerpo: bytes, propiedades=None) -> None:
    canal.basic_publish(topo.intercambio, "reclamo.cerrado", cuerpo, propiedades, mandatory=True)


def test_cabecera_de_intentos_malformada_no_tumba_al_consumidor(
    amqp_url, canal, topo, servicio, db: Database
):
    """The fault run: a non-numeric `x-intentos` killed the consumer thread 21 times in 30 s."""
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    fallos = {"quedan": 1}

    def cerrar(evento, datos, sesion):
        if fallos["quedan"]:
            fallos["quedan"] -= 1
            raise RuntimeError("falla una vez")
        db.cierres.insert_one({"evento": evento.id}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("robusto"))
    consumidor = Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)
    evento = cerrado()
    for cabecera in ("abc", {"anidada": 1}, -7, 10**12, b"\x00\xff"):
        fallos["quedan"] = 1
        _publicar(
            canal,
            topo,
            cerrado().model_dump_json().encode(),
            pika.BasicProperties(delivery_mode=2, headers={"x-intentos": cabecera}),
        )
    _publicar(canal, topo, evento.model_dump_json().encode())

    with corriendo(consumidor) as parar:
        esperar(lambda: db.cierres.count_documents({}) == 6, "los 6 eventos aplicados")
        assert not parar.is_set()

    assert db.cierres.count_documents({"evento": evento.id}) == 1
    assert tomar(canal, topo.cola_parking(servicio)) is None


VENENOS: dict[str, tuple[bytes, pika.BasicProperties | None, str]] = {
    "no es JSON": (b"\xff\xfe\x00basura", None, "sobre inválido"),
    "JSON que no es objeto": (b"[1, 2, 3]", None, "sobre inválido"),
    "sobre incompleto": (b'{"tipo": "reclamo.cerrado"}', None, "sobre inválido"),
    "tipo desconocido": (
        json.dumps({**json.loads(_sobre_valido()), "tipo": "reclamo.inventado"}).encode(),
        None,
        "tipo desconocido",
    ),
    "datos inválidos": (
        json.dumps({**json.loads(_sobre_valido()), "datos": {"x": 1}}).encode(),
        None,
        "datos inválidos",
    ),
    "cabeceras raras": (
        b"{",
        pika.BasicProperties(
            headers={"x-intentos": "abc", "x-esperas": {"a": [1, 2]}, "x-motivo": Decimal("3.5")},
            content_type="application/json",
            message_id="veneno",
        ),
        "sobre inválido",
    ),
    "cuerpo de 1 MB": (b"x" * 1_000_000, None, "sobre inválido"),
}


@pytest.mark.parametrize("nombre", VENENOS)
def test_mensaje_venenoso_se_aparca_con_su_motivo_y_el_consumo_sigue(
    nombre, amqp_url, canal, topo, servicio, db: Database
):
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    cuerpo, propiedades, motivo = VENENOS[nombre]

    def cerrar(evento, datos, sesion):
        db.cierres.insert_one({"evento": evento.id}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("robusto"))
    sano = cerrado()
    _publicar(canal, topo, cuerpo, propiedades)
    _publicar(canal, topo, sano.model_dump_json().encode())

    with corriendo(Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)):
        _, aparcado, recibido = esperar(
            lambda: tomar(canal, topo.cola_parking(servicio)), "el veneno llega al parking"
        )
        esperar(lambda: db.cierres.count_documents({}) == 1, "el evento sano se aplica")

    assert recibido == cuerpo
    assert motivo in aparcado.headers["x-motivo"]
    assert db.cierres.find_one({}, {"_id": 0}) == {"evento": sano.id}
    assert tomar(canal, topo.cola_parking(servicio)) is None  # only the poison


def test_un_bloqueo_de_un_worker_muerto_no_detiene_la_cola(
    amqp_url, canal, topo, servicio, db: Database
):
    """A worker killed mid-transaction leaves its locks until the store reaps the transaction.
    The event it held waits for a later retry; the rest of the queue goes on meanwhile."""
    declarar(canal, topo, servicio, ["reclamo.cerrado"])

    def cerrar(evento, datos, sesion):
        db.cierres.insert_one({"evento": evento.id}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("robusto"))
    bloqueado, libre = cerrado("R-AAAA-AAAA-AAAA"), cerrado("R-BBBB-BBBB-BBBB")
    # Collections exist in a running service (creating one inside a transaction locks it whole).
    for coleccion in ("procesados", "cierres", "outbox"):
        db.create_collection(coleccion)
    # The "dead worker": its transaction recorded the event as processed and never committed.
    muerto = db.client.start_session()
    muerto.start_transaction()
    db.procesados.insert_one({"_id": bloqueado.id}, session=muerto)
    for evento in (bloqueado, libre):
        _publicar(canal, topo, evento.model_dump_json().encode())

    with corriendo(Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)):
        inicio = time.monotonic()
        # 15 s: well past the 3 s transaction limit, well before pymongo's own 120 s of retries.
        esperar(lambda: db.cierres.find_one({"evento": libre.id}), "el otro evento", plazo=15)
        assert db.cierres.find_one({"evento": bloqueado.id}) is None
        transcurrido = time.monotonic() - inicio
        muerto.abort_transaction()  # the store reaps the dead transaction
        esperar(lambda: db.cierres.find_one({"evento": bloqueado.id}), "el evento bloqueado")
    muerto.end_session()

    print(f"evento libre aplicado tras {transcurrido:.1f} s con el bloqueo puesto")
    assert db.cierres.count_documents({"evento": bloqueado.id}) == 1
    assert tomar(canal, topo.cola_parking(servicio)) is None


def test_un_mensaje_lento_no_retiene_a_los_demas(amqp_url, canal, topo, servicio, db: Database):
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    lento, rapidos = cerrado("R-LLLL-LLLL-LLLL"), [cerrado() for _ in range(5)]
    for coleccion in ("procesados", "cierres", "outbox"):  # as arrancar() does
        db.create_collection(coleccion)
    soltar = threading.Event()

    def cerrar(evento, datos, sesion):
        if evento.id == lento.id:
            soltar.wait(30)  # e.g. a slow store call for this one message
        db.cierres.insert_one({"evento": evento.id}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("robusto"))
    for evento in (lento, *rapidos):
        _publicar(canal, topo, evento.model_dump_json().encode())

    with corriendo(Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)):
        esperar(lambda: db.cierres.count_documents({}) == 5, "los rápidos, con el lento en curso")
        assert db.cierres.find_one({"evento": lento.id}) is None
        soltar.set()
        esperar(lambda: db.cierres.find_one({"evento": lento.id}), "el lento, al terminar")

    assert db.cierres.count_documents({}) == 6
    assert tomar(canal, topo.cola(servicio)) is None  # every one acked
