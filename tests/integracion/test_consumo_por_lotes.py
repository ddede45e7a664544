"""Several waiting events applied in one transaction (issue 10), without giving up any guarantee:
each event takes effect once, a failing one fails alone, a repeat or an invalid message in a batch
changes nothing for the others. Real broker, real store."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import REGISTRY
from pymongo import MongoClient, monitoring
from pymongo.database import Database
from pymongo.errors import BulkWriteError, OperationFailure

from comun import almacen
from comun.bus import Consumidor, Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.metricas import Metricas
from servicios.plazos.manejadores import manejadores as manejadores_de_plazos
from tests.integracion import plazos
from tests.integracion.test_bus import cerrado, corriendo, esperar, tomar

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(90)]


@pytest.fixture
def servicio(bus_nombre) -> str:
    return bus_nombre.servicio("lotes")


class Lotes:
    """Wraps the real `aplicar_lote` and keeps the size of every batch that took effect."""

    def __init__(self, despachador: Despachador) -> None:
        self.despachador = despachador
        self.tamanos: list[int] = []
        self._cerrojo = threading.Lock()

    def __call__(self, pares) -> None:
        self.despachador.aplicar_lote(pares)
        with self._cerrojo:
            self.tamanos.append(len(pares))


def _consumidor(amqp_url, topo, servicio, despachador, lotes, lote=16) -> Consumidor:
    return Consumidor(
        amqp_url,
        topo,
        servicio,
        despachador.claves,
        despachador,
        hilos=2,
        procesar_lote=lotes,
        lote=lote,
    )


def _en_cola(canal, topo: Topologia, servicio: str) -> int:
    return canal.queue_declare(topo.cola(servicio), passive=True).method.message_count


def _publicar(canal, topo: Topologia, evento) -> None:
    canal.basic_publish(
        topo.intercambio, evento.tipo, evento.model_dump_json().encode(), mandatory=True
    )


def test_eventos_en_espera_se_aplican_en_lotes_y_cada_uno_una_vez(
    amqp_url, canal, topo, servicio, db: Database
):
    declarar(canal, topo, servicio, ["reclamo.cerrado"])

    def cerrar(evento, datos, sesion):
        db.cierres.insert_one({"evento": evento.id, "codigo": evento.codigo}, session=sesion)
        return [cerrado(evento.codigo.replace("PDR", "ECO"))]

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("lotes"))
    lotes = Lotes(despachador)
    eventos = [cerrado(f"PDR-2026-{i:06d}") for i in range(1, 81)]
    for evento in eventos:  # all waiting before the consumer starts: batches form
        _publicar(canal, topo, evento)

    with corriendo(_consumidor(amqp_url, topo, servicio, despachador, lotes)):
        esperar(lambda: db.cierres.count_documents({}) >= 80, "los 80 eventos aplicados")
        esperar(lambda: _en_cola(canal, topo, servicio) == 0, "la cola vacía")

    assert sorted(d["evento"] for d in db.cierres.find()) == sorted(e.id for e in eventos)
    assert db.procesados.count_documents({}) == 80
    # Each event's own emitted event is in the outbox once, with its cause's chain.
    salidas = list(db.outbox.find({}, {"evento": 1}))
    assert sorted(d["evento"]["codigo"] for d in salidas) == sorted(
        e.codigo.replace("PDR", "ECO") for e in eventos
    )
    causas = {e.id for e in eventos}
    assert {d["evento"]["correlacion"] for d in salidas} == causas
    assert max(lotes.tamanos) > 1, lotes.tamanos
    assert max(lotes.tamanos) <= 16
    # What operators see: every message taken once, in fewer takes than messages.
    etiqueta = {"servicio": servicio}
    assert REGISTRY.get_sample_value("consumo_lote_mensajes_sum", etiqueta) == 80
    assert REGISTRY.get_sample_value("consumo_lote_mensajes_count", etiqueta) < 80
    # Every message was acked: nothing comes back once the consumer is gone.
    assert tomar(canal, topo.cola(servicio)) is None


def test_un_evento_que_falla_en_un_lote_falla_solo_y_los_demas_se_aplican(
    amqp_url, canal, topo, servicio, db: Database
):
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    malo = cerrado("PDR-2026-000013")

    def cerrar(evento, datos, sesion):
        db.cierres.insert_one({"evento": evento.id}, session=sesion)
        if evento.id == malo.id:
            raise RuntimeError("este reclamo no se puede cerrar")

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("lotes"))
    lotes = Lotes(despachador)
    buenos = [cerrado(f"PDR-2026-{i:06d}") for i in range(1, 25)]
    for evento in [*buenos[:12], malo, *buenos[12:]]:
        _publicar(canal, topo, evento)

    with corriendo(_consumidor(amqp_url, topo, servicio, despachador, lotes)):
        _, aparcado, _ = esperar(
            lambda: tomar(canal, topo.cola_parking(servicio)), "el malo llega al parking"
        )
        esperar(lambda: db.cierres.count_documents({}) == 24, "los 24 buenos aplicados")

    assert "este reclamo no se puede cerrar" in aparcado.headers["x-motivo"]
    # The failing event's write never stayed (its batch and its own attempts were undone), and
    # no good event was applied twice by the batch that failed and the one-by-one that followed.
    assert db.cierres.count_documents({"evento": malo.id}) == 0
    assert sorted(d["evento"] for d in db.cierres.find()) == sorted(e.id for e in buenos)
    assert db.procesados.count_documents({"_id": malo.id}) == 0


def test_un_repetido_o_un_invalido_en_el_lote_no_cambia_nada_para_los_demas(
    amqp_url, canal, topo, servicio, db: Database
):
    declarar(canal, topo, servicio, ["reclamo.cerrado"])

    def cerrar(evento, datos, sesion):
        db.cierres.insert_one({"evento": evento.id}, session=sesion)

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("lotes"))
    lotes = Lotes(despachador)
    eventos = [cerrado(f"PDR-2026-{i:06d}") for i in range(1, 21)]
    ya_aplicado = eventos[3]
    despachador.aplicar(ya_aplicado, ya_aplicado.contenido())  # applied before, redelivered now
    for evento in eventos[:10]:
        _publicar(canal, topo, evento)
    _publicar(canal, topo, eventos[5])  # the same event twice in one batch
    canal.basic_publish(topo.intercambio, "reclamo.cerrado", b"{no es json", mandatory=True)
    for evento in eventos[10:]:
        _publicar(canal, topo, evento)

    with corriendo(_consumidor(amqp_url, topo, servicio, despachador, lotes)):
        _, aparcado, _ = esperar(
            lambda: tomar(canal, topo.cola_parking(servicio)), "el inválido llega al parking"
        )
        esperar(lambda: db.cierres.count_documents({}) == 20, "los 20 aplicados")
        esperar(lambda: _en_cola(canal, topo, servicio) == 0, "la cola vacía")

    assert "sobre inválido" in aparcado.headers["x-motivo"]
    assert sorted(d["evento"] for d in db.cierres.find()) == sorted(e.id for e in eventos)


def test_aplicar_lote_con_un_id_ya_procesado_no_escribe_nada(servicio, db: Database):
    escritos = []

    def cerrar(evento, datos, sesion):
        db.cierres.insert_one({"evento": evento.id}, session=sesion)
        escritos.append(evento.id)
        return [cerrado("ECO-2026-000001")]

    despachador = Despachador(db, servicio, {"reclamo.cerrado": cerrar}, Metricas("lotes"))
    primero, segundo = cerrado("PDR-2026-000001"), cerrado("PDR-2026-000002")
    despachador.aplicar(segundo, segundo.contenido())

    with pytest.raises(BulkWriteError) as repetido:
        despachador.aplicar_lote([(e, e.contenido()) for e in (primero, segundo)])

    assert repetido.value.details["writeErrors"][0]["code"] == 11000  # duplicate key
    assert db.cierres.count_documents({}) == 1  # only the earlier `segundo`
    assert db.procesados.count_documents({"_id": primero.id}) == 0
    assert db.outbox.count_documents({}) == 1
    despachador.aplicar_lote([(primero, primero.contenido())])
    assert db.cierres.count_documents({"evento": primero.id}) == 1


def test_lo_leido_en_una_transaccion_se_pide_una_vez_y_de_nuevo_al_reintentarla(db: Database):
    db.webhooks.insert_one({"_id": "w1"})
    lecturas: list[int] = []
    intentos = {"n": 0}

    def leer() -> int:
        lecturas.append(1)
        return db.webhooks.count_documents({})

    def trabajo(sesion):
        a = almacen.leido_en_la_transaccion(sesion, "webhooks", leer)
        b = almacen.leido_en_la_transaccion(sesion, "webhooks", leer)
        intentos["n"] += 1
        if intentos["n"] == 1:  # a conflict: pymongo runs the transaction again
            fallo = OperationFailure("conflicto de escritura simulado", 112)
            fallo._add_error_label("TransientTransactionError")
            raise fallo
        return a, b

    assert almacen.en_transaccion(db, trabajo) == (1, 1)
    assert intentos["n"] == 2
    assert len(lecturas) == 2  # once per attempt, not once per ask
    assert almacen.en_transaccion(db, trabajo) == (1, 1)
    assert len(lecturas) == 3  # a new transaction asks again
    assert almacen.leido_en_la_transaccion(None, "webhooks", leer) == 1
    assert len(lecturas) == 4  # without a transaction, every time


def test_un_lote_de_plazos_lee_el_calendario_una_vez_y_el_siguiente_lo_relee(
    mongo_url, db: Database
):
    """Dates hand-counted in tests/integracion/plazos.py: received Tue 24 Nov 2026 → due Mon
    11 Jan 2027; with 11 Jan declared non-working, due Tue 12 Jan."""
    plazos.preparar_almacen(db)
    lecturas = _Lecturas()
    cliente = MongoClient(mongo_url, tz_aware=True, event_listeners=[lecturas])
    try:
        vigilada = cliente[db.name]
        despachador = Despachador(
            vigilada, "plazos", manejadores_de_plazos(vigilada, plazos.POLITICA), Metricas("p")
        )
        lote = [plazos.registrado(plazos.codigo(i)) for i in range(3)]
        despachador.aplicar_lote([(e, e.contenido()) for e in lote])
        assert lecturas.find.get("dias_no_laborables") == 1

        db.dias_no_laborables.insert_one({"_id": "2027-01-11", "motivo": "decreto"})
        otro = plazos.registrado(plazos.codigo(9))
        despachador.aplicar_lote([(otro, otro.contenido())])
        assert lecturas.find.get("dias_no_laborables") == 2
    finally:
        cliente.close()

    vencen = {
        e["codigo"]: e["datos"]["vence_en"] for e in plazos.eventos_en_outbox(db, "plazo.calculado")
    }
    assert vencen == {
        **{e.codigo: "2027-01-12T04:59:59Z" for e in lote},
        otro.codigo: "2027-01-13T04:59:59Z",
    }


class _Lecturas(monitoring.CommandListener):
    """Counts the `find` commands each collection receives."""

    def __init__(self) -> None:
        self.find: dict[str, int] = {}

    def started(self, event) -> None:
        if event.command_name == "find":
            self.find[event.command["find"]] = self.find.get(event.command["find"], 0) + 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def test_los_eventos_de_un_reclamo_se_atienden_de_a_uno_y_en_orden(
    amqp_url, canal, topo, servicio, db: Database
):
    """A reclamo's events never run in two threads at once (issue 10: two transactions writing
    one reclamo conflict, and the store redoes a whole batch), and keep the order they were
    published in; different reclamos still run side by side."""
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    codigos = [f"PDR-2026-{i:06d}" for i in range(1, 9)]
    en_curso: dict[str, int] = dict.fromkeys(codigos, 0)
    vistos: dict[str, list[str]] = {c: [] for c in codigos}
    solapes: list[str] = []
    simultaneos = {"ahora": 0, "maximo": 0}
    cerrojo = threading.Lock()

    def procesar(evento, datos) -> None:
        with cerrojo:
            en_curso[evento.codigo] += 1
            if en_curso[evento.codigo] > 1:
                solapes.append(evento.codigo)
            simultaneos["ahora"] += 1
            simultaneos["maximo"] = max(simultaneos["maximo"], simultaneos["ahora"])
        time.sleep(0.02)  # long enough for another thread to take the same reclamo's next one
        with cerrojo:
            en_curso[evento.codigo] -= 1
            simultaneos["ahora"] -= 1
            vistos[evento.codigo].append(evento.id)

    # Published by the platform's own Publicador, as the relays do: a reclamo's events one after
    # another (registrado, derivado, plazo.calculado come so), all waiting for the consumer.
    publicados: dict[str, list[str]] = {c: [] for c in codigos}
    salida = Publicador(amqp_url, topo)
    try:
        for codigo in codigos:
            for _ in range(6):
                evento = cerrado(codigo)
                salida.publicar(evento)
                publicados[codigo].append(evento.id)
    finally:
        salida.cerrar()

    consumidor = Consumidor(amqp_url, topo, servicio, ["reclamo.cerrado"], procesar, hilos=4)
    with corriendo(consumidor):
        esperar(lambda: sum(map(len, vistos.values())) == 48, "los 48 eventos atendidos", plazo=60)

    assert solapes == []
    assert vistos == publicados
    assert simultaneos["maximo"] > 1  # the lanes ran side by side
