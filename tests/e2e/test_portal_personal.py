"""Staff pages (issue 11) on the real platform: accounts made with the operator command against
the platform's gateway store; sign in and out; every form refuses a missing or wrong CSRF token
(403, and the API shows nothing changed); an entity's session cannot see another entity's reclamo
(nor a unit account another unit's); the lock-out; the actions and the supervisor's pages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from herramientas.local import Plataforma
from tests.e2e.test_procedimiento import clave, desistir, listo, presentar, seguir, ver

pytestmark = pytest.mark.e2e

CLAVE = "una-clave-larga-de-prueba-7"
TOKEN = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def operador(plataforma: Plataforma, *args: str, entrada: str = "") -> subprocess.CompletedProcess:
    """`python -m gateway.portal.cuentas ...` with the platform's gateway store, as an operator
    would run it next to that gateway."""
    entorno = {**os.environ, "MONGO_URL": plataforma._mongo(0, "gateway"), "MONGO_DB": "gateway"}
    return subprocess.run(
        [sys.executable, "-m", "gateway.portal.cuentas", *args],
        input=entrada,
        capture_output=True,
        text=True,
        env=entorno,
        timeout=60,
    )


def cuenta(plataforma: Plataforma, rol: str = "entidad", entidad: str | None = "minsa", **kw):
    usuario = f"{rol}-{uuid.uuid4().hex[:8]}@prueba.gob.pe"
    args = ["crear", "--usuario", usuario, "--nombre", f"Persona {usuario[:12]}", "--rol", rol]
    if entidad:
        args += ["--entidad", entidad]
    if kw.get("unidad"):
        args += ["--unidad", kw["unidad"]]
    r = operador(plataforma, *args, "--clave-stdin", entrada=CLAVE + "\n")
    assert r.returncode == 0, r.stderr
    return usuario


@pytest.fixture
def web(plataforma: Plataforma) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plataforma.url, timeout=20, follow_redirects=False) as cliente:
        yield cliente


def token(pagina: httpx.Response) -> str:
    hallado = TOKEN.search(pagina.text)
    assert hallado, pagina.text[:2000]
    return hallado.group(1)


def ingresar(
    web: httpx.Client, usuario: str, clave_: str = CLAVE, volver: str = ""
) -> httpx.Response:
    formulario = web.get("/personal/ingresar")
    datos = {"csrf": token(formulario), "usuario": usuario, "clave": clave_, "volver": volver}
    return web.post("/personal/ingresar", data=datos)


def test_ingresar_y_salir(plataforma, web):
    usuario = cuenta(plataforma)
    r = web.get("/personal/bandeja?estado=derivado")
    assert r.status_code == 303
    assert (
        r.headers["location"] == "/personal/ingresar?volver=/personal/bandeja%3Festado%3Dderivado"
    )

    r = ingresar(web, usuario, volver="/personal/bandeja?estado=derivado")
    assert r.status_code == 303 and r.headers["location"] == "/personal/bandeja?estado=derivado"
    galleta = r.headers["set-cookie"]
    assert galleta.startswith("pdr_sesion=") and "HttpOnly" in galleta
    assert "SameSite=lax" in galleta or "samesite=lax" in galleta.lower()
    sesion = web.cookies["pdr_sesion"]
    bandeja = web.get("/personal/bandeja")
    assert bandeja.status_code == 200 and "Bandeja de reclamos" in bandeja.text
    assert usuario[:12] in bandeja.text and 'action="/personal/salir"' in bandeja.text

    # Sign-in never follows to another site.
    assert ingresar(web, usuario, volver="//malo.example/x").headers["location"] == (
        "/personal/bandeja"
    )

    # Sign-out needs its token; then the old cookie opens nothing (revoked in the store).
    sesion = web.cookies["pdr_sesion"]
    assert web.post("/personal/salir", data={}).status_code == 403
    assert web.get("/personal/bandeja").status_code == 200
    r = web.post("/personal/salir", data={"csrf": token(web.get("/personal/bandeja"))})
    assert r.status_code == 303 and r.headers["location"] == "/personal/ingresar?salio=1"
    assert web.get("/personal/bandeja").status_code == 303
    with httpx.Client(base_url=plataforma.url, cookies={"pdr_sesion": sesion}) as otro:
        assert otro.get("/personal/bandeja", follow_redirects=False).status_code == 303


def test_en_ingles(plataforma, web):
    usuario = cuenta(plataforma)
    web.get("/idioma/en?volver=/")
    r = web.get("/personal/ingresar")
    assert '<html lang="en">' in r.text and "Staff sign-in" in r.text
    ingresar(web, usuario)
    assert "Complaints inbox" in web.get("/personal/bandeja").text


def test_bloqueo_y_desbloqueo_por_el_operador(plataforma, web):
    usuario = cuenta(plataforma)
    for _ in range(5):
        r = ingresar(web, usuario, "otra-clave-equivocada")
        assert r.status_code == 401
    bloqueado = ingresar(web, usuario)  # the right password, locked all the same
    assert bloqueado.status_code == 401 and "Demasiados intentos" in bloqueado.text
    assert "pdr_sesion" not in web.cookies
    # An unknown name locks the same way: the message does not tell which accounts exist.
    desconocido = f"nadie-{uuid.uuid4().hex[:6]}@prueba.gob.pe"
    primera = ingresar(web, desconocido, "x" * 12)
    assert "Usuario o contraseña incorrectos" in primera.text
    for _ in range(4):
        ingresar(web, desconocido, "x" * 12)
    assert "Demasiados intentos" in ingresar(web, desconocido, "x" * 12).text

    assert operador(plataforma, "desbloquear", usuario).returncode == 0
    assert ingresar(web, usuario).status_code == 303


FORMULARIOS = {
    "atencion": {},
    "observacion": {"observacion": "Falta la copia de su documento de identidad."},
    "reasignacion": {"unidad_id": "integridad", "razon": "Corresponde a integridad."},
    "traslado": {"entidad_id": "munilima", "razon": "Es competencia municipal."},
    "respuesta": {"texto": "Revisamos su caso y se corrigió el trámite."},
}


def test_cada_formulario_rechaza_un_token_ausente_o_ajeno(plataforma, api, web):
    reclamo = presentar(api, plataforma)
    listo(api, plataforma, reclamo)
    minsa = clave(plataforma, "minsa")
    antes = ver(api, reclamo.codigo, minsa).json()
    ingresar(web, cuenta(plataforma))
    pagina = web.get(f"/personal/reclamos/{reclamo.codigo}")
    assert pagina.status_code == 200 and reclamo.codigo in pagina.text
    bueno = token(pagina)
    ajeno = "0" * 64
    for accion, datos in FORMULARIOS.items():
        # The good token with its last digit changed (to another digit, whatever it was).
        casi = bueno[:-1] + ("1" if bueno[-1] == "0" else "0")
        for malo in ({}, {"csrf": ajeno}, {"csrf": casi}):
            r = web.post(f"/personal/reclamos/{reclamo.codigo}/{accion}", data={**datos, **malo})
            assert r.status_code == 403, (accion, malo, r.status_code)
    despues = ver(api, reclamo.codigo, minsa).json()
    assert (despues["estado"], despues["unidad_id"], despues["entidad_id"]) == (
        antes["estado"],
        antes["unidad_id"],
        "minsa",
    )
    assert len(despues["historial"]) == len(antes["historial"])

    # A token of another session (signed in again: a new id) no longer fits.
    ingresar(web, cuenta(plataforma))
    r = web.post(f"/personal/reclamos/{reclamo.codigo}/atencion", data={"csrf": bueno})
    assert r.status_code == 403
    assert ver(api, reclamo.codigo, minsa).json()["estado"] == antes["estado"]

    # The supervisor's intervention and the sign-in form too.
    sup = httpx.Client(base_url=plataforma.url, follow_redirects=False)
    with sup:
        ingresar(sup, cuenta(plataforma, "supervisor", None))
        nota = {"nota": "Atender este reclamo con prioridad."}
        r = sup.post(f"/supervisor/reclamos/{reclamo.codigo}/intervencion", data=nota)
        assert r.status_code == 403
    intervenciones = api.get("/supervision/intervenciones", headers=clave(plataforma, "supervisor"))
    assert all(
        f["entidad_id"] != "minsa" or f["intervenciones"] == 0 for f in intervenciones.json()
    )
    with httpx.Client(base_url=plataforma.url, follow_redirects=False) as nuevo:
        nuevo.get("/personal/ingresar")
        r = nuevo.post("/personal/ingresar", data={"usuario": "a@b.pe", "clave": CLAVE})
        assert r.status_code == 403 and "pdr_sesion" not in nuevo.cookies


def test_las_acciones_desde_la_pagina_y_sus_errores(plataforma, api, web):
    reclamo = presentar(api, plataforma)
    listo(api, plataforma, reclamo)
    minsa = clave(plataforma, "minsa")
    ingresar(web, cuenta(plataforma))
    url = f"/personal/reclamos/{reclamo.codigo}"

    # In the bandeja, and a filter that leaves it out.
    assert reclamo.codigo in web.get("/personal/bandeja", params={"estado": "derivado"}).text
    assert reclamo.codigo not in web.get("/personal/bandeja", params={"estado": "cerrado"}).text

    r = web.post(f"{url}/atencion", data={"csrf": token(web.get(url))})
    assert r.status_code == 303 and r.headers["location"] == f"{url}?hecho=atencion"
    assert "El reclamo quedó en atención." in web.get(r.headers["location"]).text
    assert ver(api, reclamo.codigo, minsa).json()["estado"] == "en_atencion"

    # Too short: the API's words beside the field, the text kept, nothing changed.
    r = web.post(f"{url}/respuesta", data={"csrf": token(web.get(url)), "texto": "Corto"})
    assert r.status_code == 422
    assert 'id="respuesta-texto-error"' in r.text and ">Corto</textarea>" in r.text
    assert 'aria-describedby="respuesta-texto-ayuda respuesta-texto-error"' in r.text
    assert ver(api, reclamo.codigo, minsa).json()["estado"] == "en_atencion"

    texto = "Revisamos su caso: se corrigió el trámite y se capacitó al personal."
    r = web.post(f"{url}/respuesta", data={"csrf": token(web.get(url)), "texto": texto})
    assert r.status_code == 303, r.text[:500]
    assert ver(api, reclamo.codigo, minsa).json()["estado"] == "respondido"
    # Answered: no more actions offered; a stale form gets the 409 in words.
    pagina = web.get(url)
    assert texto in pagina.text and f'action="{url}/atencion"' not in pagina.text
    r = web.post(f"{url}/atencion", data={"csrf": token(pagina)})
    assert r.status_code == 409 and "no permite esta acción" in r.text


def test_otra_entidad_no_ve_el_reclamo_y_una_unidad_solo_la_suya(plataforma, api, web):
    reclamo = presentar(api, plataforma)
    _, entrada = listo(api, plataforma, reclamo)
    ingresar(web, cuenta(plataforma, entidad="munilima"))
    r = web.get(f"/personal/reclamos/{reclamo.codigo}")
    assert r.status_code == 404 and "Rosa" not in r.text and reclamo.documento not in r.text
    assert reclamo.codigo not in web.get("/personal/bandeja").text
    assert web.get(f"/personal/reclamos/{reclamo.codigo}/adjuntos/{'0' * 24}").status_code == 404
    assert web.get("/personal/reclamos/R-0000-..").status_code == 404
    assert web.get(f"/personal/reclamos/{reclamo.codigo}/adjuntos/..").status_code == 404

    unidad = entrada["unidad_id"]
    otra = "integridad" if unidad != "integridad" else "infraestructura"
    with httpx.Client(base_url=plataforma.url, follow_redirects=False) as de_unidad:
        ingresar(de_unidad, cuenta(plataforma, unidad=otra))
        assert de_unidad.get(f"/personal/reclamos/{reclamo.codigo}").status_code == 404
        bandeja = de_unidad.get("/personal/bandeja")
        assert bandeja.status_code == 200 and reclamo.codigo not in bandeja.text
        assert f"({otra})" in bandeja.text
    with httpx.Client(base_url=plataforma.url, follow_redirects=False) as de_unidad:
        ingresar(de_unidad, cuenta(plataforma, unidad=unidad))
        assert de_unidad.get(f"/personal/reclamos/{reclamo.codigo}").status_code == 200
        assert reclamo.codigo in de_unidad.get("/personal/bandeja").text


def test_el_supervisor_ve_vencidos_interviene_y_lee_los_reportes(plataforma, api, web):
    assert ingresar(web, cuenta(plataforma, "supervisor", None)).headers["location"] == (
        "/supervisor/vencidos"
    )
    vencidos = web.get("/supervisor/vencidos")
    assert vencidos.status_code == 200 and "Reclamos vencidos" in vencidos.text
    assert web.get("/supervisor/intervenciones").status_code == 200
    reportes = web.get("/supervisor/reportes")
    assert reportes.status_code == 200
    assert reportes.text.count('role="img"') == 4 and reportes.text.count("<title>") == 5
    csv = web.get("/supervisor/reportes/motivos.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeffMotivo,Recibidos".encode())

    # An entity's account has no supervisor pages.
    with httpx.Client(base_url=plataforma.url, follow_redirects=False) as entidad:
        ingresar(entidad, cuenta(plataforma))
        assert entidad.get("/supervisor/vencidos").status_code == 403


def test_la_respuesta_con_archivos_desde_la_pagina(plataforma, api, web):
    reclamo = presentar(api, plataforma)
    listo(api, plataforma, reclamo)
    minsa = clave(plataforma, "minsa")
    ingresar(web, cuenta(plataforma))
    url = f"/personal/reclamos/{reclamo.codigo}"
    pagina = web.get(url)
    assert 'enctype="multipart/form-data"' in pagina.text and 'type="file"' in pagina.text
    informe = b"%PDF-1.4\n% informe\n" + os.urandom(800) + b"\n%%EOF\n"

    # Without its token: 403, nothing answered, nothing attached.
    texto = "Revisamos su caso: se corrigió el trámite y se capacitó al personal."
    partes = [("archivos", ("informe.pdf", informe, "application/pdf"))]
    r = web.post(f"{url}/respuesta", data={"texto": texto}, files=partes)
    assert r.status_code == 403
    r = web.post(f"{url}/adjuntos", data={}, files=partes)
    assert r.status_code == 403
    assert ver(api, reclamo.codigo, minsa).json()["estado"] == "derivado"
    assert seguir(api, reclamo)["adjuntos"] == []

    # The answer goes; its file is refused (text, not a PDF): the answer stands, the page says
    # plainly the files were not attached and offers the attach form with the reason.
    malo = [("archivos", ("informe.pdf", b"solo texto", "application/pdf"))]
    r = web.post(f"{url}/respuesta", data={"csrf": token(pagina), "texto": texto}, files=malo)
    assert r.status_code == 422, r.text[:500]
    assert "los archivos NO se adjuntaron" in r.text
    assert f'action="{url}/adjuntos"' in r.text and 'id="adjuntos-archivos-error"' in r.text
    assert "no es de un tipo permitido" in r.text
    assert ver(api, reclamo.codigo, minsa).json()["estado"] == "respondido"
    assert seguir(api, reclamo)["adjuntos"] == []

    # Attached again with the separate form: the citizen's tracking lists it as the entity's.
    r = web.post(f"{url}/adjuntos", data={"csrf": token(r)}, files=partes)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?hecho=adjuntos"
    pagina = web.get(r.headers["location"])
    assert "el ciudadano los verá en su seguimiento" in pagina.text
    assert "informe.pdf" in pagina.text and "de la entidad" in pagina.text
    (adjunto,) = seguir(api, reclamo)["adjuntos"]
    assert (adjunto["nombre"], adjunto["origen"]) == ("informe.pdf", "entidad")
    descarga = api.post(
        f"/reclamos/{reclamo.codigo}/adjuntos/{adjunto['id']}",
        json={"numero_documento": reclamo.documento},
    )
    assert descarga.status_code == 200 and descarga.content == informe
    # The attach form with no file: the reason beside the field, nothing stored.
    r = web.post(f"{url}/adjuntos", data={"csrf": token(pagina)})
    assert r.status_code == 422 and "Elija al menos un archivo." in r.text
    assert len(seguir(api, reclamo)["adjuntos"]) == 1


def test_la_respuesta_y_sus_archivos_van_juntos(plataforma, api, web):
    reclamo = presentar(api, plataforma)
    listo(api, plataforma, reclamo)
    ingresar(web, cuenta(plataforma))
    url = f"/personal/reclamos/{reclamo.codigo}"
    texto = "Adjuntamos la resolución que corrige el trámite observado."
    informe = b"%PDF-1.4\n% resolucion\n" + os.urandom(800) + b"\n%%EOF\n"
    partes = [("archivos", ("resolucion.pdf", informe, "application/pdf"))]
    datos = {"csrf": token(web.get(url)), "texto": texto}
    r = web.post(f"{url}/respuesta", data=datos, files=partes)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?hecho=respuesta_adjuntos"
    assert "La respuesta y sus archivos fueron enviados" in web.get(r.headers["location"]).text
    (adjunto,) = seguir(api, reclamo)["adjuntos"]
    assert (adjunto["nombre"], adjunto["origen"]) == ("resolucion.pdf", "entidad")
    # An empty file input (what a browser sends when none was chosen) is no file.
    otro = presentar(api, plataforma)
    listo(api, plataforma, otro)
    url = f"/personal/reclamos/{otro.codigo}"
    vacio = [("archivos", ("", b"", "application/octet-stream"))]
    datos = {"csrf": token(web.get(url)), "texto": texto}
    r = web.post(f"{url}/respuesta", data=datos, files=vacio)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?hecho=respuesta"
    assert seguir(api, otro)["adjuntos"] == []
    # An ended reclamo (the citizen desisted) takes no files: the refusal in words.
    tercero = presentar(api, plataforma)
    listo(api, plataforma, tercero)
    url = f"/personal/reclamos/{tercero.codigo}"
    formulario = web.get(url)
    assert desistir(api, tercero).status_code == 200
    r = web.post(f"{url}/adjuntos", data={"csrf": token(formulario)}, files=partes)
    assert r.status_code == 409 and "no permite esta acción" in r.text
    assert seguir(api, tercero)["adjuntos"] == []
