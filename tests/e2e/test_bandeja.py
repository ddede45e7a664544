"""The bandeja (issue 6) through the gateway: more reclamos than a page holds, every one of them
read through the cursor exactly once, most urgent first (the deadline computed by hand), and its
filters; the same for a unit's key and for the supervisor across entities."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.e2e.test_procedimiento import (
    CORRIENDO,
    accion,
    avanzar_hasta,
    calendario,
    clave,
    clave_de_unidad,
    codigos,
    esperar_entrada,
    listo,
    momento,
    paginas,
    presentar,
    todos,
)

pytestmark = pytest.mark.e2e

# munilima routes what happened at this sede to its unit sede-cercado (infra/catalogo).
SEDE = "Cercado de Lima"
UNIDAD = "sede-cercado"
MOTIVOS = ("disponibilidad", "trato", "informacion")
POR_PAGINA = 5
POR_LOTE = 6  # two lots: 12 reclamos, more than two pages


def test_la_bandeja_se_lee_entera_por_el_cursor_en_orden_de_urgencia(plataforma, api, reloj):
    munilima = clave(plataforma, "munilima")
    supervisor = clave(plataforma, "supervisor")
    # Only this test's reclamos carry it: the count below is made here, not by the bandeja.
    marca = f"lote-{uuid.uuid4().hex[:12]}"
    motivo_de: dict[str, str] = {}

    def lote() -> list[str]:
        presentados = []
        for k in range(POR_LOTE):
            motivo = MOTIVOS[k % len(MOTIVOS)]
            reclamo = presentar(
                api,
                plataforma,
                "munilima",
                motivo=motivo,
                sede=SEDE,
                descripcion=f"Me hicieron esperar sin atenderme en el centro ({marca}).",
            )
            motivo_de[reclamo.codigo] = motivo
            presentados.append(reclamo)
        for reclamo in presentados:
            listo(api, plataforma, reclamo)
        return presentados

    # Six reclamos today and six a business day later: two deadlines, ties within each.
    primeros = lote()
    cal = calendario(api, plataforma)
    avanzar_hasta(reloj, cal.despues(cal.recepcion(primeros[-1].registrado_en)))
    segundos = lote()
    mios = {r.codigo: r for r in primeros + segundos}
    assert len(mios) == 2 * POR_LOTE
    cal = calendario(api, plataforma)
    vence = {c: cal.vence_en(cal.recepcion(r.registrado_en)) for c, r in mios.items()}
    assert max(vence[r.codigo] for r in primeros) < min(vence[r.codigo] for r in segundos)

    # One is observed: its clock paused, it goes after every reclamo whose clock runs.
    pausado = primeros[0].codigo
    pedido = {"observacion": "Indique la fecha y la hora de su visita al centro de atención."}
    assert accion(api, pausado, "observacion", munilima, pedido).status_code == 200
    esperar_entrada(api, pausado, munilima, lambda e: e["subsanar_hasta"], "el reloj en pausa")
    corriendo = sorted((c for c in mios if c != pausado), key=lambda c: (vence[c], c))

    # Every one, through the cursor, exactly once.
    hojas = paginas(api, "/bandeja", munilima, unidad=UNIDAD, limite=POR_PAGINA)
    assert all(len(hoja) <= POR_PAGINA for hoja in hojas)
    assert len(hojas) >= -(-len(mios) // POR_PAGINA)
    items = [item for hoja in hojas for item in hoja]
    assert len(codigos(items)) == len(set(codigos(items))), "un reclamo en dos páginas"
    leidos = [i for i in items if marca in i["descripcion"]]
    assert sorted(codigos(leidos)) == sorted(mios)
    assert {i["unidad_id"] for i in items} == {UNIDAD}
    for item in leidos:
        assert item["entidad_id"] == "munilima" and item["motivo"] == motivo_de[item["codigo"]]
        if item["codigo"] != pausado:
            assert momento(item["vence_en"]) == vence[item["codigo"]]

    # Most urgent first: running deadlines by vence_en, ties by código; the paused one after.
    assert [c for c in codigos(items) if c in mios and c != pausado] == corriendo
    posicion = {c: k for k, c in enumerate(codigos(items))}
    assert posicion[pausado] > max(posicion[c] for c in corriendo)
    en_orden_de_urgencia(items)

    # Filters, each read through the cursor too.
    def filtrado(cabeceras=munilima, **filtros) -> list[dict]:
        return todos(api, "/bandeja", cabeceras, limite=POR_PAGINA, **filtros)

    def de_los_mios(listado: list[dict]) -> set[str]:
        return {c for c in codigos(listado) if c in mios}

    por_motivo = filtrado(unidad=UNIDAD, motivo="disponibilidad")
    assert {i["motivo"] for i in por_motivo} == {"disponibilidad"}
    assert de_los_mios(por_motivo) == {c for c in mios if motivo_de[c] == "disponibilidad"}

    observados = filtrado(unidad=UNIDAD, estado="observado")
    assert {i["estado"] for i in observados} == {"observado"}
    assert de_los_mios(observados) == {pausado}

    derivados = filtrado(unidad=UNIDAD, estado="derivado")
    assert {i["estado"] for i in derivados} == {"derivado"}
    assert [c for c in codigos(derivados) if c in mios] == corriendo
    en_orden_de_urgencia(derivados)

    tope = max(vence[r.codigo] for r in primeros) + timedelta(seconds=1)
    pronto = filtrado(unidad=UNIDAD, vence_antes=tope.isoformat())
    assert all(momento(i["vence_en"]) < tope for i in pronto)
    assert de_los_mios(pronto) - {pausado} == {r.codigo for r in primeros} - {pausado}

    assert de_los_mios(filtrado(unidad=UNIDAD, vencido="false")) == set(mios)
    assert de_los_mios(filtrado(unidad=UNIDAD, vencido="true")) == set()

    # A key of the unit reads the same, in the same order.
    de_la_unidad = clave_de_unidad(plataforma, "munilima", UNIDAD)
    assert codigos(filtrado(de_la_unidad)) == codigos(items)

    # The supervisor: the same across entities, or for one entity.
    assert codigos(filtrado(supervisor, entidad="munilima", unidad=UNIDAD)) == codigos(items)
    todas = filtrado(supervisor, motivo="disponibilidad")
    assert len(codigos(todas)) == len(set(codigos(todas)))
    assert {i["motivo"] for i in todas} == {"disponibilidad"}
    assert de_los_mios(todas) == {c for c in mios if motivo_de[c] == "disponibilidad"}
    en_orden_de_urgencia(todas)


def en_orden_de_urgencia(items: list[dict]) -> None:
    """Running deadlines first, by vence_en then código; those without one (not computed yet,
    or paused waiting for a subsanación) after all of them."""
    corre = [k for k, i in enumerate(items) if i["estado"] in CORRIENDO and i["vence_en"]]
    claves = [(momento(items[k]["vence_en"]), items[k]["codigo"]) for k in corre]
    assert claves == sorted(claves), claves
    sin_plazo = [k for k, i in enumerate(items) if i["estado"] == "observado" or not i["vence_en"]]
    if corre and sin_plazo:
        assert max(corre) < min(sin_plazo), [(i["codigo"], i["estado"]) for i in items]
