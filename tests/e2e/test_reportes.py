"""Reports and open data (issue 8) through the gateway, on a platform of this module's own (its own
clock, so that moving days does not disturb other tests, and figures that count only what this
module files).

A data set is filed and driven here: reclamos at four entities of four levels, answered on
different days (the answers fall in more than one month), a reasignación, a desistimiento, surveys
answered with known scores, reclamos left open past their deadline and an intervention. Every
expected figure is computed in this test from what each reclamo looks like through the API (its
state, unit, motivo, channel, when it was registered and answered, its business days and whether
it was on time), grouped and averaged here with `statistics` — never with the project's functions.
CSV is parsed back with the csv module; open data is checked for ranges and for personal data.
"""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import MongoClient

from comun import cifras
from comun.reloj import adelantar
from herramientas.local import SERVICIOS, Plataforma
from tests.e2e.test_procedimiento import (
    accion,
    ahora,
    clave,
    clave_de_unidad,
    desistir,
    esperar_entrada,
    listo,
    momento,
    presentar,
    responder,
    token_de_la_encuesta,
)
from tests.esperas import esperar
from tests.plataforma import plataforma_de_prueba

pytestmark = pytest.mark.e2e

LIMA = ZoneInfo("America/Lima")
# The demo catalogue's levels, as the issue defines them (the consulate is nacional in the
# catalogue, and abroad: it reports as consulado).
NIVELES = {
    "minsa": "nacional",
    "munilima": "local",
    "consulado-madrid": "consulado",
    "gore-cusco": "regional",
}
ABIERTOS = {"derivado", "en_atencion", "observado", "subsanado"}
MOTIVOS = (
    "trato",
    "tiempo",
    "procedimiento",
    "infraestructura",
    "informacion",
    "resultado",
    "confianza",
    "disponibilidad",
    "otros",
)
ESTADOS = (
    "registrado",
    "derivado",
    "en_atencion",
    "observado",
    "subsanado",
    "respondido",
    "cerrado",
    "archivado",
    "desistido",
)
IMPULSORES = ("tiempo", "trato", "informacion", "acceso", "resultado", "confianza")


def mes(m: datetime) -> str:
    return m.astimezone(LIMA).strftime("%Y-%m")


@pytest.fixture(scope="module")
def reloj(tmp_path_factory: pytest.TempPathFactory):
    archivo = tmp_path_factory.mktemp("reloj-reportes") / "desfase"
    archivo.write_text("0")
    return archivo


@pytest.fixture(scope="module")
def plataforma(amqp_url: str, tmp_path_factory, reloj) -> Iterator[Plataforma]:
    entorno = {
        "RELOJ_ARCHIVO": str(reloj),
        "BARRIDO_INTERVALO_S": "1",
        "LIMITE_RECLAMOS_POR_DOCUMENTO_POR_DIA": "100000",
        "LIMITE_FALLOS_POR_DOCUMENTO_POR_HORA": "100000",
    }
    with plataforma_de_prueba(
        amqp_url, tmp_path_factory.mktemp("plataforma-reportes"), "rep", entorno_extra=entorno
    ) as p:
        yield p


@pytest.fixture(scope="module")
def api(plataforma: Plataforma) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plataforma.url + "/api/v1", timeout=30) as cliente:
        yield cliente


def encuesta(n: int) -> dict:
    """Known, different scores for the n-th survey."""
    return {
        "satisfaccion": 1 + n % 5,
        "resuelto": n % 2 == 0,
        "impulsores": {imp: 1 + (n + i) % 5 for i, imp in enumerate(IMPULSORES)},
    }


