"""Rate limits of the citizen routes (issue 7, finding 4; DESIGN.md §4), against the real store.

The gateway runs in front of a real registro web server on the test's store, in-process (several
peers: one TestClient each), or as the launcher starts it (uvicorn in its own process, reached
over TCP from 127.0.0.1). What is checked: the client address is the socket peer unless it is a
configured proxy, filing is limited per document and per address with a ceiling far above 30 an
hour, failed lookups are limited per código and per document whatever the address, and the
counters are shared by every gateway replica on the store.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.ajustes import AjustesGateway
from gateway.app import crear_app
from herramientas.local import RAIZ, Plataforma, Puertos
from tests.conftest import _parar, _puerto_libre
from tests.integracion.ciudadano import DNI, Ciudadano, hoja
from tests.integracion.servicios import TOKEN, servido

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(240)]

HORA = 3600
DIA = 86400
AJENO = "87654321"  # a document that filed nothing

Gateway = Callable[..., TestClient]


@pytest.fixture
def url_registro(registro: Ciudadano) -> Iterator[str]:
    with servido(registro.cliente.application) as url:
        yield url


@pytest.fixture
def gateway(registro: Ciudadano, mongo_url: str, url_registro: str) -> Iterator[Gateway]:
    """`gateway(peer=..., app=..., **settings)`: a client of an in-process gateway on the test's
    store, seen as coming from `peer`. Without `app`, a new gateway (a new replica) is built."""
    with ExitStack() as pila:

        def abrir(peer: str = "203.0.113.10", app=None, **ajustes) -> TestClient:
            if app is None:
                app = crear_app(
                    AjustesGateway(
                        mongo_url=mongo_url,
                        mongo_db=registro.db.name,
                        token_interno=TOKEN,
                        url_registro=url_registro,
                        **ajustes,
                    )
                )
            cliente = TestClient(app, base_url="http://testserver/api/v1", client=(peer, 40000))
            return pila.enter_context(cliente)

        yield abrir


def con_documento(numero: str) -> dict:
    datos = hoja()
    datos["ciudadano"]["documento"] = {"tipo": "dni", "numero": numero}
    return datos


def documentos(desde: int, cuantos: int) -> list[str]:
    """`cuantos` distinct DNIs, none of them DNI or AJENO."""
    return [str(desde + n) for n in range(cuantos)]


def es_429(r: httpx.Response, ventana: int) -> None:
    """A 429 in the documented shape, in Spanish, with a Retry-After within the window."""
    assert r.status_code == 429, (r.status_code, r.text)
    cuerpo = r.json()
    assert set(cuerpo) == {"error", "mensaje"}
    assert cuerpo["error"] == "demasiadas_solicitudes"
    assert "intente" in cuerpo["mensaje"]
    assert ventana - 120 < int(r.headers["Retry-After"]) <= ventana


def seguir(api, codigo: str, documento: str, **kw) -> httpx.Response:
    return api.post("/seguimiento", json={"codigo": codigo, "numero_documento": documento}, **kw)


# --- filing ---------------------------------------------------------------------------------


def test_una_direccion_compartida_no_se_cierra_a_los_30(gateway: Gateway):
    # Forty citizens at one consulate's desk (one address), each with their own document: the
    # per-address ceiling is far above 30 an hour by default.
    api = gateway()
    estados = [
        api.post("/reclamos", json=con_documento(d)).status_code for d in documentos(41000000, 40)
    ]
    assert estados == [201] * 40


def test_diez_reclamos_por_documento_al_dia(gateway: Gateway):
    api = gateway()
    mismos = [api.post("/reclamos", json=con_documento(DNI)) for _ in range(11)]

    assert [r.status_code for r in mismos[:10]] == [201] * 10
    es_429(mismos[10], DIA)
    assert "documento" in mismos[10].json()["mensaje"]
    # Another citizen at the same address, and the same document from elsewhere, by day count.
    assert api.post("/reclamos", json=con_documento("42000000")).status_code == 201
    es_429(gateway(peer="198.51.100.20").post("/reclamos", json=con_documento(DNI)), DIA)


def test_techo_por_direccion_configurable(gateway: Gateway):
    api = gateway(limite_reclamos_por_direccion_por_hora=3)
    r = [api.post("/reclamos", json=con_documento(d)) for d in documentos(43000000, 4)]

    assert [x.status_code for x in r[:3]] == [201] * 3
    es_429(r[3], HORA)
    otra = gateway(peer="198.51.100.30", app=api.app)
    assert otra.post("/reclamos", json=con_documento("43000009")).status_code == 201


# --- failed lookups -------------------------------------------------------------------------


def test_fallos_por_codigo_desde_cualquier_direccion(gateway: Gateway, registro: Ciudadano):
    codigo = registro.presentar()
    registro.observar(codigo)
    uno = gateway(limite_fallos_seguimiento_por_hora=3)
    otro = gateway(peer="198.51.100.40", app=uno.app)
    tercero = gateway(peer="198.51.100.41", app=uno.app)

    fallos = [
        seguir(uno, codigo, AJENO),
        otro.post(f"/reclamos/{codigo}/desistimiento", json={"numero_documento": "87654322"}),
        tercero.post(
            f"/reclamos/{codigo}/subsanacion",
            json={"numero_documento": "87654323", "texto": "Adjunto el ticket de atención."},
        ),
    ]
    assert [r.status_code for r in fallos] == [404] * 3

    # Past the limit, from any address, even the right document waits.
    for api in (uno, otro, gateway(peer="198.51.100.42", app=uno.app)):
        es_429(seguir(api, codigo, DNI), HORA)
    assert registro.seguir(codigo).get_json()["estado"] == "observado"


def test_fallos_por_documento_contra_muchos_codigos(gateway: Gateway, registro: Ciudadano):
    codigos = [registro.presentar() for _ in range(4)]
    api = gateway(limite_fallos_por_documento_por_hora=3, limite_fallos_seguimiento_por_hora=100)

    probados = [seguir(api, c, AJENO).status_code for c in codigos[:3]]
    assert probados == [404] * 3
    # A fourth código, never tried, is refused to that document, from another address too.
    es_429(seguir(gateway(peer="198.51.100.50", app=api.app), codigos[3], AJENO), HORA)
    # The owner of the reclamos is not affected.
    assert [seguir(api, c, DNI).status_code for c in codigos] == [200] * 4


# --- every replica on the same counters -----------------------------------------------------


def test_las_replicas_comparten_los_contadores(gateway: Gateway, registro: Ciudadano):
    codigo = registro.presentar()
    ajustes = {"limite_fallos_seguimiento_por_hora": 3, "limite_reclamos_por_direccion_por_hora": 2}
    ajustes |= {"limite_reclamos_por_hora": 2}  # the same limit under its former name
    una, otra = gateway(**ajustes), gateway(**ajustes)
    assert una.app is not otra.app

    assert [seguir(g, codigo, AJENO).status_code for g in (una, otra, una)] == [404] * 3
    es_429(seguir(otra, codigo, DNI), HORA)

    assert una.post("/reclamos", json=con_documento("45000001")).status_code == 201
    assert otra.post("/reclamos", json=con_documento("45000002")).status_code == 201
    es_429(una.post("/reclamos", json=con_documento("45000003")), HORA)


# --- proxies --------------------------------------------------------------------------------


def test_proxy_de_confianza_da_la_direccion_del_cliente(gateway: Gateway):
    proxy = gateway(
        peer="10.20.0.5",
        proxies_de_confianza="10.20.0.0/24",
        limite_reclamos_por_direccion_por_hora=2,
    )

    def desde(xff: str, documento: str) -> int:
        r = proxy.post("/reclamos", json=con_documento(documento), headers={"X-Forwarded-For": xff})
        return r.status_code

    # Each citizen behind the proxy is counted on their own address...
    assert [desde(f"198.51.100.{n}", f"4600000{n}") for n in range(4)] == [201] * 4
    # ...which is the hop the proxy saw: what the client wrote to its left is not believed.
    assert desde("1.1.1.1, 198.51.100.77", "46000010") == 201
    assert desde("2.2.2.2, 198.51.100.77", "46000011") == 201
    assert desde("3.3.3.3, 198.51.100.77, 10.20.0.9", "46000012") == 429


@contextmanager
def gateway_lanzado(
    registro: Ciudadano,
    mongo_url: str,
    amqp_url: str,
    url_registro: str,
    carpeta: Path,
    **entorno: str,
) -> Iterator[str]:
    """The gateway as the launcher starts it (its command and settings from
    `Plataforma.programas()`), on the test's store, in front of `url_registro`."""
    plataforma = Plataforma(
        carpeta=carpeta,
        puertos=Puertos(gateway=_puerto_libre()),
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        token_interno=TOKEN,
    )
    programa = next(p for p in plataforma.programas() if p.nombre == "gateway")
    variables = {**os.environ, **plataforma.entorno(), **programa.entorno}
    variables.pop("PROXIES_DE_CONFIANZA", None)  # none trusted unless the test says so
    variables |= {"MONGO_DB": registro.db.name, "URL_REGISTRO": url_registro, **entorno}
    registro_proceso = carpeta / "gateway.log"
    with registro_proceso.open("wb") as salida:
        proceso = subprocess.Popen(
            programa.comando, env=variables, cwd=RAIZ, stdout=salida, stderr=subprocess.STDOUT
        )
    try:
        limite = time.monotonic() + 60
        while time.monotonic() < limite and proceso.poll() is None:
            try:
                if httpx.get(plataforma.url + "/alive", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"el gateway no arrancó:\n{registro_proceso.read_text()[-3000:]}")
        yield plataforma.url + "/api/v1"
    finally:
        _parar(proceso)


