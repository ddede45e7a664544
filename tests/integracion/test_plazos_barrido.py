"""plazos' sweep against the real store and broker: each warning raised exactly once with two
workers sweeping at the same time and again afterwards (a restart), and a declared / withdrawn
non-working day moving an open deadline by one business day and back.

Dates (hand-counted in tests/unit/test_plazos_dominio.py): a reclamo received Tuesday
24 Nov 2026 at 10:00 Lima is due Monday 11 Jan 2027 (vence_en 2027-01-12T04:59:59Z); its
warning day, 5 business days before, is Monday 4 Jan 2027 (from 2027-01-04T05:00Z). Declaring
Thursday 31 Dec 2026 non-working (it was day 24) moves the deadline to Tuesday 12 Jan
(2027-01-13T04:59:59Z). An observation on Monday 7 Dec 2026 may be answered until the end of
Friday 11 Dec (8 and 9 Dec are holidays): 2026-12-12T04:59:59Z.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pika
import pytest
from flask.testing import FlaskClient
from pymongo import MongoClient
from pymongo.database import Database

from comun.bus import Publicador, Topologia, declarar
from comun.eventos import Evento, ReclamoDesistido, nuevo_evento
from comun.metricas import Metricas
from comun.outbox import Relay
from servicios.plazos.barrido import Barrido
from tests import esperas
from tests.integracion.plazos import (
    POLITICA,
    RECIBIDO,
    VENCE,
    cliente_plazos,
    codigo,
    eventos_en_outbox,
    observado,
    poner_reloj,
    registrado,
    respondido,
)
from tests.integracion.servicios import como

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

VENCE_CON_31_DIC = datetime(2027, 1, 13, 4, 59, 59, tzinfo=UTC)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def otro_worker(mongo_url: str, plazos_db: Database) -> Iterator[Database]:
    """The same database through another client, as a second plazos worker process has."""
    cliente: MongoClient = MongoClient(mongo_url, tz_aware=True)
    yield cliente[plazos_db.name]
    cliente.close()


def barrer_a_la_vez(*bases: Database, vueltas: int = 2) -> None:
    """One Barrido per database handle, each `vueltas` passes, all starting together."""
    salida = threading.Barrier(len(bases))
    errores: list[BaseException] = []

    def correr(base: Database) -> None:
        barrido = Barrido(base, POLITICA, lote=7, gracia_s=0)
        try:
            salida.wait(timeout=10)
            for _ in range(vueltas):
                barrido.una_pasada()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errores.append(exc)

    hilos = [threading.Thread(target=correr, args=(b,)) for b in bases]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join(timeout=60)
    assert not errores, errores


def por_codigo(db: Database, tipo: str) -> Counter:
    return Counter(e["codigo"] for e in eventos_en_outbox(db, tipo))


# --- warnings exactly once ----------------------------------------------------------------------


def test_cada_aviso_una_sola_vez_con_dos_workers_y_tras_reiniciar(
    plazos_db, otro_worker, despachar, reloj_archivo, amqp_url, bus_nombre
):
    codigos = [codigo(i) for i in range(20)]
    observados = codigos[:6]
    respondido_a_tiempo = codigos[19]
    for c in codigos:
        assert despachar(registrado(c))
    for c in observados:
        assert despachar(observado(c))
    assert despachar(respondido(respondido_a_tiempo, RECIBIDO + timedelta(days=3)))
    abiertos = [c for c in codigos if c not in observados and c != respondido_a_tiempo]

    # Saturday 12 Dec 2026 10:00 Lima: only the subsanaciones are due.
    poner_reloj(reloj_archivo, datetime(2026, 12, 12, 15, 0, tzinfo=UTC))
    barrer_a_la_vez(plazos_db, otro_worker)
    assert por_codigo(plazos_db, "plazo.subsanacion_vencida") == Counter(
        dict.fromkeys(observados, 1)
    )
    vencida = eventos_en_outbox(plazos_db, "plazo.subsanacion_vencida")[0]
    assert vencida["datos"]["subsanar_hasta"].startswith("2026-12-12T04:59:59")
    assert por_codigo(plazos_db, "plazo.por_vencer") == Counter()

    # Tuesday 5 Jan 2027: past the warning day (Monday 4), before the deadline.
    poner_reloj(reloj_archivo, datetime(2027, 1, 5, 15, 0, tzinfo=UTC))
    barrer_a_la_vez(plazos_db, otro_worker)
    assert por_codigo(plazos_db, "plazo.por_vencer") == Counter(dict.fromkeys(abiertos, 1))
    aviso = eventos_en_outbox(plazos_db, "plazo.por_vencer")[0]
    # Jan 6, 7, 8, 11 remain after Tuesday 5.
    assert aviso["datos"]["dias_habiles_restantes"] == 4
    assert por_codigo(plazos_db, "plazo.vencido") == Counter()

    # Tuesday 12 Jan 2027 10:00 Lima: overdue.
    poner_reloj(reloj_archivo, datetime(2027, 1, 12, 15, 0, tzinfo=UTC))
    barrer_a_la_vez(plazos_db, otro_worker)
    # Restarted workers (new handles, nothing in memory) find nothing left to raise.
    barrer_a_la_vez(otro_worker, plazos_db, vueltas=1)
    Barrido(plazos_db, POLITICA).una_pasada()

    una_vez = Counter(dict.fromkeys(abiertos, 1))
    assert por_codigo(plazos_db, "plazo.vencido") == una_vez
    assert por_codigo(plazos_db, "plazo.por_vencer") == una_vez
    assert por_codigo(plazos_db, "plazo.subsanacion_vencida") == Counter(
        dict.fromkeys(observados, 1)
    )
    vencido = eventos_en_outbox(plazos_db, "plazo.vencido")[0]
    assert vencido["datos"]["vence_en"].startswith("2027-01-12T04:59:59")
    assert vencido["datos"]["dias_habiles_restantes"] == 0

    # And on the broker: what the relay publishes arrives once per reclamo.
    topo = Topologia(bus_nombre)
    servicio = bus_nombre.servicio("prueba-plazos")
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        canal = conexion.channel()
        declarar(canal, topo, servicio, ["plazo.por_vencer", "plazo.vencido"])
        publicador = Publicador(amqp_url, topo)
        relay = Relay(plazos_db, publicador, Metricas("prueba"))
        with contextlib.suppress(Exception):
            while relay.una_vuelta():
                pass
        publicador.cerrar()
        recibidos: Counter = Counter()

        def todo_llego() -> bool:
            while (mensaje := canal.basic_get(topo.cola(servicio), auto_ack=True))[0]:
                evento = Evento.model_validate_json(mensaje[2])
                recibidos[(evento.tipo, evento.codigo)] += 1
            return sum(recibidos.values()) >= 2 * len(abiertos)

        esperas.esperar(todo_llego, "los avisos publicados llegan a la cola", 15)
        assert set(recibidos.values()) == {1}
        assert set(recibidos) == set(
            itertools.product(("plazo.por_vencer", "plazo.vencido"), abiertos)
        )
    finally:
        conexion.close()


def test_el_reloj_terminado_no_avisa(plazos_db, despachar, reloj_archivo):
    c = codigo(40)
    assert despachar(registrado(c))
    desistido = nuevo_evento(
        "reclamo.desistido",
        ReclamoDesistido(entidad_id="minsa"),
        fuente="registro",
        codigo=c,
        ocurrido_en=RECIBIDO + timedelta(days=1),
    )
    assert despachar(desistido)
    poner_reloj(reloj_archivo, datetime(2027, 2, 1, 15, 0, tzinfo=UTC))
    Barrido(plazos_db, POLITICA).una_pasada()
    doc = plazos_db.plazos.find_one({"_id": c})
    assert doc["estado"] == "terminado"
    assert "aviso_pendiente" not in doc and "vencer_pendiente" not in doc
    assert eventos_en_outbox(plazos_db, "plazo.vencido") == []
    assert eventos_en_outbox(plazos_db, "plazo.por_vencer") == []


# --- calendar changes ---------------------------------------------------------------------------


def test_un_dia_declarado_corre_el_plazo_abierto_y_retirarlo_lo_devuelve(
    plazos_db, otro_worker, despachar, reloj_archivo, monkeypatch, mongo_url, amqp_url
):
    abierto, posterior, anterior, respondido_ = (codigo(i) for i in range(50, 54))
    assert despachar(registrado(abierto))
    # Registered after 31 Dec: computed with the calendar of its time, not touched.
    assert despachar(registrado(posterior, datetime(2027, 1, 4, 15, 0, tzinfo=UTC)))
    # Due long before 31 Dec (received 1 Oct 2026): not touched.
    assert despachar(registrado(anterior, datetime(2026, 10, 1, 15, 0, tzinfo=UTC)))
    # Answered: its clock ended, not touched.
    assert despachar(registrado(respondido_))
    assert despachar(respondido(respondido_, RECIBIDO + timedelta(days=2)))
    assert plazos_db.plazos.find_one({"_id": abierto})["vence_en"] == VENCE
    poner_reloj(reloj_archivo, datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    antes = {d["_id"]: d["vence_en"] for d in plazos_db.plazos.find()}

    api: FlaskClient = cliente_plazos(monkeypatch, mongo_url, plazos_db, amqp_url)
    r = api.put(
        "/calendario/dias-no-laborables/2026-12-31",
        json={"motivo": "Decreto Supremo 123-2026-PCM"},
        headers=como("operador"),
    )
    assert r.status_code == 200, r.json
    assert r.json == {"fecha": "2026-12-31", "motivo": "Decreto Supremo 123-2026-PCM"}
    # Declaring it again (another motivo) is not another change.
    r = api.put(
        "/calendario/dias-no-laborables/2026-12-31",
        json={"motivo": "Decreto Supremo 124-2026-PCM"},
        headers=como("operador"),
    )
    assert r.status_code == 200
    assert plazos_db.cambios_calendario.count_documents({}) == 1
    assert api.get("/calendario/dias-no-laborables", headers=como("supervisor")).json == [
        {"fecha": "2026-12-31", "motivo": "Decreto Supremo 124-2026-PCM"}
    ]

    barrer_a_la_vez(plazos_db, otro_worker)  # both apply it; the second finds nothing to do
    recalculados = eventos_en_outbox(plazos_db, "plazo.recalculado")
    assert [e["codigo"] for e in recalculados] == [abierto]
    datos = recalculados[0]["datos"]
    assert datos["razon"] == "calendario"
    assert datos["vence_en"].startswith("2027-01-13T04:59:59")
    assert datos["vence_antes"].startswith("2027-01-12T04:59:59")
    assert plazos_db.plazos.find_one({"_id": abierto})["vence_en"] == VENCE_CON_31_DIC
    for otro in (posterior, anterior, respondido_):
        assert plazos_db.plazos.find_one({"_id": otro})["vence_en"] == antes[otro]
    assert plazos_db.cambios_calendario.count_documents({"pendiente_desde": {"$exists": 1}}) == 0
    # The warning follows the new deadline: 5 business days before Tuesday 12 Jan is Tuesday 5.
    aviso = plazos_db.plazos.find_one({"_id": abierto})["aviso_pendiente"]
    assert aviso == datetime(2027, 1, 5, 5, 0, tzinfo=UTC)

    # Withdrawn: back to Monday 11 Jan, once.
    r = api.delete("/calendario/dias-no-laborables/2026-12-31", headers=como("operador"))
    assert r.status_code == 200 and r.json == {"fecha": "2026-12-31"}
    r = api.delete("/calendario/dias-no-laborables/2026-12-31", headers=como("operador"))
    assert r.status_code == 404
    barrer_a_la_vez(plazos_db, otro_worker)
    recalculados = eventos_en_outbox(plazos_db, "plazo.recalculado")
    assert len(recalculados) == 2
    vuelta = next(e for e in recalculados if e["datos"]["vence_en"].startswith("2027-01-12"))
    assert vuelta["codigo"] == abierto
    assert vuelta["datos"]["vence_antes"].startswith("2027-01-13T04:59:59")
    assert plazos_db.plazos.find_one({"_id": abierto})["vence_en"] == VENCE
    assert api.get("/calendario/dias-no-laborables", headers=como("operador")).json == []


@pytest.mark.parametrize("fecha", ["0", "2026-13-01", "2026-02-30", "20261231", "2026-W53-4"])
def test_solo_fechas_del_calendario(plazos_db, monkeypatch, mongo_url, amqp_url, fecha):
    api = cliente_plazos(monkeypatch, mongo_url, plazos_db, amqp_url)
    r = api.put(
        f"/calendario/dias-no-laborables/{fecha}",
        json={"motivo": "Decreto Supremo"},
        headers=como("operador"),
    )
    assert r.status_code == 422
    assert r.json["error"] == "fecha_invalida"
    assert plazos_db.dias_no_laborables.count_documents({}) == 0


def test_calendario_solo_para_el_operador(plazos_db, monkeypatch, mongo_url, amqp_url):
    api = cliente_plazos(monkeypatch, mongo_url, plazos_db, amqp_url)
    ruta = "/calendario/dias-no-laborables/2026-12-31"
    for rol in ("entidad", "supervisor"):
        assert (
            api.put(ruta, json={"motivo": "Decreto"}, headers=como(rol, "minsa")).status_code == 403
        )
        assert api.delete(ruta, headers=como(rol, "minsa")).status_code == 403
    assert (
        api.get("/calendario/dias-no-laborables", headers=como("entidad", "minsa")).status_code
        == 403
    )


def test_el_perdedor_de_un_conflicto_lo_encuentra_hecho(
    plazos_db, otro_worker, despachar, reloj_archivo, monkeypatch
):
    """Worker A claims the warning and holds its transaction open; worker B claims the same one
    meanwhile, conflicts, retries after A commits and finds it done: one event in all."""
    import servicios.plazos.barrido as modulo

    c = codigo(60)
    assert despachar(registrado(c))
    poner_reloj(reloj_archivo, datetime(2027, 1, 5, 15, 0, tzinfo=UTC))
    reclamado, seguir = threading.Event(), threading.Event()
    intentos: Counter = Counter()
    encolar_real, en_transaccion_real = modulo.encolar, modulo.en_transaccion

    def encolar_lento(db, eventos, s):
        encolar_real(db, eventos, s)
        if threading.current_thread().name == "A":
            reclamado.set()
            seguir.wait(10)  # A's transaction stays open, its claim uncommitted

    def en_transaccion_contada(db, trabajo, *args):
        def contado(s):
            intentos[threading.current_thread().name] += 1
            return trabajo(s)

        return en_transaccion_real(db, contado, *args)

    monkeypatch.setattr(modulo, "encolar", encolar_lento)
    monkeypatch.setattr(modulo, "en_transaccion", en_transaccion_contada)
    resultados: dict[str, dict] = {}

    def correr(base: Database) -> None:
        resultados[threading.current_thread().name] = Barrido(base, POLITICA).una_pasada()

    a = threading.Thread(target=correr, args=(plazos_db,), name="A")
    a.start()
    assert reclamado.wait(10)
    b = threading.Thread(target=correr, args=(otro_worker,), name="B")
    b.start()
    b.join(0.5)  # B is retrying its conflicting claim while A holds it
    seguir.set()
    a.join(30)
    b.join(30)

    assert resultados["A"]["plazo.por_vencer"] == 1
    assert resultados["B"]["plazo.por_vencer"] == 0
    assert intentos["B"] >= 2, "B no llegó a chocar con la transacción de A"
    assert por_codigo(plazos_db, "plazo.por_vencer") == Counter({c: 1})


def test_los_plazos_anteriores_al_barrido_se_completan_una_vez(plazos_db, reloj_archivo):
    # As the handler before issue 6 stored a running clock.
    c = codigo(70)
    plazos_db.plazos.insert_one(
        {
            "_id": c,
            "estado": "corriendo",
            "entidad_id": "minsa",
            "registrado_en": RECIBIDO,
            "fecha_recepcion": "2026-11-24",
            "vence_en": VENCE,
            "dias_habiles": 30,
        }
    )
    barrido = Barrido(plazos_db, POLITICA)
    assert barrido.completar_anteriores() == 1
    doc = plazos_db.plazos.find_one({"_id": c})
    assert doc["abierto_hasta"] == "2027-01-11"
    assert doc["aviso_pendiente"] == datetime(2027, 1, 4, 5, 0, tzinfo=UTC)
    assert eventos_en_outbox(plazos_db, "plazo.calculado") == []  # it had been announced
    assert barrido.completar_anteriores() == 0
    poner_reloj(reloj_archivo, datetime(2027, 1, 5, 15, 0, tzinfo=UTC))
    barrido.una_pasada()
    assert por_codigo(plazos_db, "plazo.por_vencer") == Counter({c: 1})