@pytest.fixture(scope="module")
def datos(plataforma, api, reloj) -> dict:
    """Files and drives the data set; returns what the test knows independently: each reclamo
    as the API shows it at the end, the surveys it answered (scores, month) and interventions."""
    archivos = [
        ("minsa", "trato", "presencial"),
        ("minsa", "trato", "virtual"),
        ("minsa", "tiempo", "presencial"),
        ("minsa", "infraestructura", "presencial"),
        ("minsa", "informacion", "virtual"),
        ("minsa", "trato", "presencial"),
        ("minsa", "otros", "presencial"),
        ("minsa", "tiempo", "presencial"),
        ("munilima", "informacion", "presencial"),
        ("munilima", "trato", "virtual"),
        ("munilima", "tiempo", "presencial"),
        ("consulado-madrid", "trato", "presencial"),
        ("consulado-madrid", "informacion", "presencial"),
        ("gore-cusco", "infraestructura", "presencial"),
    ]
    reclamos = [
        presentar(api, plataforma, e, motivo=m, canal=c, con_email=False) for e, m, c in archivos
    ]
    for r in reclamos:
        listo(api, plataforma, r)
    minsa = reclamos[:8]
    encuestas: list[tuple[str, dict, str]] = []  # (entidad, answers, month answered)

    def responder_y_encuestar(r, con_encuesta: bool = True) -> None:
        assert responder(api, r.codigo, clave(plataforma, r.entidad_id)).status_code == 200
        if con_encuesta:
            token = token_de_la_encuesta(api, r)
            respuestas = encuesta(len(encuestas))
            antes = mes(ahora(reloj))
            assert api.post(f"/encuestas/{token}", json=respuestas).status_code == 200
            assert mes(ahora(reloj)) == antes
            encuestas.append((r.entidad_id, respuestas, antes))

    # A reasignación inside minsa, then answers on three different days.
    reasignado = accion(
        api,
        minsa[5].codigo,
        "reasignacion",
        clave(plataforma, "minsa"),
        {"unidad_id": "integridad", "razon": "Corresponde a integridad."},
    )
    assert reasignado.status_code == 200, reasignado.text
    responder_y_encuestar(minsa[0])
    responder_y_encuestar(minsa[1])
    responder_y_encuestar(reclamos[8])  # munilima
    adelantar(reloj, dias=3)
    responder_y_encuestar(minsa[2])
    responder_y_encuestar(minsa[5])
    responder_y_encuestar(reclamos[11], con_encuesta=False)  # consulado: survey left to expire
    adelantar(reloj, dias=6)
    responder_y_encuestar(minsa[3])
    responder_y_encuestar(minsa[4])
    assert desistir(api, reclamos[9]).status_code == 200
    # Past every deadline: what is still open is overdue; pending surveys expire.
    adelantar(reloj, dias=50)
    for r in (minsa[6], minsa[7], reclamos[10], reclamos[12], reclamos[13]):
        esperar_entrada(
            api, r.codigo, clave(plataforma, r.entidad_id), lambda e: e["vencido"], "vencido", 90
        )
    intervenida = api.post(
        f"/supervision/reclamos/{minsa[6].codigo}/intervencion",
        headers={**clave(plataforma, "supervisor"), "Idempotency-Key": str(uuid.uuid4())},
        json={"nota": "Responda de inmediato."},
    )
    assert intervenida.status_code == 201, intervenida.text
    intervenciones = [("minsa", mes(momento(intervenida.json()["registrada_en"])))]

    # The end state of each reclamo, as the entity and plazos show it.
    vistos = []
    for r in reclamos:
        cabeceras = clave(plataforma, r.entidad_id)
        entrada = esperar_entrada(
            api,
            r.codigo,
            cabeceras,
            lambda e: e["estado"] not in ("respondido",),
            f"{r.codigo} cerrado tras su encuesta",
            90,
        )
        plazo = api.get(f"/plazos/{r.codigo}", headers=cabeceras).json()
        if entrada["respondido_en"]:
            plazo = esperar(
                lambda c=r.codigo, h=cabeceras: (
                    p
                    if (p := api.get(f"/plazos/{c}", headers=h).json())["dentro_del_plazo"]
                    is not None
                    else None
                ),
                "días hábiles del respondido",
            )
        vistos.append({**entrada, "plazo": plazo})
    return {"reclamos": vistos, "encuestas": encuestas, "intervenciones": intervenciones}


# --- the expected figures, computed here ---------------------------------------------------------


def _vacias() -> dict:
    return {
        "recibidos": 0,
        "motivo": Counter(),
        "canal": Counter(),
        "estado": Counter(),
        "abiertos": 0,
        "vencidos_abiertos": 0,
        "dias": [],
        "a_tiempo": 0,
        "intervenciones": 0,
        "encuestas": [],
    }


