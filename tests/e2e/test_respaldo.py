"""Issue 9's done-when for backups: reclamos filed on one platform, every store backed up, that
platform stopped; a NEW platform (own ports, own bus, its stores empty) gets the backup restored
before it starts, and then answers tracking for every reclamo filed before the backup, as the first
one answered. The old API keys, the catalogue, the attachments and the survey come back with their
stores (gateway, registro, derivacion, encuestas)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pika
import pytest
from pymongo import MongoClient

from comun.bus import Topologia
from herramientas import respaldo
from herramientas.local import RAIZ, SERVICIOS, Plataforma, Puertos
from tests.conftest import _mongo_responde
from tests.e2e.test_adjuntos import PDF, del_ciudadano, presentado
from tests.e2e.test_procedimiento import (
    Reclamo,
    accion,
    clave,
    esperar_seguimiento,
    listo,
    presentar,
    responder,
    seguir,
    ver,
)
from tests.esperas import esperar
from tests.plataforma import plataforma_de_prueba

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ALMACENES = ("gateway", *SERVICIOS)  # the launcher's order: store i listens on almacen + i


def _almacenes(p: Plataforma) -> list[str]:
    """--almacen arguments for every store of `p`, with the database each process uses."""
    argumentos = []
    for i, servicio in enumerate(ALMACENES):
        argumentos += ["--almacen", f"{servicio}={p._mongo(i, servicio)}/{servicio}"]
    return argumentos


def _quieta(p: Plataforma) -> bool:
    """Nothing in flight, twice 2 s apart (a message in a worker's hands is not counted in its
    queue, but its effect shows in the second look): no event waiting in an outbox, no message
    waiting in a service's queue."""
    if not _nada_pendiente(p):
        return False
    time.sleep(2)
    return _nada_pendiente(p)


def _nada_pendiente(p: Plataforma) -> bool:
    for i, servicio in enumerate(ALMACENES):
        with MongoClient(p._mongo(i, servicio)) as cliente:
            if cliente[servicio]["outbox"].count_documents({"pendiente": True}):
                return False
    conexion = pika.BlockingConnection(pika.URLParameters(p.amqp_url))
    try:
        canal = conexion.channel()
        topo = Topologia(p.bus_nombre)
        for servicio in SERVICIOS:
            cola = canal.queue_declare(topo.cola(servicio), passive=True)
            if cola.method.message_count:
                return False
    finally:
        conexion.close()
    return True


@contextmanager
def almacenes_sueltos(carpeta: Path) -> Iterator[dict[str, str]]:
    """Only the stores of a platform that will run in `carpeta` (the launcher's own commands,
    on free ports, over its data folders): what an operator runs to restore before starting."""
    programas = [
        prog
        for prog in Plataforma(carpeta=carpeta, puertos=Puertos.libres()).programas()
        if prog.nivel == "almacenes"
    ]
    procesos = [
        subprocess.Popen(prog.comando, cwd=RAIZ, stdout=subprocess.DEVNULL) for prog in programas
    ]
    urls = {
        prog.nombre.removeprefix("almacen-"): "mongodb://127.0.0.1:"
        + prog.comando[prog.comando.index("--port") + 1]
        for prog in programas
    }
    try:
        for url in urls.values():
            esperar(lambda url=url: _mongo_responde(url), f"almacén en {url}", plazo=60)
        yield urls
    finally:
        for proceso in procesos:
            proceso.send_signal(signal.SIGTERM)  # storage closed cleanly before the platform
        for proceso in procesos:
            proceso.wait(timeout=60)


def _sin_portal(visto: dict, p: Plataforma) -> dict:
    """The survey link is built on the platform's own address, which the new one changes."""
    if visto.get("encuesta"):
        visto = visto | {"encuesta": visto["encuesta"].removeprefix(p.url)}
    return visto