def test_x_forwarded_for_no_elude_los_limites(
    registro: Ciudadano, mongo_url: str, amqp_url: str, url_registro: str, tmp_path: Path
):
    # The reproduction: a client on 127.0.0.1 rotating X-Forwarded-For, against the
    # gateway as the launcher runs it. No proxy is configured, so the header means nothing.
    codigo = registro.presentar()
    limites = {
        "LIMITE_RECLAMOS_POR_DIRECCION_POR_HORA": "3",
        "LIMITE_RECLAMOS_POR_HORA": "3",  # its former name: only the address can make a difference
        "LIMITE_FALLOS_SEGUIMIENTO_POR_HORA": "3",
    }
    with (
        gateway_lanzado(registro, mongo_url, amqp_url, url_registro, tmp_path, **limites) as url,
        httpx.Client(base_url=url, timeout=20) as api,
    ):
        reclamos = [
            api.post(
                "/reclamos",
                json=con_documento(d),
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            for n, d in enumerate(documentos(47000000, 4))
        ]
        adivinanzas = [
            seguir(api, codigo, f"8765432{n}", headers={"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(4)
        ]

    assert [r.status_code for r in reclamos[:3]] == [201] * 3
    es_429(reclamos[3], HORA)
    assert [r.status_code for r in adivinanzas[:3]] == [404] * 3
    es_429(adivinanzas[3], HORA)
