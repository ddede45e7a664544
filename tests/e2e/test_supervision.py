"""The deadline clock and the supervision (issue 6) through the gateway, on the real broker,
stores and SMTP server, with two plazos workers sweeping every second and the domain clock moved
forward by whole days: the warnings raised once each, a declared non-working day moving an open
deadline (and back), and the Secretaría de Gestión Pública seeing an overdue reclamo and
intervening in it. Expected dates are computed by hand (tests.e2e.test_procedimiento.Habiles)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.e2e.test_procedimiento import (
    DIAS_AVISO,
    VENTANA_SIN_REPETICION_S,
    avanzar_hasta,
    calendario,
    catalogo,
    clave,
    codigos,
    correos_a,
    cuerpo,
    dd_mm_aaaa,
    dia_lima,
    esperar_correo,
    esperar_entrada,
    esperar_seguimiento,
    fin_del_dia,
    hoy,
    listo,
    momento,
    nuevos_plazos,
    presentar,
    responder,
    responsables,
    seguir,
    sin_cambios,
    textos,
    todos,
    ver,
)
from tests.esperas import esperar

pytestmark = pytest.mark.e2e


def test_por_vencer_y_vencido_se_avisan_una_vez_con_dos_workers(plataforma, api, reloj):
    minsa = clave(plataforma, "minsa")
    reclamo = presentar(api, plataforma, "minsa", motivo="infraestructura")
    codigo = reclamo.codigo
    visto, _ = listo(api, plataforma, reclamo)
    cal = calendario(api, plataforma)
    vence = cal.vence_en(cal.recepcion(reclamo.registrado_en))
    assert momento(visto["vence_en"]) == vence
    assert visto["vencido"] is False
    destinos = responsables("minsa", "infraestructura")
    assert len(destinos) == 2, "la unidad tiene titular y alterno"

    def avisos(que: str) -> dict[str, int]:
        return {d: len(correos_a(plataforma.correo, d, codigo, que)) for d in destinos}

    # Past the warning day (5 business days before the deadline), still before the deadline.
    dia_vence = dia_lima(vence)
    dia_aviso = cal.antes(dia_vence, DIAS_AVISO)
    avanzar_hasta(reloj, dia_aviso + timedelta(days=1))
    assert hoy(reloj) < dia_vence
    for direccion in destinos:
        aviso = esperar_correo(plataforma.correo, direccion, codigo, "por vencer")
        assert dd_mm_aaaa(vence) in cuerpo(aviso)
    assert seguir(api, reclamo)["vencido"] is False
    assert avisos("vencido") == dict.fromkeys(destinos, 0)

    # Past the deadline, unanswered: overdue.
    avanzar_hasta(reloj, dia_vence + timedelta(days=1))
    for direccion in destinos:
        esperar_correo(plataforma.correo, direccion, codigo, "vencido")
    visto = esperar_seguimiento(api, reclamo, lambda s: s["vencido"], "vencido en el seguimiento")
    assert visto["estado"] == "derivado"  # vencido is a flag, not a state
    entrada = esperar_entrada(api, codigo, minsa, lambda e: e["vencido"], "vencido en la bandeja")
    assert entrada["estado"] == "derivado"
    assert api.get(f"/plazos/{codigo}", headers=minsa).json()["vencido"] is True
    assert codigo in codigos(todos(api, "/bandeja", minsa, vencido="true", limite=200))
    assert codigo not in codigos(todos(api, "/bandeja", minsa, vencido="false", limite=200))

    # Both workers keep sweeping: still exactly one of each warning per responsable.
    una_vez = dict.fromkeys(destinos, 1)
    sin_cambios(
        lambda: avisos("por vencer") == una_vez and avisos("vencido") == una_vez,
        f"un solo aviso de cada clase por responsable: {avisos('por vencer')}, {avisos('vencido')}",
        VENTANA_SIN_REPETICION_S,
    )

    # Answered afterwards: recorded as late.
    assert responder(api, codigo, minsa).status_code == 200
    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["dentro_del_plazo"] is False, "respuesta fuera del plazo"
    )
    assert any("fuera del plazo" in t for t in textos(visto)), textos(visto)
    entrada = esperar_entrada(
        api, codigo, minsa, lambda e: e["dentro_del_plazo"] is False, "fuera del plazo"
    )
    assert avisos("por vencer") == una_vez and avisos("vencido") == una_vez


def test_un_dia_no_laborable_declarado_mueve_el_plazo_un_dia_habil(plataforma, api, reloj):
    operador = clave(plataforma, "operador")
    munilima = clave(plataforma, "munilima")
    reclamo = presentar(api, plataforma, "munilima", motivo="trato")
    codigo = reclamo.codigo
    visto, _ = listo(api, plataforma, reclamo)
    cal = calendario(api, plataforma)
    recepcion = cal.recepcion(reclamo.registrado_en)
    vence = cal.vence_en(recepcion)
    assert momento(visto["vence_en"]) == vence

    # A business day inside the term, still ahead: one business day less, the deadline one later.
    dia = cal.despues(max(recepcion, hoy(reloj)), 10)
    assert recepcion < dia < dia_lima(vence)
    nuevo = cal.con(dia).vence_en(recepcion)
    assert nuevo == fin_del_dia(cal.despues(dia_lima(vence)))
    motivo = "Día no laborable compensable para el sector público (prueba)"
    ruta = f"/calendario/dias-no-laborables/{dia.isoformat()}"

    # Only the operator declares days.
    assert api.put(ruta, headers=munilima, json={"motivo": motivo}).status_code == 403
    r = api.put(ruta, headers=operador, json={"motivo": motivo})
    declarado = r.status_code == 200
    try:
        assert r.status_code == 200, r.text
        assert r.json() == {"fecha": dia.isoformat(), "motivo": motivo}
        lista = api.get("/calendario/dias-no-laborables", headers=operador).json()
        assert {"fecha": dia.isoformat(), "motivo": motivo} in lista
        assert [d["fecha"] for d in lista] == sorted(d["fecha"] for d in lista)
        supervisor = clave(plataforma, "supervisor")
        assert api.get("/calendario/dias-no-laborables", headers=supervisor).status_code == 200

        # The open reclamo's deadline moves by exactly one business day; the citizen is told.
        visto = esperar_seguimiento(
            api,
            reclamo,
            lambda s: (
                momento(s["vence_en"]) == nuevo
                and any(dd_mm_aaaa(nuevo) in t for t in nuevos_plazos(s))
            ),
            "el nuevo plazo por el día no laborable",
        )
        correo = esperar_correo(plataforma.correo, reclamo.email, codigo, "nuevo plazo")
        assert dd_mm_aaaa(nuevo) in cuerpo(correo)
        esperar_entrada(
            api, codigo, munilima, lambda e: momento(e["vence_en"]) == nuevo, "en la bandeja"
        )
        assert momento(api.get(f"/plazos/{codigo}", headers=munilima).json()["vence_en"]) == nuevo

        # Withdrawn: the deadline moves back.
        r = api.delete(ruta, headers=operador)
        assert r.status_code == 200, r.text
        declarado = False
        assert r.json()["fecha"] == dia.isoformat()
    finally:
        if declarado:
            api.delete(ruta, headers=operador)
    lista = api.get("/calendario/dias-no-laborables", headers=operador).json()
    assert dia.isoformat() not in {d["fecha"] for d in lista}
    visto = esperar_seguimiento(
        api,
        reclamo,
        lambda s: momento(s["vence_en"]) == vence and len(nuevos_plazos(s)) == 2,
        "el plazo original de vuelta al retirar el día",
    )
    assert dd_mm_aaaa(nuevo) in nuevos_plazos(visto)[0]
    assert dd_mm_aaaa(vence) in nuevos_plazos(visto)[1]
    esperar_entrada(
        api, codigo, munilima, lambda e: momento(e["vence_en"]) == vence, "de vuelta en la bandeja"
    )
    assert api.delete(ruta, headers=operador).status_code == 404


def test_el_calendario_solo_acepta_fechas_reales(plataforma, api):
    operador = clave(plataforma, "operador")
    cuerpo_dia = {"motivo": "Una fecha que no existe"}
    for fecha in ("0", "2026-13-01", "2026-02-30"):
        r = api.put(f"/calendario/dias-no-laborables/{fecha}", headers=operador, json=cuerpo_dia)
        assert r.status_code == 422, (fecha, r.text)
    lista = api.get("/calendario/dias-no-laborables", headers=operador).json()
    assert "1970-01-01" not in {d["fecha"] for d in lista}


def test_la_supervision_ve_los_vencidos_e_interviene(plataforma, api, reloj):
    supervisor = clave(plataforma, "supervisor")
    consulado = clave(plataforma, "consulado-madrid")
    entidad = catalogo()["consulado-madrid"]
    reclamo = presentar(api, plataforma, "consulado-madrid", motivo="tiempo")
    codigo = reclamo.codigo
    visto, entrada = listo(api, plataforma, reclamo)
    vence = momento(visto["vence_en"])
    unidad = entrada["unidad_id"]

    # The first business day after the deadline: one business day overdue.
    cal = calendario(api, plataforma)
    avanzar_hasta(reloj, cal.despues(dia_lima(vence)))
    atraso = cal.entre(dia_lima(vence), hoy(reloj))
    assert atraso == 1
    esperar_seguimiento(api, reclamo, lambda s: s["vencido"], "vencido en el seguimiento")

    # Listed for the supervisor, most overdue first, with its filters.
    filtros = {"entidad": entidad.id, "nivel": entidad.nivel, "pais": entidad.pais}

    def en_la_lista(**otros) -> dict | None:
        consulta = filtros | otros
        items = todos(api, "/supervision/vencidos", supervisor, limite=2, **consulta)
        return next((i for i in items if i["codigo"] == codigo), None)

    item = esperar(en_la_lista, "el reclamo en la lista de vencidos")
    assert item["entidad_id"] == entidad.id and item["entidad_nombre"] == entidad.nombre
    assert item["nivel"] == entidad.nivel and item["pais"] == "ES"
    assert momento(item["vence_en"]) == vence
    assert item["dias_habiles_vencido"] == atraso
    assert item["intervenciones"] == 0
    assert en_la_lista(dias_min=atraso) is not None
    assert en_la_lista(dias_min=atraso + 1) is None
    assert en_la_lista(pais="PE") is None
    assert en_la_lista(entidad="minsa") is None
    assert en_la_lista(nivel="local" if entidad.nivel != "local" else "regional") is None
    vencidos = todos(api, "/supervision/vencidos", supervisor, limite=3)
    orden = [(momento(i["vence_en"]), i["codigo"]) for i in vencidos]
    assert orden == sorted(orden)
    assert len(set(codigos(vencidos))) == len(vencidos)
    assert api.get("/supervision/vencidos", headers=consulado).status_code == 403

    # The intervention.
    antes = intervenciones(api, supervisor).get(entidad.id, 0)
    nota = "Responda al ciudadano a la brevedad e informe a la SGP las medidas adoptadas."

    def intervenir(codigo_ruta: str, texto: str, cabeceras: dict[str, str]):
        return api.post(
            f"/supervision/reclamos/{codigo_ruta}/intervencion",
            headers={**cabeceras, "Idempotency-Key": str(uuid.uuid4())},
            json={"nota": texto},
        )

    assert intervenir(codigo, "Corta.", supervisor).status_code == 422
    assert intervenir(codigo, nota, consulado).status_code == 403
    assert intervenir("R-2222-2222-2222", nota, supervisor).status_code == 404
    r = intervenir(codigo, nota, supervisor)
    assert r.status_code == 201, r.text
    assert r.json()["codigo"] == codigo and r.json()["entidad_id"] == entidad.id
    assert r.json()["nota"] == nota and r.json()["registrada_en"]

    # The entity's responsables are mailed the note; the citizen sees that SGP intervened.
    for direccion in responsables(entidad.id, unidad):
        correo = esperar_correo(plataforma.correo, direccion, codigo, "Secretaría de Gestión")
        assert nota in cuerpo(correo)
    esperar_seguimiento(
        api,
        reclamo,
        lambda s: any("Secretaría de Gestión Pública" in t for t in textos(s)),
        "la intervención en el historial del ciudadano",
    )

    # Counted per entity, and on the overdue reclamo.
    esperar(
        lambda: intervenciones(api, supervisor).get(entidad.id, 0) == antes + 1,
        "la intervención contada para la entidad",
    )
    esperar(
        lambda: (i := en_la_lista()) is not None and i["intervenciones"] == 1,
        "la intervención contada en el reclamo vencido",
    )
    assert ver(api, codigo, consulado).json()["estado"] == "derivado"


def intervenciones(api, supervisor: dict[str, str]) -> dict[str, int]:
    r = api.get("/supervision/intervenciones", headers=supervisor)
    assert r.status_code == 200, r.text
    return {fila["entidad_id"]: fila["intervenciones"] for fila in r.json()}
