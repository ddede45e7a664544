"""notificaciones' webhook deliveries against the real store and a real HTTP server: created
once per event and subscription in the event's transaction, sent signed, retried with back-off
(a receiver that is down gets one request per wait, not one per delivery), every attempt
recorded, expired after the day, cancelled when the webhook is deleted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from comun import almacen
from comun.eventos import (
    ArchivoGuardado,
    ReclamoAdjuntado,
    ReclamoDerivado,
    ReclamoEnAtencion,
    ReclamoTrasladado,
    nuevo_evento,
)
from servicios.notificaciones import dependencias, webhooks

pytestmark = pytest.mark.integracion
CODIGO = "R-2222-3333-4444"


class Servidor:
    """Answers each POST with the next status of `estados` (the last one repeats)."""

    def __init__(self, estados: list[int]) -> None:
        self.estados = estados
        self.recibidos: list[tuple[dict[str, str], bytes]] = []
        recibidos, pendientes = self.recibidos, list(estados)

        class Manejador(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                cuerpo = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recibidos.append(({k.lower(): v for k, v in self.headers.items()}, cuerpo))
                self.send_response(pendientes.pop(0) if len(pendientes) > 1 else pendientes[0])
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Manejador)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def cerrar(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def preparada(db: Database) -> Database:
    dependencias.preparar(db)
    return db


def _suscribir(db: Database, url: str, unidad: str | None = None, **extra) -> str:
    wid = webhooks.nuevo_id()
    db.webhooks.insert_one(
        {
            "_id": wid,
            "entidad": "minsa",
            "unidad": unidad,
            "url": url,
            "eventos": sorted(webhooks.TIPOS),
            "secreto": "whsec_prueba",
            "activo": True,
            "creado_en": datetime.now(UTC),
            **extra,
        }
    )
    return wid


def _evento(tipo: str = "reclamo.en_atencion", unidad: str = "admision"):
    if tipo == "reclamo.derivado":
        datos = ReclamoDerivado(
            entidad_id="minsa", unidad_id=unidad, unidad_nombre="Admisión", por_regla=True
        )
    else:
        datos = ReclamoEnAtencion(entidad_id="minsa", unidad_id=unidad)
    return nuevo_evento(tipo, datos, fuente="derivacion", codigo=CODIGO), datos


def _crear(db: Database, evento, datos, vigencia_s: float = 86400) -> None:
    with db.client.start_session() as s:
        s.with_transaction(lambda s: webhooks.crear_entregas(db, evento, datos, s, vigencia_s))


def _mensajero(db: Database) -> webhooks.Mensajero:
    return webhooks.Mensajero(db, espera_inicial_s=30, espera_max_s=3600, permitir_privadas=True)


@pytest.fixture
def servidor() -> Iterator[list[Servidor]]:
    creados: list[Servidor] = []
    yield creados
    for s in creados:
        s.cerrar()


def test_una_entrega_por_evento_y_suscripcion_aunque_el_evento_se_repita(preparada, servidor):
    db = preparada
    toda = _suscribir(db, "http://127.0.0.1:9/a")
    de_la_unidad = _suscribir(db, "http://127.0.0.1:9/b", unidad="admision")
    _suscribir(db, "http://127.0.0.1:9/c", unidad="otra-unidad")
    _suscribir(db, "http://127.0.0.1:9/d", activo=False)
    evento, datos = _evento()

    _crear(db, evento, datos)
    _crear(db, evento, datos)  # redelivered by the broker (the Despachador stops it earlier)

    entregas = list(db.webhook_entregas.find())
    assert sorted(e["webhook_id"] for e in entregas) == sorted([toda, de_la_unidad])
    assert {e["_id"] for e in entregas} == {
        webhooks.id_de_entrega(toda, evento.id),
        webhooks.id_de_entrega(de_la_unidad, evento.id),
    }


def test_reintenta_con_espera_y_registra_cada_intento(preparada, servidor):
    db = preparada
    srv = Servidor([503, 204])
    servidor.append(srv)
    wid = _suscribir(db, srv.url)
    evento, datos = _evento()
    _crear(db, evento, datos)
    mensajero = _mensajero(db)

    assert mensajero.una_vuelta() == 1
    e = db.webhook_entregas.find_one()
    assert e["estado"] == "pendiente"
    assert [(i["estado_http"], i["error"]) for i in e["intentos"]] == [(503, "HTTP 503")]
    espera = e["proximo_intento"] - e["intentos"][0]["en"]
    assert timedelta(seconds=29) < espera < timedelta(seconds=35)
    assert mensajero.una_vuelta() == 0  # not before its time

    db.webhook_entregas.update_one({}, {"$set": {"proximo_intento": datetime.now(UTC)}})
    assert mensajero.una_vuelta() == 1
    e = db.webhook_entregas.find_one()
    assert e["estado"] == "entregada" and [i["estado_http"] for i in e["intentos"]] == [503, 204]

    # Both requests: the same body and delivery id, each validly signed for its own time.
    assert len(srv.recibidos) == 2
    assert srv.recibidos[0][1] == srv.recibidos[1][1]
    for cabeceras, cuerpo in srv.recibidos:
        assert cabeceras["x-pdr-entrega"] == webhooks.id_de_entrega(wid, evento.id)
        assert cabeceras["x-pdr-evento"] == "reclamo.en_atencion"
        partes = dict(p.split("=", 1) for p in cabeceras["x-pdr-firma"].split(","))
        mac = hmac.new(b"whsec_prueba", partes["t"].encode() + b"." + cuerpo, hashlib.sha256)
        assert hmac.compare_digest(mac.hexdigest(), partes["v1"])


def test_un_receptor_caido_recibe_un_intento_por_espera_y_luego_todo_en_orden(preparada, servidor):
    db = preparada
    srv = Servidor([500, 204])
    servidor.append(srv)
    _suscribir(db, srv.url)
    eventos = []
    for tipo in ("reclamo.derivado", "reclamo.en_atencion"):
        evento, datos = _evento(tipo)
        _crear(db, evento, datos)
        eventos.append(evento)
    mensajero = _mensajero(db)

    assert mensajero.una_vuelta() == 1  # the oldest fails; the other waits with it
    assert len(srv.recibidos) == 1
    pendientes = list(db.webhook_entregas.find().sort("creada_en", 1))
    assert [len(e["intentos"]) for e in pendientes] == [1, 0]
    assert pendientes[0]["proximo_intento"] == pendientes[1]["proximo_intento"]

    db.webhook_entregas.update_many({}, {"$set": {"proximo_intento": datetime.now(UTC)}})
    while mensajero.una_vuelta():
        pass
    assert [h["x-pdr-evento"] for h, _ in srv.recibidos] == [
        "reclamo.derivado",
        "reclamo.derivado",
        "reclamo.en_atencion",
    ]
    assert {e["estado"] for e in db.webhook_entregas.find()} == {"entregada"}


def test_pasado_el_dia_la_entrega_queda_fallida(preparada, servidor):
    db = preparada
    _suscribir(db, "http://127.0.0.1:9/nadie-escucha")
    evento, datos = _evento()
    _crear(db, evento, datos, vigencia_s=10)  # the next wait (30 s) would pass its day

    assert _mensajero(db).una_vuelta() == 1
    e = db.webhook_entregas.find_one()
    assert e["estado"] == "fallida" and "proximo_intento" not in e
    assert e["intentos"][0]["estado_http"] is None and "ConnectError" in e["intentos"][0]["error"]


def test_un_webhook_eliminado_no_recibe_lo_pendiente(preparada, servidor):
    db = preparada
    srv = Servidor([204])
    servidor.append(srv)
    wid = _suscribir(db, srv.url)
    evento, datos = _evento()
    _crear(db, evento, datos)
    db.webhooks.update_one({"_id": wid}, {"$set": {"activo": False}})

    assert _mensajero(db).una_vuelta() == 1
    assert db.webhook_entregas.find_one()["estado"] == "cancelada"
    assert srv.recibidos == []


def test_sin_permiso_un_destino_privado_no_recibe_nada(preparada, servidor):
    db = preparada
    srv = Servidor([204])
    servidor.append(srv)
    _suscribir(db, srv.url)
    evento, datos = _evento()
    _crear(db, evento, datos)
    mensajero = webhooks.Mensajero(db, 30, 3600, permitir_privadas=False)

    assert mensajero.una_vuelta() == 1
    e = db.webhook_entregas.find_one()
    assert e["estado"] == "pendiente" and "privada" in e["intentos"][0]["error"]
    assert srv.recibidos == []


def test_los_archivos_nuevos_llegan_a_la_entidad_que_tiene_el_reclamo_tras_un_traslado(
    preparada, servidor
):
    db = preparada
    srv = Servidor([204])
    servidor.append(srv)
    de_minsa = _suscribir(db, "http://127.0.0.1:9/minsa")
    de_munilima = _suscribir(db, srv.url, entidad="munilima")
    inicio = datetime.now(UTC) - timedelta(minutes=10)
    derivado = ReclamoDerivado(
        entidad_id="minsa", unidad_id="admision", unidad_nombre="Admisión", por_regla=True
    )
    traslado = ReclamoTrasladado(
        entidad_anterior_id="minsa",
        entidad_id="munilima",
        entidad_nombre="Municipalidad de Lima",
        razon="Competencia municipal.",
    )
    for minuto, tipo, datos in (
        (0, "reclamo.derivado", derivado),
        (1, "reclamo.trasladado", traslado),
    ):
        evento = nuevo_evento(
            tipo,
            datos,
            fuente="derivacion",
            codigo=CODIGO,
            ocurrido_en=inicio + timedelta(minutes=minuto),
        )
        _crear(db, evento, datos)
    contenido = b"%PDF-1.4\n% acta\n%%EOF\n"
    archivo = {
        "id": "65f0c0ffee0000000000abcd",
        "nombre": "acta.pdf",
        "tipo_mime": "application/pdf",
        "bytes": len(contenido),
        "sha256": hashlib.sha256(contenido).hexdigest(),
    }
    # registro had not yet learnt of the traslado: the event still names minsa.
    adjuntado = ReclamoAdjuntado(
        entidad_id="minsa", adjuntos=[ArchivoGuardado.model_validate(archivo)]
    )
    evento = nuevo_evento(
        "reclamo.adjuntado",
        adjuntado,
        fuente="registro",
        codigo=CODIGO,
        ocurrido_en=inicio + timedelta(minutes=2),
    )
    _crear(db, evento, adjuntado)
    _crear(db, evento, adjuntado)  # redelivered: still one delivery

    entregas = list(db.webhook_entregas.find({"tipo": "reclamo.adjuntado"}))
    assert [e["webhook_id"] for e in entregas] == [de_munilima]
    assert (
        db.webhook_entregas.count_documents({"webhook_id": de_minsa, "evento_id": evento.id}) == 0
    )

    while _mensajero(db).una_vuelta():
        pass
    [(cabeceras, cuerpo)] = [(h, c) for h, c in srv.recibidos if b"reclamo.adjuntado" in c]
    partes = dict(p.split("=", 1) for p in cabeceras["x-pdr-firma"].split(","))
    mac = hmac.new(b"whsec_prueba", partes["t"].encode() + b"." + cuerpo, hashlib.sha256)
    assert hmac.compare_digest(mac.hexdigest(), partes["v1"])
    carga = json.loads(cuerpo)
    assert carga["entidad"] == "munilima" and carga["codigo"] == CODIGO
    assert carga["estado"] == "trasladado"  # the state it is in: files change no state
    assert carga["adjuntos"] == [archivo]


def test_una_suscripcion_a_todo_de_antes_recibe_tambien_los_archivos_nuevos(db):
    # The 14 types an entity could subscribe to before reclamo.adjuntado, written out here.
    de_antes = [
        "reclamo.registrado",
        "reclamo.derivado",
        "reclamo.en_atencion",
        "reclamo.reasignado",
        "reclamo.observado",
        "reclamo.subsanado",
        "reclamo.archivado",
        "reclamo.trasladado",
        "reclamo.desistido",
        "reclamo.respondido",
        "reclamo.cerrado",
        "plazo.por_vencer",
        "plazo.vencido",
        "supervision.intervencion",
    ]
    todo = _suscribir(db, "http://127.0.0.1:9/a", eventos=de_antes)
    algunos = _suscribir(db, "http://127.0.0.1:9/b", eventos=["reclamo.derivado"])

    dependencias.preparar(db)
    dependencias.preparar(db)  # every start: nothing twice

    assert db.webhooks.find_one({"_id": todo})["eventos"] == [*de_antes, "reclamo.adjuntado"]
    assert db.webhooks.find_one({"_id": algunos})["eventos"] == ["reclamo.derivado"]
    evento = nuevo_evento(
        "reclamo.adjuntado",
        ReclamoAdjuntado(
            entidad_id="minsa",
            adjuntos=[
                ArchivoGuardado(
                    id="65f0c0ffee0000000000abcd",
                    nombre="a.pdf",
                    tipo_mime="application/pdf",
                    bytes=10,
                    sha256="0" * 64,
                )
            ],
        ),
        fuente="registro",
        codigo=CODIGO,
    )
    _crear(db, evento, evento.contenido())
    assert [e["webhook_id"] for e in db.webhook_entregas.find()] == [todo]


class _Lecturas(monitoring.CommandListener):
    """Counts the `find` commands each collection receives (what the store is asked)."""

    def __init__(self) -> None:
        self.find: dict[str, int] = {}

    def started(self, event) -> None:
        if event.command_name == "find":
            coleccion = event.command["find"]
            self.find[coleccion] = self.find.get(coleccion, 0) + 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def test_un_lote_de_eventos_lee_las_suscripciones_una_vez_y_cada_evento_llega_a_las_suyas(
    mongo_url, preparada
):
    """Issue 10: a batch of events in one transaction asks for the subscriptions once, and
    each event still reaches exactly its entity's (and unit's) subscriptions."""
    de_minsa = _suscribir(preparada, "http://127.0.0.1:9/minsa")
    de_sunat = _suscribir(preparada, "http://127.0.0.1:9/sunat", entidad="sunat")
    _suscribir(preparada, "http://127.0.0.1:9/otra", unidad="otra-unidad")
    lote = []
    for i, entidad in enumerate(["minsa", "sunat", "minsa", "essalud"]):
        datos = ReclamoEnAtencion(entidad_id=entidad, unidad_id="admision")
        lote.append(
            (
                nuevo_evento("reclamo.en_atencion", datos, fuente="derivacion", codigo=f"R-{i}"),
                datos,
            )
        )
    lecturas = _Lecturas()
    cliente = MongoClient(mongo_url, tz_aware=True, event_listeners=[lecturas])
    try:
        db = cliente[preparada.name]
        almacen.en_transaccion(
            db,
            lambda s: [webhooks.crear_entregas(db, e, d, s, 86400) for e, d in lote],
        )
    finally:
        cliente.close()

    assert lecturas.find.get("webhooks") == 1
    esperadas = {
        webhooks.id_de_entrega(de_minsa, lote[0][0].id),
        webhooks.id_de_entrega(de_sunat, lote[1][0].id),
        webhooks.id_de_entrega(de_minsa, lote[2][0].id),
    }
    assert {e["_id"] for e in preparada.webhook_entregas.find()} == esperadas