def esperado(datos: dict, entidades: set[str], unidad: str | None = None):
    """{("total"|mes|entidad|nivel): figures} for the reclamos of `entidades` (and `unidad`)."""
    grupos: dict = defaultdict(_vacias)

    def en(entidad: str, mes_: str):
        return [
            grupos["total"],
            grupos[("mes", mes_)],
            grupos[("entidad", entidad)],
            grupos[("nivel", NIVELES[entidad])],
        ]

    for r in datos["reclamos"]:
        if r["entidad_id"] not in entidades or (unidad and r["unidad_id"] != unidad):
            continue
        for g in en(r["entidad_id"], mes(momento(r["registrado_en"]))):
            g["recibidos"] += 1
            g["motivo"][r["motivo"]] += 1
            g["canal"][r["canal"]] += 1
            g["estado"][r["estado"]] += 1
            g["abiertos"] += r["estado"] in ABIERTOS
            g["vencidos_abiertos"] += r["estado"] in ABIERTOS and r["vencido"]
        if r["respondido_en"]:
            for g in en(r["entidad_id"], mes(momento(r["respondido_en"]))):
                g["dias"].append(r["plazo"]["dias_habiles_usados"])
                g["a_tiempo"] += r["plazo"]["dentro_del_plazo"]
    for entidad, mes_ in datos["intervenciones"]:
        if entidad in entidades and not unidad:
            for g in en(entidad, mes_):
                g["intervenciones"] += 1
    for entidad, respuestas, mes_ in datos["encuestas"]:
        if entidad in entidades and not unidad:
            for g in en(entidad, mes_):
                g["encuestas"].append(respuestas)
    return {k: publicar(v) for k, v in grupos.items()}


def publicar(g: dict) -> dict:
    dias, enc = g["dias"], g["encuestas"]
    return {
        "recibidos": g["recibidos"],
        "por_motivo": {m: g["motivo"][m] for m in MOTIVOS},
        "por_canal": {c: g["canal"][c] for c in ("virtual", "presencial")},
        "por_estado": {e: g["estado"][e] for e in ESTADOS},
        "abiertos": g["abiertos"],
        "vencidos_abiertos": g["vencidos_abiertos"],
        "respondidos": len(dias),
        "respondidos_a_tiempo": g["a_tiempo"],
        "porcentaje_a_tiempo": round(100 * g["a_tiempo"] / len(dias), 1) if dias else None,
        "dias_habiles_promedio": round(statistics.mean(dias), 2) if dias else None,
        "dias_habiles_mediana": float(statistics.median(dias)) if dias else None,
        "intervenciones": g["intervenciones"],
        "encuestas_respondidas": len(enc),
        "satisfaccion": round(statistics.mean(e["satisfaccion"] for e in enc), 2) if enc else None,
        "porcentaje_resuelto": (
            round(100 * sum(e["resuelto"] for e in enc) / len(enc), 1) if enc else None
        ),
        "impulsores": {
            i: round(statistics.mean(e["impulsores"][i] for e in enc), 2) if enc else None
            for i in IMPULSORES
        },
    }


def como_grupos(reporte: dict) -> dict:
    """The report's JSON in the shape of `esperado`."""
    campos = list(publicar(_vacias()))
    solo = {"total": {k: reporte["total"][k] for k in campos}}
    for f in reporte["por_mes"]:
        solo[("mes", f["mes"])] = {k: f[k] for k in campos}
    for f in reporte["por_entidad"]:
        solo[("entidad", f["entidad_id"])] = {k: f[k] for k in campos}
    for f in reporte["por_nivel"]:
        solo[("nivel", f["nivel"])] = {k: f[k] for k in campos}
    return solo


def rango(datos: dict) -> dict[str, str]:
    meses = {mes(momento(r["registrado_en"])) for r in datos["reclamos"]}
    meses |= {mes(momento(r["respondido_en"])) for r in datos["reclamos"] if r["respondido_en"]}
    meses |= {m for *_, m in datos["encuestas"]} | {m for _, m in datos["intervenciones"]}
    return {"desde": min(meses), "hasta": max(meses)}


