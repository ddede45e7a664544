"""Entity webhooks end to end (issue 8), through the gateway on a real platform: the entity
subscribes a real HTTP server started here, receives its reclamo's events signed (checked here
with hmac, independently of the platform's code), the server goes down and the event that
failed is redelivered once it is back; every attempt is listed; the secret rotates; another
entity sees nothing of it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pymongo import MongoClient

from herramientas.local import Plataforma
from tests.conftest import _puerto_libre
from tests.e2e.test_vida_de_un_reclamo import DNI, EMAIL, hoja
from tests.esperas import esperar
from tests.plataforma import plataforma_de_prueba

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plataforma(amqp_url: str, tmp_path_factory) -> Iterator[Plataforma]:
    entorno = {
        # The receiver is this test, on loopback over plain http.
        "WEBHOOKS_PERMITIR_HTTP": "true",
        "WEBHOOKS_PERMITIR_PRIVADAS": "true",
        # Short waits so the redelivery after the outage comes within the test.
        "WEBHOOKS_ESPERA_INICIAL_S": "1",
        "WEBHOOKS_ESPERA_MAX_S": "2",
        "LIMITE_RECLAMOS_POR_DOCUMENTO_POR_DIA": "100000",
    }
    with plataforma_de_prueba(
        amqp_url, tmp_path_factory.mktemp("plataforma-webhooks"), "whk", entorno_extra=entorno
    ) as p:
        yield p


@pytest.fixture(scope="module")
def api(plataforma: Plataforma) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plataforma.url + "/api/v1", timeout=30) as cliente:
        yield cliente


class Receptor:
    """A real HTTP server that records every POST (headers and raw body) and answers 204."""

    def __init__(self, puerto: int) -> None:
        self.puerto = puerto
        self.recibidos: list[tuple[dict[str, str], bytes]] = []
        self.servidor: ThreadingHTTPServer | None = None

    def iniciar(self) -> None:
        recibidos = self.recibidos

        class Manejador(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                cuerpo = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                cabeceras = {k.lower(): v for k, v in self.headers.items()}
                recibidos.append((cabeceras | {"ruta": self.path}, cuerpo))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.servidor = ThreadingHTTPServer(("127.0.0.1", self.puerto), Manejador)
        threading.Thread(target=self.servidor.serve_forever, daemon=True).start()

    def detener(self) -> None:
        assert self.servidor is not None
        self.servidor.shutdown()
        self.servidor.server_close()
        self.servidor = None

    def de(self, codigo: str, tipo: str) -> list[tuple[dict[str, str], bytes]]:
        return [
            (h, c)
            for h, c in list(self.recibidos)
            if json.loads(c)["codigo"] == codigo and h["x-pdr-evento"] == tipo
        ]


@pytest.fixture
def receptor() -> Iterator[Receptor]:
    r = Receptor(_puerto_libre())
    r.iniciar()
    yield r
    if r.servidor is not None:
        r.detener()


def firma_valida(secreto: str, cabeceras: dict[str, str], cuerpo: bytes) -> bool:
    """What a receiver does: HMAC-SHA256 over f"{t}." + the raw body, and t within 5 minutes."""
    partes = dict(p.split("=", 1) for p in cabeceras["x-pdr-firma"].split(","))
    t = int(partes["t"])
    esperada = hmac.new(secreto.encode(), f"{t}.".encode() + cuerpo, hashlib.sha256).hexdigest()
    return abs(time.time() - t) < 300 and hmac.compare_digest(esperada, partes["v1"])


def test_la_entidad_recibe_sus_eventos_firmados_y_la_reentrega_tras_una_caida(
    plataforma, api, receptor
):
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    url = f"http://127.0.0.1:{receptor.puerto}/pdr/eventos"

    creado = api.post("/webhooks", json={"url": url}, headers=minsa)
    assert creado.status_code == 201, creado.text
    webhook = creado.json()
    secreto = webhook["secreto"]
    assert webhook["url"] == url and webhook["activo"] is True
    assert "reclamo.en_atencion" in webhook["eventos"]
    listados = api.get("/webhooks", headers=minsa).json()
    assert [w["id"] for w in listados] == [webhook["id"]]
    assert "secreto" not in listados[0]  # shown once

    # A citizen files a reclamo against minsa: its events reach the receiver, signed.
    email = f"webhook-{uuid.uuid4().hex[:8]}@prueba.pe"
    datos = hoja()
    datos["ciudadano"] = {**datos["ciudadano"], "email": email}
    codigo = api.post("/reclamos", json=datos).json()["codigo"]
    esperar(lambda: receptor.de(codigo, "reclamo.derivado"), "llega reclamo.derivado", 60)
    esperar(lambda: receptor.de(codigo, "reclamo.registrado"), "llega reclamo.registrado", 60)
    for cabeceras, cuerpo in receptor.de(codigo, "reclamo.derivado") + receptor.de(
        codigo, "reclamo.registrado"
    ):
        assert firma_valida(secreto, cabeceras, cuerpo)
        assert not firma_valida("whsec_otro", cabeceras, cuerpo)
        carga = json.loads(cuerpo)
        assert carga["tipo"] == cabeceras["x-pdr-evento"]
        assert carga["entidad"] == "minsa" and carga["codigo"] == codigo
        assert set(carga) == {"id", "tipo", "ocurrido_en", "codigo", "entidad", "unidad", "estado"}
        # Nothing of the citizen nor of the reclamo's texts.
        texto = cuerpo.decode()
        for dato in (DNI, email, "María", "Quispe", "ascensores", datos["sede"]):
            assert dato not in texto
    [(_, derivado)] = receptor.de(codigo, "reclamo.derivado")
    assert {h["ruta"] for h, _ in receptor.de(codigo, "reclamo.derivado")} == {"/pdr/eventos"}
    assert json.loads(derivado)["estado"] == "derivado"
    assert json.loads(derivado)["unidad"]  # the unit it was routed to

    # The receiver goes down; the entity acts on the reclamo meanwhile.
    receptor.detener()
    assert api.post(f"/bandeja/{codigo}/atencion", headers=minsa).status_code == 200
    ruta_entregas = f"/webhooks/{webhook['id']}/entregas"

    def fallida_pendiente():
        for e in api.get(ruta_entregas, headers=minsa).json()["entregas"]:
            if e["tipo"] == "reclamo.en_atencion" and e["codigo"] == codigo and e["intentos"]:
                return e
        return None

    fallida = esperar(fallida_pendiente, "un intento fallido de reclamo.en_atencion", 60)
    assert fallida["estado"] == "pendiente"
    assert fallida["intentos"][0]["estado_http"] is None and fallida["intentos"][0]["error"]
    assert receptor.de(codigo, "reclamo.en_atencion") == []

    # Back up on the same address: the same delivery arrives, signed, and is recorded.
    receptor.iniciar()
    esperar(lambda: receptor.de(codigo, "reclamo.en_atencion"), "la reentrega llega", 60)
    [(cabeceras, cuerpo)] = receptor.de(codigo, "reclamo.en_atencion")
    assert firma_valida(secreto, cabeceras, cuerpo)
    assert cabeceras["x-pdr-entrega"] == fallida["id"]
    assert json.loads(cuerpo)["estado"] == "en_atencion"

    def entregada():
        for e in api.get(ruta_entregas, headers=minsa).json()["entregas"]:
            if e["id"] == fallida["id"] and e["estado"] == "entregada":
                return e
        return None

    hecha = esperar(entregada, "la entrega queda como entregada", 30)
    assert len(hecha["intentos"]) >= 2
    assert all(i["error"] for i in hecha["intentos"][:-1])
    assert hecha["intentos"][-1]["estado_http"] == 204 and hecha["intentos"][-1]["error"] is None

    # One delivery per event (the platform's records), each received once.
    todas = [e for e in api.get(ruta_entregas, headers=minsa).json()["entregas"]]
    del_reclamo = [e for e in todas if e["codigo"] == codigo]
    assert len({e["evento_id"] for e in del_reclamo}) == len(del_reclamo)
    ids = [h["x-pdr-entrega"] for h, c in receptor.recibidos if json.loads(c)["codigo"] == codigo]
    assert len(ids) == len(set(ids))

    # Rotation: the next event is signed with the new secret, not the old one.
    rotado = api.post(f"/webhooks/{webhook['id']}/secreto", headers=minsa)
    assert rotado.status_code == 200, rotado.text
    nuevo = rotado.json()["secreto"]
    assert nuevo != secreto
    respuesta = {"texto": "Se repararon los ascensores del pabellón de consulta externa."}
    assert (
        api.post(f"/bandeja/{codigo}/respuesta", json=respuesta, headers=minsa).status_code == 200
    )
    esperar(lambda: receptor.de(codigo, "reclamo.respondido"), "llega reclamo.respondido", 60)
    [(cabeceras, cuerpo)] = receptor.de(codigo, "reclamo.respondido")
    assert firma_valida(nuevo, cabeceras, cuerpo)
    assert not firma_valida(secreto, cabeceras, cuerpo)
    assert "ascensores" not in cuerpo.decode()  # not the answer's text either


def test_solo_la_entidad_duena_ve_y_maneja_su_webhook(plataforma, api, receptor):
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    otra = {"X-API-Key": plataforma.claves["munilima"]}
    supervisor = {"X-API-Key": plataforma.claves["supervisor"]}
    url = f"http://127.0.0.1:{receptor.puerto}/otro"
    # Retried with its Idempotency-Key: the same webhook (and secret), created once.
    con_clave = minsa | {"Idempotency-Key": str(uuid.uuid4())}
    cuerpo = {"url": url, "eventos": ["reclamo.respondido"]}
    webhook = api.post("/webhooks", json=cuerpo, headers=con_clave).json()
    assert api.post("/webhooks", json=cuerpo, headers=con_clave).json() == webhook
    assert len([w for w in api.get("/webhooks", headers=minsa).json() if w["url"] == url]) == 1
    ruta = f"/webhooks/{webhook['id']}"

    assert api.post("/webhooks", json={"url": url}, headers=supervisor).status_code == 403
    assert api.post("/webhooks", json={"url": url}).status_code == 401
    assert api.get(f"{ruta}/entregas", headers=otra).status_code == 404
    assert api.post(f"{ruta}/secreto", headers=otra).status_code == 404
    assert api.delete(ruta, headers=otra).status_code == 404
    assert webhook["id"] not in [w["id"] for w in api.get("/webhooks", headers=otra).json()]
    invalido = api.post("/webhooks", json={"url": url, "eventos": ["reclamo.x"]}, headers=minsa)
    assert invalido.status_code == 422

    borrado = api.delete(ruta, headers=minsa)
    assert borrado.status_code == 200 and borrado.json()["activo"] is False
    assert webhook["id"] not in [w["id"] for w in api.get("/webhooks", headers=minsa).json()]
    assert api.delete(ruta, headers=minsa).status_code == 404
    assert api.get(f"{ruta}/entregas", headers=minsa).status_code == 200  # history stays


def test_un_traslado_llega_a_ambas_entidades_y_lo_siguiente_solo_a_la_nueva(
    plataforma, api, receptor
):
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    munilima = {"X-API-Key": plataforma.claves["munilima"]}
    url = f"http://127.0.0.1:{receptor.puerto}"
    secretos = {}
    for nombre, clave in (("minsa", minsa), ("munilima", munilima)):
        r = api.post("/webhooks", json={"url": f"{url}/{nombre}"}, headers=clave)
        assert r.status_code == 201, r.text
        secretos[f"/{nombre}"] = r.json()["secreto"]
    codigo = api.post("/reclamos", json=hoja()).json()["codigo"]
    esperar(lambda: receptor.de(codigo, "reclamo.derivado"), "llega reclamo.derivado", 60)

    traslado = {"entidad_id": "munilima", "razon": "Es competencia de la municipalidad."}
    r = api.post(f"/bandeja/{codigo}/traslado", json=traslado, headers=minsa)
    assert r.status_code == 200, r.text
    esperar(lambda: len(receptor.de(codigo, "reclamo.derivado")) == 2, "derivado en munilima", 60)
    esperar(lambda: len(receptor.de(codigo, "reclamo.trasladado")) == 2, "trasladado a ambas", 60)
    assert api.post(f"/bandeja/{codigo}/atencion", headers=munilima).status_code == 200
    esperar(lambda: receptor.de(codigo, "reclamo.en_atencion"), "en_atencion en munilima", 60)

    por_ruta: dict[str, list[dict]] = {"/minsa": [], "/munilima": []}
    for cabeceras, cuerpo in receptor.recibidos:
        carga = json.loads(cuerpo)
        if carga["codigo"] != codigo:
            continue
        ruta = cabeceras["ruta"]
        assert firma_valida(secretos[ruta], cabeceras, cuerpo)
        por_ruta[ruta].append(carga)
    tipos = {ruta: sorted(c["tipo"] for c in cargas) for ruta, cargas in por_ruta.items()}
    assert tipos["/minsa"] == ["reclamo.derivado", "reclamo.registrado", "reclamo.trasladado"]
    assert tipos["/munilima"] == ["reclamo.derivado", "reclamo.en_atencion", "reclamo.trasladado"]
    for cargas in por_ruta.values():
        [trasladado] = [c for c in cargas if c["tipo"] == "reclamo.trasladado"]
        assert trasladado["entidad"] == "munilima" and trasladado["entidad_anterior"] == "minsa"
    [derivado] = [c for c in por_ruta["/munilima"] if c["tipo"] == "reclamo.derivado"]
    assert derivado["entidad"] == "munilima" and derivado["estado"] == "derivado"


def test_los_archivos_que_agrega_el_ciudadano_llegan_firmados_solo_a_la_entidad_que_lo_tiene(
    plataforma, api, receptor
):
    minsa = {"X-API-Key": plataforma.claves["minsa"]}
    munilima = {"X-API-Key": plataforma.claves["munilima"]}
    url = f"http://127.0.0.1:{receptor.puerto}"
    suscritos = {}
    for nombre, clave, eventos in (
        ("minsa", minsa, {"eventos": ["reclamo.adjuntado", "reclamo.derivado"]}),
        ("munilima", munilima, {}),  # every event
    ):
        r = api.post("/webhooks", json={"url": f"{url}/{nombre}", **eventos}, headers=clave)
        assert r.status_code == 201, r.text
        suscritos[nombre] = r.json()
    assert "reclamo.adjuntado" in suscritos["munilima"]["eventos"]
    datos = hoja()
    codigo = api.post("/reclamos", json=datos).json()["codigo"]

    def subir(nombre: str, contenido: bytes, clave_idem: str) -> httpx.Response:
        return api.post(
            f"/reclamos/{codigo}/adjuntos",
            data={"numero_documento": DNI},
            files=[("archivos", (nombre, contenido))],
            headers={"Idempotency-Key": clave_idem},
        )

    def llegados(ruta: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, c) for h, c in receptor.de(codigo, "reclamo.adjuntado") if h["ruta"] == ruta]

    # Right after filing, a file; the request retried with its key answers the same.
    pdf = b"%PDF-1.4\n% constancia " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"
    clave_idem = str(uuid.uuid4())
    primera = subir("constancia.pdf", pdf, clave_idem)
    assert primera.status_code == 201, primera.text
    segunda = subir("constancia.pdf", pdf, clave_idem)
    assert (segunda.status_code, segunda.json()) == (201, primera.json())

    esperar(lambda: llegados("/minsa"), "llega reclamo.adjuntado a minsa", 60)
    [(cabeceras, cuerpo)] = llegados("/minsa")
    assert firma_valida(suscritos["minsa"]["secreto"], cabeceras, cuerpo)
    carga = json.loads(cuerpo)
    assert carga["tipo"] == cabeceras["x-pdr-evento"] == "reclamo.adjuntado"
    assert carga["entidad"] == "minsa" and carga["codigo"] == codigo
    [guardado] = primera.json()["adjuntos"]
    assert carga["adjuntos"] == [
        {
            "id": guardado["id"],
            "nombre": "constancia.pdf",
            "tipo_mime": "application/pdf",
            "bytes": len(pdf),
            "sha256": hashlib.sha256(pdf).hexdigest(),
        }
    ]
    for dato in (DNI, EMAIL, "María", "Quispe", "ascensores", datos["sede"]):
        assert dato not in cuerpo.decode()

    # Another upload is another event; the retry made none (registro's outbox holds two).
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + uuid.uuid4().bytes
    assert subir("foto.png", png, str(uuid.uuid4())).status_code == 201
    esperar(lambda: len(llegados("/minsa")) == 2, "el segundo reclamo.adjuntado", 60)
    cliente: MongoClient = MongoClient(plataforma._mongo(1, "registro"))
    try:
        emitidos = cliente["registro"]["outbox"].count_documents(
            {"evento.tipo": "reclamo.adjuntado", "evento.codigo": codigo}
        )
    finally:
        cliente.close()
    assert emitidos == 2
    ultimo = json.loads(llegados("/minsa")[-1][1])
    assert [a["sha256"] for a in ultimo["adjuntos"]] == [hashlib.sha256(png).hexdigest()]
    ruta_minsa = f"/webhooks/{suscritos['minsa']['id']}/entregas"
    entregas = [
        e for e in api.get(ruta_minsa, headers=minsa).json()["entregas"] if e["codigo"] == codigo
    ]
    assert len([e for e in entregas if e["tipo"] == "reclamo.adjuntado"]) == 2
    # The other entity's subscription got nothing of a reclamo it does not have.
    ruta_munilima = f"/webhooks/{suscritos['munilima']['id']}/entregas"
    de_munilima = api.get(ruta_munilima, headers=munilima).json()["entregas"]
    assert [e for e in de_munilima if e["codigo"] == codigo] == []
    assert not [h for h, c in receptor.recibidos if h["ruta"] == "/munilima"]

    # Transferred: the next files reach the entity that has the reclamo now, and only it.
    traslado = {"entidad_id": "munilima", "razon": "Es competencia de la municipalidad."}
    esperar(lambda: receptor.de(codigo, "reclamo.derivado"), "derivado en minsa", 60)
    r = api.post(f"/bandeja/{codigo}/traslado", json=traslado, headers=minsa)
    assert r.status_code == 200, r.text

    def derivado_en_munilima():
        return [h for h, _ in receptor.de(codigo, "reclamo.derivado") if h["ruta"] == "/munilima"]

    esperar(derivado_en_munilima, "derivado en munilima", 60)
    acta = b"%PDF-1.4\n% acta " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"
    assert subir("acta.pdf", acta, str(uuid.uuid4())).status_code == 201
    esperar(lambda: llegados("/munilima"), "llega reclamo.adjuntado a munilima", 60)
    [(cabeceras, cuerpo)] = llegados("/munilima")
    assert firma_valida(suscritos["munilima"]["secreto"], cabeceras, cuerpo)
    carga = json.loads(cuerpo)
    assert carga["entidad"] == "munilima"
    assert [a["sha256"] for a in carga["adjuntos"]] == [hashlib.sha256(acta).hexdigest()]
    entregas = [
        e for e in api.get(ruta_minsa, headers=minsa).json()["entregas"] if e["codigo"] == codigo
    ]
    assert len([e for e in entregas if e["tipo"] == "reclamo.adjuntado"]) == 2  # none more
