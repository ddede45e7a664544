"""Report figures (issue 8): the pure parts. Expected values computed here independently."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import UTC, datetime

import pytest

from comun import cifras
from gateway.rutas.publico import indicador
from gateway.rutas.reportes import mediana, meses_atras, quiere_csv, rango
from servicios.derivacion.cifras import aporte as aporte_derivacion
from servicios.derivacion.cifras import nivel_de_reporte
from servicios.encuestas.cifras import aporte as aporte_encuesta
from servicios.plazos.cifras import aporte as aporte_plazo


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 500, 501])
def test_la_mediana_del_histograma_es_la_exacta(n):
    azar = random.Random(n)
    valores = [azar.randint(0, 300) for _ in range(n)]
    assert mediana(Counter(valores)) == statistics.median(valores)


def test_mediana_sin_datos():
    assert mediana({}) is None
    assert mediana({4: 0}) is None


def test_el_mes_es_el_de_lima():
    # 2026-03-01 03:00 UTC is still 28 Feb in Lima (UTC-5).
    assert cifras.mes_de(datetime(2026, 3, 1, 3, 0, tzinfo=UTC)) == "2026-02"
    assert cifras.mes_de(datetime(2026, 3, 1, 6, 0)) == "2026-03"  # naive: UTC as stored


def test_aporte_de_derivacion():
    doc = {
        "entidad_id": "minsa",
        "unidad_id": "integridad",
        "registrado_en": datetime(2026, 1, 10, 15, tzinfo=UTC),
        "estado": "en_atencion",
        "motivo": "trato",
        "canal": "presencial",
        "vencido": True,
    }
    a = aporte_derivacion(doc)
    assert (a.entidad, a.unidad, a.mes) == ("minsa", "integridad", "2026-01")
    assert a.valores == {
        "recibidos": 1,
        "motivo:trato": 1,
        "canal:presencial": 1,
        "estado:en_atencion": 1,
        "abiertos": 1,
        "vencidos_abiertos": 1,
    }
    assert aporte_derivacion({**doc, "estado": "respondido"}).valores["vencidos_abiertos"] == 0
    assert aporte_derivacion({"_id": "x", "vence_en": 1}) is None  # before registration


def test_aporte_de_plazos_y_encuestas():
    plazo = {
        "entidad_id": "minsa",
        "unidad": {"entidad_id": "minsa", "id": "u"},
        "respondido_en": datetime(2026, 2, 3, tzinfo=UTC),
        "dentro_del_plazo": False,
        "dias_habiles_usados": 31,
    }
    a = aporte_plazo(plazo)
    assert a.unidad == "u" and a.mes == "2026-02"
    assert a.valores == {"respondidos": 1, "a_tiempo": 0, "dias_suma": 31, "dias:31": 1}
    assert aporte_plazo({**plazo, "unidad": {"entidad_id": "otra", "id": "u"}}).unidad == "-"
    assert aporte_plazo({"entidad_id": "minsa"}) is None
    encuesta = {
        "entidad_id": "minsa",
        "estado": "respondida",
        "respondida_en": datetime(2026, 2, 3, tzinfo=UTC),
        "respuesta": {"satisfaccion": 4, "resuelto": True, "impulsores": {"trato": 5}},
    }
    e = aporte_encuesta(encuesta)
    assert e.valores == {
        "encuestas": 1,
        "satisfaccion_suma": 4,
        "resueltos": 1,
        "impulsores:trato:suma": 5,
        "impulsores:trato:n": 1,
    }
    assert aporte_encuesta({**encuesta, "estado": "pendiente"}) is None


def test_nivel_de_reporte():
    assert nivel_de_reporte({"tipo": "consulado", "nivel": "nacional", "pais": "ES"}) == "consulado"
    assert nivel_de_reporte({"tipo": "oficina", "nivel": "nacional", "pais": "AR"}) == "consulado"
    assert nivel_de_reporte({"tipo": "municipalidad", "nivel": "local", "pais": "PE"}) == "local"


def test_el_alcance_se_vuelve_a_aplicar_en_el_servicio():
    args = {"desde": "2026-01", "hasta": "2026-03"}
    p = cifras.pedido({**args, "entidades": "otra"}, "supervisor", None, None)
    assert p.entidades == ["otra"]
    with pytest.raises(PermissionError):
        cifras.pedido({**args, "entidades": "otra"}, "entidad", "minsa", None)
    p = cifras.pedido(args, "entidad", "minsa", "u1")
    assert (p.entidades, p.unidad) == (["minsa"], "u1")
    p = cifras.pedido({**args, "entidades": "minsa", "unidad": "u1"}, "ciudadano", None, None)
    assert p.unidad is None  # open data: entity totals only
    with pytest.raises(ValueError):
        cifras.pedido({"desde": "2026-04", "hasta": "2026-03"}, "supervisor", None, None)


def test_rango_y_formato():
    assert meses_atras("2026-03", 11) == "2025-04"
    assert rango("2025-01", "2025-12") == ("2025-01", "2025-12")
    with pytest.raises(ValueError):
        rango("2026-02", "2026-01")
    assert quiere_csv(None, "text/csv")
    assert not quiere_csv(None, "application/json")


def test_datos_abiertos_muestran_rangos_para_pocos_reclamos():
    pocos = indicador("e", "E", "2026-01", {"recibidos": 4, "respondidos": 4, "a_tiempo": 4})
    assert pocos["recibidos"] == "< 5" and pocos["respondidos"] == "< 5"
    assert pocos["porcentaje_a_tiempo"] is None and pocos["dias_habiles_promedio"] is None
    muchos = indicador(
        "e", "E", "2026-01", {"recibidos": 7, "respondidos": 5, "a_tiempo": 4, "dias_suma": 51}
    )
    assert muchos["recibidos"] == 7
    assert muchos["porcentaje_a_tiempo"] == 80.0 and muchos["dias_habiles_promedio"] == 10.2
    assert indicador("e", "E", "2026-01", {})["recibidos"] == 0


def test_el_mes_siguiente():
    assert cifras.siguiente("2026-12") == "2027-01"
    assert cifras.siguiente("2026-01") == "2026-02"


def test_las_cifras_derivadas_de_las_sumas_de_los_servicios():
    from gateway.rutas.reportes import cifras as derivar

    dias = [0, 3, 3, 7, 12, 30]
    sumas = {"respondidos": len(dias), "a_tiempo": 5, "dias_suma": sum(dias)}
    for d in dias:
        sumas[f"dias:{d}"] = sumas.get(f"dias:{d}", 0) + 1
    sumas |= {"encuestas": 3, "satisfaccion_suma": 10, "resueltos": 2, "motivo:trato": 4}
    sumas |= {"impulsores:trato:suma": 12, "impulsores:trato:n": 3}
    c = derivar(sumas)
    assert c["dias_habiles_mediana"] == statistics.median(dias)
    assert c["dias_habiles_promedio"] == round(statistics.mean(dias), 2)
    assert c["porcentaje_a_tiempo"] == round(100 * 5 / 6, 1)
    assert c["satisfaccion"] == round(10 / 3, 2) and c["porcentaje_resuelto"] == round(200 / 3, 1)
    assert c["por_motivo"]["trato"] == 4 and c["impulsores"]["trato"] == 4.0
    assert c["impulsores"]["acceso"] is None
