"""The citizen's pages (issue 11) over HTTP on the real platform: a browser's forms sent by an
httpx client that keeps cookies. Filing (with a file), the constancia, errors next to their
fields with the values kept, the CSRF refusal (nothing filed: counted through the API with the
entity's key), an idempotent double submit, tracking, desisting, answering an observación and the
survey. The entity's side goes through the API with its key, as an integrator would."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from herramientas.local import Plataforma
from tests.e2e.conftest import correo_para
from tests.e2e.test_procedimiento import (
    RESPUESTAS_ENCUESTA,
    Reclamo,
    accion,
    clave,
    esperar_seguimiento,
    listo,
    responder,
    todos,
)
from tests.esperas import esperar

pytestmark = pytest.mark.e2e

LIMA = ZoneInfo("America/Lima")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SIN_ARCHIVO = {"archivos": ("", b"", "application/octet-stream")}  # what a browser sends


@pytest.fixture
def web(plataforma: Plataforma) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plataforma.url, timeout=30) as cliente:
        yield cliente


def oculto(pagina: str, nombre: str) -> str:
    encontrado = re.search(rf'name="{nombre}" value="([^"]*)"', pagina)
    assert encontrado, f"sin campo {nombre}"
    return html.unescape(encontrado.group(1))


def hoja(documento: str, email: str, entidad: str = "minsa", **cambios: str) -> dict[str, str]:
    ayer = datetime.now(LIMA) - timedelta(days=1)
    return {
        "tipo_documento": "dni",
        "numero_documento": documento,
        "nombres": "Rosa",
        "apellidos": "Quispe Mamani",
        "email": email,
        "telefono": "",
        "direccion": "",
        "entidad_id": entidad,
        "sede": "Hospital Loayza",
        "fecha": ayer.date().isoformat(),
        "hora": "10:30",
        "motivo": "trato",
        "descripcion": "Me atendieron de mala manera en ventanilla y no me dieron información.",
        "pedido": "Que se corrija la atención y se me responda por escrito.",
        "medio_respuesta": "email",
        "acepta_privacidad": "si",
        **cambios,
    }


def nuevo(web: httpx.Client) -> tuple[str, str]:
    """The form's CSRF token and idempotency key, as a browser gets them."""
    pagina = web.get("/reclamos/nuevo")
    assert pagina.status_code == 200, pagina.text
    return oculto(pagina.text, "csrf"), oculto(pagina.text, "clave")


def enviar(
    web: httpx.Client, datos: dict[str, str], archivos=None, csrf: str | None = "", clave_=""
) -> httpx.Response:
    token, clave_nueva = nuevo(web)
    cuerpo = {**datos, "clave": clave_ or clave_nueva}
    if csrf is not None:
        cuerpo["csrf"] = csrf or token
    return web.post("/reclamos/nuevo", data=cuerpo, files=archivos or SIN_ARCHIVO)


def nuevo_ciudadano() -> tuple[str, str]:
    return f"{secrets.randbelow(10**8):08d}", f"portal-{uuid.uuid4().hex[:10]}@prueba.pe"


def codigo_de(pagina: str) -> str:
    encontrado = re.search(r'<p class="codigo">(R-[A-Z0-9-]+)</p>', pagina)
    assert encontrado, pagina
    return encontrado.group(1)


def seguir(web: httpx.Client, codigo: str, documento: str) -> httpx.Response:
    token = oculto(web.get("/seguimiento").text, "csrf")
    return web.post(
        "/seguimiento", data={"csrf": token, "codigo": codigo, "numero_documento": documento}
    )