def reporte_igual(api, cabeceras: dict, params: dict, esperados: dict) -> dict:
    """Polls until the report shows the expected figures (the last events may still travel)."""
    ultimo: dict = {}

    def mirar():
        r = api.get("/reportes", params=params, headers=cabeceras)
        assert r.status_code == 200, r.text
        ultimo["r"] = r.json()
        return r.json() if como_grupos(r.json()) == esperados else None

    try:
        return esperar(mirar, "el reporte con las cifras esperadas", 60)
    except BaseException:
        obtenido = como_grupos(ultimo["r"])
        for k in sorted(set(obtenido) | set(esperados), key=str):
            if obtenido.get(k) != esperados.get(k):
                print("DIFERENCIA", k, obtenido.get(k), esperados.get(k), sep="\n  ")
        raise


def en_reposo(api, ruta: str, params: dict, cabeceras: dict | None = None) -> httpx.Response:
    """The answer once the figures are at rest: the same values may still be folded (a new
    version of a month, so a new ETag) after the report already shows them. Two answers in a
    row with the same ETag."""
    anterior: dict = {}

    def mirar():
        r = api.get(ruta, params=params, headers=cabeceras or {})
        assert r.status_code == 200, r.text
        quieta = anterior.get("etag") == r.headers["etag"]
        anterior["etag"] = r.headers["etag"]
        return r if quieta else None

    return esperar(mirar, f"{ruta} en reposo", 60)


# --- the tests -----------------------------------------------------------------------------------


def test_el_supervisor_ve_todas_las_entidades_por_mes_entidad_y_nivel(plataforma, api, datos):
    params = rango(datos)
    esperados = esperado(datos, set(NIVELES))
    # The data set spans more than one month, answers at several business-day counts.
    assert len({k for k in esperados if k[0] == "mes"}) >= 2
    assert (
        len({r["plazo"]["dias_habiles_usados"] for r in datos["reclamos"] if r["respondido_en"]})
        >= 2
    )
    reporte = reporte_igual(api, clave(plataforma, "supervisor"), params, esperados)
    assert reporte["total"]["vencidos_abiertos"] == 5
    assert reporte["total"]["intervenciones"] == 1
    assert {f["nivel"] for f in reporte["por_nivel"]} == set(NIVELES.values())

    # Filtered by level: the consulate only.
    solo = esperado(datos, {"consulado-madrid"})
    reporte_igual(api, clave(plataforma, "supervisor"), {**params, "nivel": "consulado"}, solo)
    # ... and by entity.
    reporte_igual(
        api,
        clave(plataforma, "supervisor"),
        {**params, "entidad": "munilima"},
        esperado(datos, {"munilima"}),
    )


def test_una_entidad_ve_lo_suyo_y_una_unidad_su_unidad(plataforma, api, datos):
    params = rango(datos)
    minsa = clave(plataforma, "minsa")
    reporte_igual(api, minsa, params, esperado(datos, {"minsa"}))
    otra = api.get("/reportes", params={**params, "entidad": "munilima"}, headers=minsa)
    assert otra.status_code == 403 and otra.json()["error"] == "prohibido", otra.text

    unidad = "integridad"  # the reasignado reclamo's unit
    assert any(r["unidad_id"] == unidad for r in datos["reclamos"])
    cabeceras = clave_de_unidad(plataforma, "minsa", unidad)
    # A unit key: only the reclamos that unit holds (surveys and interventions count per entity).
    reporte = api.get("/reportes", params=params, headers=cabeceras)
    assert reporte.status_code == 200, reporte.text
    esperados = esperado(datos, {"minsa"}, unidad)
    obtenido = como_grupos(reporte.json())
    for clave_ in esperados:
        for campo in (
            "recibidos",
            "por_motivo",
            "por_estado",
            "respondidos",
            "dias_habiles_mediana",
        ):
            assert obtenido[clave_][campo] == esperados[clave_][campo], (clave_, campo)
    assert reporte.json()["unidad"] == unidad
    assert api.get("/reportes", params=params).status_code == 401