def test_la_plataforma_restaurada_responde_el_seguimiento_de_cada_reclamo(
    amqp_url: str, tmp_path_factory: pytest.TempPathFactory
):
    copia = tmp_path_factory.mktemp("respaldo") / "copia"
    with (
        plataforma_de_prueba(amqp_url, tmp_path_factory.mktemp("antes"), "resp-a") as antes,
        httpx.Client(base_url=antes.url + "/api/v1", timeout=20) as api,
    ):
        minsa = clave(antes, "minsa")
        reclamos: list[Reclamo] = [
            presentar(api, antes, "minsa"),
            presentar(api, antes, "munilima", canal="virtual", con_email=False),
            presentar(api, antes, "minsa", motivo="infraestructura"),
        ]
        con_adjunto, (adjunto,) = presentado(api, antes, [("constancia.pdf", PDF)])
        reclamos.append(con_adjunto)
        for reclamo in reclamos:
            listo(api, antes, reclamo)
        atendido, respondido = reclamos[0], reclamos[2]
        assert accion(api, atendido.codigo, "atencion", minsa).status_code == 200
        assert responder(api, respondido.codigo, minsa).status_code == 200
        visto = esperar_seguimiento(
            api, respondido, lambda s: s["encuesta"], "el enlace de la encuesta", plazo=90
        )
        token = visto["encuesta"].rsplit("/", 1)[1]
        esperar(lambda: _quieta(antes), "la plataforma sin nada en curso", 90)
        vistos = {r.codigo: seguir(api, r) for r in reclamos}
        bandeja = {
            r.codigo: ver(api, r.codigo, clave(antes, r.entidad_id)).json() for r in reclamos
        }
        assert vistos[atendido.codigo]["estado"] == "en_atencion"
        assert vistos[respondido.codigo]["estado"] == "respondido"

        assert respaldo.main(["respaldar", "--destino", str(copia), *_almacenes(antes)]) == 0
        # The premise of the comparison below: the backup is of what the citizens were shown.
        assert {r.codigo: seguir(api, r) for r in reclamos} == vistos
        claves = antes.claves  # type: ignore[attr-defined]
    primera = antes

    # A new platform: other ports, other bus, stores created empty and restored before it runs.
    carpeta = tmp_path_factory.mktemp("despues")
    with almacenes_sueltos(carpeta) as urls:
        destino = [a for s, url in urls.items() for a in ("--almacen", f"{s}={url}/{s}")]
        assert respaldo.main(["restaurar", "--origen", str(copia), *destino]) == 0

    with (
        plataforma_de_prueba(amqp_url, carpeta, "resp-b", sembrar=False) as despues,
        httpx.Client(base_url=despues.url + "/api/v1", timeout=20) as api,
    ):
        assert despues.url != primera.url and despues.bus_nombre != primera.bus_nombre
        for reclamo in reclamos:
            assert _sin_portal(seguir(api, reclamo), despues) == _sin_portal(
                vistos[reclamo.codigo], primera
            ), reclamo.codigo
        # The old keys still open the bandeja (the gateway's store came back), scoped as before.
        minsa = {"X-API-Key": claves["minsa"]}
        for reclamo in reclamos:
            r = ver(api, reclamo.codigo, {"X-API-Key": claves[reclamo.entidad_id]})
            assert r.status_code == 200 and r.json() == bandeja[reclamo.codigo], reclamo.codigo
        assert ver(api, reclamos[1].codigo, minsa).status_code == 404  # munilima's, not minsa's
        assert api.get("/bandeja", headers={"X-API-Key": "pdr_falsa"}).status_code == 401
        # The attachment's bytes (registro's GridFS) and the survey (encuestas' store).
        r = del_ciudadano(api, con_adjunto, adjunto["id"])
        assert r.status_code == 200 and r.content == PDF
        encuesta = api.get(f"/encuestas/{token}")
        assert encuesta.status_code == 200, encuesta.text
        assert encuesta.json()["codigo"] == respondido.codigo
        # And it keeps working: a new reclamo filed with an old key is routed on the new bus.
        despues.claves = claves  # type: ignore[attr-defined]
        nuevo = presentar(api, despues, "minsa")
        listo(api, despues, nuevo)