def test_presentar_con_archivo_y_ver_la_constancia(web: httpx.Client, api: httpx.Client):
    documento, email = nuevo_ciudadano()
    r = enviar(
        web,
        hoja(documento, email),
        archivos=[("archivos", ("boleta.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 200, r.text
    codigo = codigo_de(r.text)
    assert 'class="constancia"' in r.text and "no-imprimir" in r.text
    assert "Rosa Quispe Mamani" in r.text and documento in r.text
    assert "Ministerio de Salud" in r.text and "boleta.pdf" in r.text
    # The constancia is the POST's answer: no URL shows it.
    assert "location" not in r.headers and str(r.url).endswith("/reclamos/nuevo")
    visto = api.post("/seguimiento", json={"codigo": codigo, "numero_documento": documento})
    assert visto.status_code == 200, visto.text
    assert [a["nombre"] for a in visto.json()["adjuntos"]] == ["boleta.pdf"]


def test_los_errores_junto_a_cada_campo_y_el_formulario_lleno(web: httpx.Client):
    datos = hoja("1234", "no-es-un-correo", descripcion="Corta", acepta_privacidad="")
    r = enviar(web, datos, archivos=[("archivos", ("b.pdf", PDF, "application/pdf"))])
    assert r.status_code == 422
    pagina = r.text
    for campo in ("numero_documento", "email", "descripcion", "acepta_privacidad"):
        # The error is beside its field, tied to it, and linked from the summary.
        assert f'id="{campo}-error"' in pagina, campo
        assert re.search(rf'id="{campo}"[^>]*aria-describedby="[^"]*{campo}-error', pagina), campo
        assert f'href="#{campo}"' in pagina, campo
    assert "Debe aceptar el aviso de privacidad" in pagina
    assert 'value="1234"' in pagina and 'value="no-es-un-correo"' in pagina
    assert ">Corta</textarea>" in pagina and 'value="Hospital Loayza"' in pagina
    assert 'value="trato" checked' in pagina
    assert "vuelva a elegirlos" in pagina  # files are not kept: it says so


def test_sin_csrf_o_con_uno_ajeno_no_se_presenta_nada(
    web: httpx.Client, api: httpx.Client, plataforma: Plataforma
):
    gore = clave(plataforma, "gore-cusco")

    def contados() -> int:
        return len(todos(api, "/bandeja", gore, motivo="disponibilidad"))

    antes = contados()
    documento, email = nuevo_ciudadano()
    datos = hoja(documento, email, entidad="gore-cusco", motivo="disponibilidad")
    sin = enviar(web, datos, csrf=None)
    ajeno = enviar(web, datos, csrf="0" * 64)
    for r in (sin, ajeno):
        assert r.status_code == 403 and "<html" in r.text and 'class="codigo"' not in r.text
    # Another browser's token does not fit this browser's cookie either.
    with httpx.Client(base_url=str(web.base_url), timeout=30) as otro:
        token_ajeno, _ = nuevo(otro)
    assert enviar(web, datos, csrf=token_ajeno).status_code == 403
    # A filing that passes shows up; by then the refused ones would have too.
    assert enviar(web, datos).status_code == 200
    esperar(lambda: contados() == antes + 1 or None, "el reclamo válido en la bandeja")
    assert contados() == antes + 1


def test_enviar_dos_veces_presenta_una(web: httpx.Client, api: httpx.Client):
    documento, email = nuevo_ciudadano()
    datos = hoja(documento, email)
    token, clave_ = nuevo(web)
    cuerpo = {**datos, "csrf": token, "clave": clave_}
    primera = web.post("/reclamos/nuevo", data=cuerpo, files=SIN_ARCHIVO)
    segunda = web.post("/reclamos/nuevo", data=cuerpo, files=SIN_ARCHIVO)
    assert primera.status_code == segunda.status_code == 200, segunda.text
    assert codigo_de(primera.text) == codigo_de(segunda.text)


def test_seguimiento_con_documento_equivocado_un_solo_mensaje(web: httpx.Client):
    documento, email = nuevo_ciudadano()
    codigo = codigo_de(enviar(web, hoja(documento, email)).text)
    otro = f"{(int(documento) + 1) % 10**8:08d}"
    malo = seguir(web, codigo, otro)
    inexistente = seguir(web, "R-2222-2222-2222", documento)
    for r in (malo, inexistente):
        assert r.status_code == 404
        assert "No encontramos un reclamo con ese código y ese número de documento" in r.text
    # The same words whichever was wrong, and the document never echoed.
    mensaje = re.compile(r'<div class="error-resumen".*?</div>', re.S)
    assert mensaje.search(malo.text).group(0) == mensaje.search(inexistente.text).group(0)
    assert otro not in malo.text
    bien = seguir(web, codigo, documento)
    assert bien.status_code == 200 and codigo in bien.text
    assert "Historial" in bien.text and documento not in str(bien.url)


def test_desistir_desde_el_seguimiento(
    web: httpx.Client, api: httpx.Client, plataforma: Plataforma
):
    documento, email = nuevo_ciudadano()
    codigo = codigo_de(enviar(web, hoja(documento, email)).text)
    # Derived first: a desistimiento that meets registro applying `derivado` is a 409 "changed
    # meanwhile" (the citizen is told to try again), which is not what this test is about.
    listo(api, plataforma, Reclamo(codigo, documento, email, "minsa", datetime.now(LIMA)))
    pagina = seguir(web, codigo, documento).text
    cuerpo = {
        "csrf": oculto(pagina, "csrf"),
        "codigo": codigo,
        "numero_documento": documento,
        "clave": oculto(pagina, "clave"),
        "razon": "Ya me atendieron.",
    }
    sin_confirmar = web.post("/seguimiento/desistimiento", data=cuerpo)
    assert sin_confirmar.status_code == 422 and 'id="confirmo-error"' in sin_confirmar.text
    r = web.post("/seguimiento/desistimiento", data={**cuerpo, "confirmo": "si"})
    assert r.status_code == 200, r.text
    assert "Usted desistió de su reclamo" in r.text
    visto = api.post("/seguimiento", json={"codigo": codigo, "numero_documento": documento})
    assert visto.json()["estado"] == "desistido"


def test_subsanar_y_encuesta(web: httpx.Client, api: httpx.Client, plataforma: Plataforma):
    documento, email = nuevo_ciudadano()
    codigo = codigo_de(enviar(web, hoja(documento, email, entidad="munilima")).text)
    reclamo = Reclamo(codigo, documento, email, "munilima", datetime.now(LIMA))
    listo(api, plataforma, reclamo)
    munilima = clave(plataforma, "munilima")
    pedido = "Adjunte la boleta de la atención y precise la ventanilla."
    assert accion(api, codigo, "observacion", munilima, {"observacion": pedido}).status_code == 200
    esperar_seguimiento(api, reclamo, lambda s: s["estado"] == "observado", "observado")

    pagina = seguir(web, codigo, documento).text
    assert pedido in pagina and 'action="/seguimiento/subsanacion"' in pagina
    cuerpo = {
        "csrf": oculto(pagina, "csrf"),
        "codigo": codigo,
        "numero_documento": documento,
        "clave": oculto(pagina, "clave"),
    }
    corto = web.post(
        "/seguimiento/subsanacion", data={**cuerpo, "texto": "Poco"}, files=SIN_ARCHIVO
    )
    assert corto.status_code == 422 and 'id="texto-error"' in corto.text
    assert ">Poco</textarea>" in corto.text
    r = web.post(
        "/seguimiento/subsanacion",
        data={**cuerpo, "texto": "Fue en la ventanilla 3; adjunto la boleta."},
        files=[("archivos", ("boleta2.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 200, r.text
    assert "Enviamos su información a la entidad" in r.text
    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["estado"] == "subsanado" and s["adjuntos"], "subsanado"
    )
    adjunto = visto["adjuntos"][0]

    # Its file downloads with a small form (document in the body).
    pagina = seguir(web, codigo, documento).text
    descarga = web.post(
        "/seguimiento/archivo",
        data={
            "csrf": oculto(pagina, "csrf"),
            "codigo": codigo,
            "numero_documento": documento,
            "adjunto": adjunto["id"],
        },
    )
    assert descarga.status_code == 200 and descarga.content == PDF
    assert "attachment" in descarga.headers["content-disposition"]

    # The entity answers once its bandeja shows the subsanación (an event away from registro:
    # before it arrives, answering an observed reclamo is a 409, as it should be).
    esperar(
        lambda: api.get(f"/bandeja/{codigo}", headers=munilima).json().get("estado") == "subsanado",
        "la entidad ve la subsanación",
        30,
    )
    # The survey's page answers the survey once.
    assert responder(api, codigo, munilima).status_code == 200
    visto = esperar_seguimiento(api, reclamo, lambda s: s["encuesta"], "el enlace de la encuesta")
    token = visto["encuesta"].rstrip("/").rsplit("/", 1)[1]
    assert f'href="/encuestas/{token}"' in seguir(web, codigo, documento).text
    # The mailed link opens this page on the gateway's public address.
    invitacion = esperar(
        lambda: correo_para(plataforma.correo, email, codigo, "Cuéntenos"), "la invitación"
    )
    enlace = re.search(r"https?://\S+/encuestas/[\w-]+", invitacion.get_content())
    assert enlace and enlace.group(0).endswith(f"/encuestas/{token}"), invitacion.get_content()
    assert "/api/v1/" not in enlace.group(0)
    encuesta = web.get(f"/encuestas/{token}")
    assert encuesta.status_code == 200 and "satisfaccion-5" in encuesta.text
    csrf = oculto(encuesta.text, "csrf")
    incompleta = web.post(f"/encuestas/{token}", data={"csrf": csrf, "satisfaccion": "4"})
    assert incompleta.status_code == 422 and 'id="resuelto-error"' in incompleta.text
    respuestas = {
        "csrf": csrf,
        "satisfaccion": str(RESPUESTAS_ENCUESTA["satisfaccion"]),
        "resuelto": "no",
        **{f"impulsor_{k}": str(v) for k, v in RESPUESTAS_ENCUESTA["impulsores"].items()},
    }
    hecha = web.post(f"/encuestas/{token}", data=respuestas)
    assert hecha.status_code == 200 and "registramos sus respuestas" in hecha.text
    assert "ya fue respondida" in web.get(f"/encuestas/{token}").text
    assert "no es válido" in web.get(f"/encuestas/{'x' * 32}").text


def test_demasiados_intentos_en_palabras(web: httpx.Client):
    documento, email = nuevo_ciudadano()
    codigo = codigo_de(enviar(web, hoja(documento, email)).text)
    # The API allows 10 failed lookups of a código per hour (LIMITE_FALLOS_SEGUIMIENTO_POR_HORA).
    respuestas = [seguir(web, codigo, f"{(int(documento) + k) % 10**8:08d}") for k in range(1, 13)]
    assert respuestas[0].status_code == 404
    limitada = respuestas[-1]
    assert limitada.status_code == 429
    assert "Hizo demasiados intentos" in limitada.text and "minutos" in limitada.text