def test_el_reporte_en_csv(plataforma, api, datos):
    params = rango(datos)
    supervisor = clave(plataforma, "supervisor")
    esperados = esperado(datos, set(NIVELES))
    reporte_igual(api, supervisor, params, esperados)
    por_accept = api.get("/reportes", params=params, headers={**supervisor, "Accept": "text/csv"})
    por_formato = api.get("/reportes", params={**params, "formato": "csv"}, headers=supervisor)
    for r in (por_accept, por_formato):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf"), "UTF-8 con BOM"
    texto = por_formato.content.decode("utf-8-sig")
    filas = list(csv.DictReader(io.StringIO(texto)))
    assert filas[0]["grupo"] == "total"
    total = esperados["total"]
    fila = filas[0]
    assert int(fila["recibidos"]) == total["recibidos"]
    assert int(fila["vencidos_abiertos"]) == total["vencidos_abiertos"]
    assert float(fila["dias_habiles_mediana"]) == total["dias_habiles_mediana"]
    assert float(fila["satisfaccion"]) == total["satisfaccion"]
    for m in MOTIVOS:
        assert int(fila[f"motivo_{m}"]) == total["por_motivo"][m]
    entidades = {f["clave"]: f for f in filas if f["grupo"] == "entidad"}
    assert set(entidades) == set(NIVELES)
    for entidad, f in entidades.items():
        e = esperados[("entidad", entidad)]
        assert int(f["recibidos"]) == e["recibidos"]
        assert int(f["respondidos"]) == e["respondidos"]
        assert f["nivel"] == NIVELES[entidad]
        assert (f["porcentaje_a_tiempo"] or None) == (
            None if e["porcentaje_a_tiempo"] is None else str(e["porcentaje_a_tiempo"])
        )
    meses = [f["clave"] for f in filas if f["grupo"] == "mes"]
    assert meses == sorted(k[1] for k in esperados if k[0] == "mes")


