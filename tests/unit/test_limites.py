"""Who the client is, for the gateway's limits (no I/O): the socket peer, unless a configured
proxy forwarded the request; what a client writes in X-Forwarded-For is never believed."""

import pytest

from gateway.ajustes import redes_de
from gateway.limites import clave_de_direccion, direccion_cliente

PROXIES = redes_de("10.0.0.5, 10.1.0.0/16")


def test_sin_proxies_de_confianza_el_par_es_el_cliente():
    assert direccion_cliente("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"


def test_un_par_que_no_es_proxy_no_hace_creer_la_cabecera():
    assert direccion_cliente("198.51.100.9", ["1.2.3.4"], PROXIES) == "198.51.100.9"


def test_detras_de_un_proxy_se_toma_el_salto_que_el_proxy_vio():
    # The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
    assert direccion_cliente("10.0.0.5", ["1.2.3.4, 203.0.113.7"], PROXIES) == "203.0.113.7"


def test_se_saltan_todos_los_proxies_de_la_cadena():
    reenviado = ["203.0.113.7:5123", "10.1.4.4"]
    assert direccion_cliente("10.0.0.5", reenviado, PROXIES) == "203.0.113.7"


def test_sin_cabecera_la_solicitud_empieza_en_el_proxy():
    assert direccion_cliente("10.0.0.5", [], PROXIES) == "10.0.0.5"


@pytest.mark.parametrize(
    ("direccion", "clave"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("desconocida", "desconocida"),
    ],
)
def test_un_cliente_ipv6_es_su_red_64(direccion, clave):
    assert clave_de_direccion(direccion) == clave


def test_un_proxy_mal_escrito_detiene_el_arranque():
    with pytest.raises(ValueError):
        redes_de("10.0.0.300")
