"""Entity webhooks' pure parts: the signature, the back-off, which URLs are accepted, and what
an entity receives."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from comun.eventos import PlazoAviso, ReclamoRegistrado, ReclamoTrasladado, nuevo_evento
from servicios.notificaciones import webhooks
from servicios.notificaciones.schemas import NuevoWebhook


def test_la_firma_es_hmac_sha256_del_tiempo_y_el_cuerpo_exacto():
    cuerpo = b'{"codigo":"R-2222-3333-4444","estado":"derivado"}'
    esperado = hmac.new(b"whsec_abc", b"1767225600." + cuerpo, hashlib.sha256).hexdigest()

    assert webhooks.firma("whsec_abc", 1767225600, cuerpo) == f"t=1767225600,v1={esperado}"
    # Another time, another secret or one byte more: another signature.
    assert webhooks.firma("whsec_abc", 1767225601, cuerpo) != webhooks.firma(
        "whsec_abc", 1767225600, cuerpo
    )
    assert webhooks.firma("whsec_abd", 1767225600, cuerpo).split("v1=")[1] != esperado
    assert webhooks.firma("whsec_abc", 1767225600, cuerpo + b" ").split("v1=")[1] != esperado


def test_la_espera_se_duplica_hasta_el_maximo():
    esperas = [webhooks.espera(n, 30, 3600) for n in range(1, 10)]
    assert esperas[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert esperas[-1] == timedelta(seconds=3600)
    assert webhooks.espera(10_000, 30, 3600) == timedelta(seconds=3600)  # no overflow


def test_con_las_esperas_por_defecto_se_reintenta_durante_un_dia():
    # 30 s doubling to 1 h: how many attempts fit in 24 h (computed by hand: 30·(2^7-1) = 3810 s
    # for the first 7 waits, then 1 h each).
    total, intentos = 0.0, 1
    while total + webhooks.espera(intentos, 30, 3600).total_seconds() <= 24 * 3600:
        total += webhooks.espera(intentos, 30, 3600).total_seconds()
        intentos += 1
    assert intentos == 1 + 7 + (24 * 3600 - 3810) // 3600


@pytest.mark.parametrize(
    "url",
    [
        "https://sistemas.minsa.gob.pe/pdr/eventos",
        "https://203.0.113.7:8443/hook?x=1",
        "https://[2001:db8::1]/hook",
    ],
)
def test_acepta_urls_https(url):
    # 203.0.113.0/24 and 2001:db8::/32 are documentation ranges: not global, so refused below
    # unless private targets are allowed.
    publica = "sistemas" in url
    problema = webhooks.problema_de_url(url, permitir_http=False, permitir_privadas=not publica)
    assert problema is None


@pytest.mark.parametrize(
    ("url", "texto"),
    [
        ("http://sistemas.minsa.gob.pe/hook", "https"),
        ("ftp://sistemas.minsa.gob.pe/hook", "https://"),
        ("https://usuario:clave@minsa.gob.pe/hook", "usuario"),
        ("https://127.0.0.1/hook", "pública"),
        ("https://localhost:8000/hook", "pública"),
        ("https://10.1.2.3/hook", "pública"),
        ("https://169.254.169.254/latest/meta-data", "pública"),
        ("https://[::1]/hook", "pública"),
        ("https://[::ffff:192.168.0.1]/hook", "pública"),
        ("https://minsa.gob.pe:99999/hook", "válida"),
    ],
)
def test_rechaza_http_credenciales_y_destinos_privados(url, texto):
    problema = webhooks.problema_de_url(url, permitir_http=False, permitir_privadas=False)
    assert problema is not None and texto in problema


def test_los_ajustes_de_prueba_permiten_http_local():
    url = "http://127.0.0.1:8080/hook"
    assert webhooks.problema_de_url(url, permitir_http=True, permitir_privadas=True) is None
    assert "pública" in webhooks.problema_de_url(url, permitir_http=True, permitir_privadas=False)
    assert "https" in webhooks.problema_de_url(url, permitir_http=False, permitir_privadas=True)


def test_un_destino_que_resuelve_a_loopback_es_privado():
    assert webhooks.destino_privado("https://127.0.0.1/hook")
    assert webhooks.destino_privado("http://localhost:9/hook")


def test_la_carga_no_lleva_datos_personales():
    datos = ReclamoRegistrado(
        entidad_id="minsa",
        canal="virtual",
        motivo="trato",
        ocurrido_en=datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
        registrado_en=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
        descripcion="Me trataron mal en admisión",
        pedido="Una disculpa",
        medio_respuesta="email",
        contacto={
            "tipo_documento": "dni",
            "numero_documento": "40718263",
            "nombres": "Rosa Elvira",
            "apellidos": "Quispe Mamani",
            "email": "rosa@example.pe",
            "telefono": "+51987654321",
        },
    )
    evento = nuevo_evento(
        "reclamo.registrado",
        datos,
        fuente="registro",
        codigo="R-2222-3333-4444",
        ocurrido_en=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
    )
    carga = webhooks.carga(evento, "minsa", None, "registrado")
    assert carga == {
        "id": evento.id,
        "tipo": "reclamo.registrado",
        "ocurrido_en": "2026-11-20T16:00:00Z",
        "codigo": "R-2222-3333-4444",
        "entidad": "minsa",
        "unidad": None,
        "estado": "registrado",
    }
    texto = str(carga)
    for dato in ("40718263", "Rosa", "Quispe", "rosa@example.pe", "98765", "admisión"):
        assert dato not in texto


def _evento(tipo: str, datos, minuto: int):
    cuando = datetime(2026, 11, 20, 15, minuto, tzinfo=UTC)
    return nuevo_evento(tipo, datos, fuente="x", codigo="R-2222-3333-4444", ocurrido_en=cuando)


def test_un_traslado_se_avisa_a_la_entidad_que_lo_deja_y_a_la_que_lo_recibe():
    datos = ReclamoTrasladado(
        entidad_anterior_id="minsa", entidad_id="essalud", entidad_nombre="EsSalud", razon="x"
    )
    evento = _evento("reclamo.trasladado", datos, 10)
    assert webhooks.destinatarios(evento, datos, {}) == ["minsa", "essalud"]


def test_tras_un_traslado_los_eventos_atrasados_van_a_la_entidad_que_lo_tiene():
    # Trasladado from minsa to essalud at 15:10; this copy knows it.
    vista = {
        "entidad": "essalud",
        "entidad_en": datetime(2026, 11, 20, 15, 10, tzinfo=UTC),
        "salidas": {"minsa": datetime(2026, 11, 20, 15, 10, tzinfo=UTC)},
    }
    aviso = PlazoAviso(
        entidad_id="minsa", vence_en=datetime(2026, 12, 30, tzinfo=UTC), dias_habiles_restantes=5
    )
    # Raised at 15:20 by a sender that had not heard of the traslado: essalud has it.
    assert webhooks.destinatarios(_evento("plazo.por_vencer", aviso, 20), aviso, vista) == [
        "essalud"
    ]
    # Raised at 15:05, before the traslado: it was minsa's then.
    assert webhooks.destinatarios(_evento("plazo.por_vencer", aviso, 5), aviso, vista) == ["minsa"]
    # Naming the new entity (this copy not yet told of the traslado, or after it): as named.
    nuevo = aviso.model_copy(update={"entidad_id": "essalud"})
    assert webhooks.destinatarios(_evento("plazo.por_vencer", nuevo, 20), nuevo, {}) == ["essalud"]


def test_el_id_de_una_entrega_es_el_mismo_para_el_mismo_evento_y_webhook():
    a = webhooks.id_de_entrega("wh_0123456789abcdef", "e1")
    assert a == webhooks.id_de_entrega("wh_0123456789abcdef", "e1")
    assert a != webhooks.id_de_entrega("wh_0123456789abcdef", "e2")
    assert a != webhooks.id_de_entrega("wh_fedcba9876543210", "e1")


def test_eventos_desconocidos_se_rechazan_al_suscribir():
    with pytest.raises(ValueError, match="eventos"):
        NuevoWebhook(url="https://minsa.gob.pe/hook", eventos=["reclamo.inventado"])
    nuevo = NuevoWebhook(url="https://minsa.gob.pe/hook", eventos=["reclamo.derivado"])
    assert [e.value for e in nuevo.eventos] == ["reclamo.derivado"]