def test_datos_abiertos_sin_clave_con_rangos_y_sin_datos_personales(plataforma, api, datos):
    params = rango(datos)
    reporte_igual(api, clave(plataforma, "supervisor"), params, esperado(datos, set(NIVELES)))
    r = api.get("/publico/indicadores", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "public, max-age=300"
    cuerpo = r.json()
    # Expected per (entity, month), computed here.
    recibidos: Counter = Counter()
    respondidos: dict = defaultdict(list)
    encuestas: dict = defaultdict(list)
    for x in datos["reclamos"]:
        recibidos[(x["entidad_id"], mes(momento(x["registrado_en"])))] += 1
        if x["respondido_en"]:
            respondidos[(x["entidad_id"], mes(momento(x["respondido_en"])))].append(x["plazo"])
    for entidad, respuestas, m in datos["encuestas"]:
        encuestas[(entidad, m)].append(respuestas["satisfaccion"])
    claves = set(recibidos) | set(respondidos) | set(encuestas)
    filas = {(f["entidad_id"], f["mes"]): f for f in cuerpo["indicadores"]}
    assert set(filas) == claves

    def rango_o_n(n: int):
        return "< 5" if 0 < n < 5 else n

    for k in claves:
        f, dias = filas[k], respondidos.get(k, [])
        assert f["recibidos"] == rango_o_n(recibidos[k]), k
        assert f["respondidos"] == rango_o_n(len(dias)), k
        if len(dias) >= 5:
            a_tiempo = sum(p["dentro_del_plazo"] for p in dias)
            assert f["porcentaje_a_tiempo"] == round(100 * a_tiempo / len(dias), 1)
            promedio = statistics.mean(p["dias_habiles_usados"] for p in dias)
            assert f["dias_habiles_promedio"] == round(promedio, 2)
        else:
            assert f["porcentaje_a_tiempo"] is None and f["dias_habiles_promedio"] is None
        notas = encuestas.get(k, [])
        assert f["satisfaccion"] == (round(statistics.mean(notas), 2) if len(notas) >= 5 else None)
    assert any(f["recibidos"] == "< 5" for f in filas.values())
    assert any(isinstance(f["recibidos"], int) and f["recibidos"] >= 5 for f in filas.values())

    # No document, name, email or phone anywhere: not in the JSON, not in the CSV.
    en_csv = api.get("/publico/indicadores", params={**params, "formato": "csv"})
    assert en_csv.status_code == 200 and en_csv.content.startswith(b"\xef\xbb\xbf")
    assert en_csv.headers["cache-control"] == "public, max-age=300"
    filas_csv = list(csv.DictReader(io.StringIO(en_csv.content.decode("utf-8-sig"))))
    assert {(f["entidad_id"], f["mes"]) for f in filas_csv} == claves
    assert set(filas_csv[0]) == set(cuerpo["indicadores"][0])
    for texto in (r.text, en_csv.content.decode("utf-8-sig")):
        for x in datos["reclamos"]:
            contacto = x["contacto"]
            assert x["codigo"] not in texto
            for valor in contacto.values():
                if isinstance(valor, str) and len(valor) >= 4 and "*" not in valor:
                    assert valor not in texto
        for palabra in ("documento", "nombres", "apellidos", "email", "telefono", "Condori"):
            assert palabra not in texto

    # One entity: every month of the range, the same figures.
    una = api.get("/publico/entidades/minsa/indicadores", params=params)
    assert una.status_code == 200 and una.headers["cache-control"] == "public, max-age=300"
    meses = [f["mes"] for f in una.json()["indicadores"]]
    assert (
        meses == sorted(set(meses)) and meses[0] == params["desde"] and meses[-1] == params["hasta"]
    )
    for f in una.json()["indicadores"]:
        if ("minsa", f["mes"]) in filas:
            assert f == filas[("minsa", f["mes"])]
        else:
            assert f["recibidos"] == 0 and f["satisfaccion"] is None
    assert api.get("/publico/entidades/no-existe/indicadores").status_code == 404
    invalido = api.get("/publico/indicadores", params={"desde": "2026-05", "hasta": "2026-01"})
    assert invalido.status_code == 422 and invalido.json()["detalle"][0]["campo"] == "desde"


def test_etag_304_y_una_cifra_nueva_se_ve_enseguida(plataforma, api, datos):
    """The answers are built once per state of the figures: a client that has them gets a 304,
    and the first change (written as a handler writes it, not folded yet) gives a new answer
    with it. Another scope never gets a 304 for the supervisor's ETag."""
    params = rango(datos)
    sup = clave(plataforma, "supervisor")
    reporte_igual(api, sup, params, esperado(datos, set(NIVELES)))
    ruta = "/publico/indicadores"
    primera = en_reposo(api, ruta, params)
    etiqueta = primera.headers["etag"]
    assert primera.headers["vary"] == "Accept"
    igual = api.get(ruta, params=params, headers={"If-None-Match": etiqueta})
    assert igual.status_code == 304 and igual.headers["etag"] == etiqueta and not igual.content
    # CSV is another representation: another ETag.
    en_csv = api.get(ruta, params={**params, "formato": "csv"}, headers={"If-None-Match": etiqueta})
    assert en_csv.status_code == 200 and en_csv.headers["etag"] != etiqueta

    informe = en_reposo(api, "/reportes", params, sup)
    assert informe.headers["cache-control"] == "private, no-cache"
    condicional = {**sup, "If-None-Match": informe.headers["etag"]}
    assert api.get("/reportes", params=params, headers=condicional).status_code == 304
    entidad = {**clave(plataforma, "minsa"), "If-None-Match": informe.headers["etag"]}
    suyo = api.get("/reportes", params=params, headers=entidad)
    assert suyo.status_code == 200 and {f["entidad_id"] for f in suyo.json()["por_entidad"]} <= {
        "minsa"
    }

    # A change of an entity outside the data set, as derivacion's handler writes it.
    db = MongoClient(plataforma._mongo(1 + SERVICIOS.index("derivacion"), "derivacion"))[
        "derivacion"
    ]
    aporte = cifras.Aporte("entidad-etag", "u1", params["hasta"], {"recibidos": 7})
    cifras.mover(db, None, aporte, None)
    try:
        cambiada = api.get(ruta, params=params, headers={"If-None-Match": etiqueta})
        assert cambiada.status_code == 200 and cambiada.headers["etag"] != etiqueta
        nuevas = [f for f in cambiada.json()["indicadores"] if f["entidad_id"] == "entidad-etag"]
        assert [(f["mes"], f["recibidos"]) for f in nuevas] == [(params["hasta"], 7)]
        assert [f for f in cambiada.json()["indicadores"] if f not in nuevas] == primera.json()[
            "indicadores"
        ]
    finally:
        cifras.mover(db, aporte, None, None)  # taken back: the other tests' figures stand
    vuelta = api.get(ruta, params=params, headers={"If-None-Match": etiqueta})
    assert vuelta.status_code == 200 and vuelta.json() == primera.json()
