"""The citizen's timeline (issue 6): every event of the procedure that registro consumes reaches
it through the real broker and becomes one Spanish entry, dates in Lima; the state, the entity,
the deadline, the overdue flag and the survey link in tracking follow the events by their time,
whatever order and however many times the bus delivers them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from comun import reloj
from comun.bus import Consumidor, Publicador, Topologia, declarar
from comun.eventos import (
    Datos,
    EncuestaCreada,
    Evento,
    Intervencion,
    PlazoAviso,
    PlazoCalculado,
    PlazoRecalculado,
    ReclamoArchivado,
    ReclamoCerrado,
    ReclamoObservado,
    ReclamoReasignado,
    ReclamoRespondido,
    ReclamoTrasladado,
    SubsanacionAbierta,
    nuevo_evento,
)
from comun.tiempo import dia_en_lima
from tests import esperas
from tests.integracion.ciudadano import Ciudadano

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]


class Bus:
    """Publishes to registro's queue on the real broker; a running consumer applies them."""

    def __init__(self, registro: Ciudadano, publicador: Publicador) -> None:
        self.registro = registro
        self.publicador = publicador

    def evento(self, tipo: str, datos: Datos, codigo: str, **kw) -> Evento:
        return nuevo_evento(tipo, datos, fuente="prueba", codigo=codigo, **kw)

    def entregar(self, *eventos: Evento) -> None:
        """Publishes each event (some twice, as a redelivery would) and waits until applied."""
        for evento in eventos:
            self.publicador.publicar(evento)
        self.publicador.publicar(eventos[0])  # a duplicate
        ids = [e.id for e in eventos]
        esperas.esperar(
            lambda: self.registro.db.procesados.count_documents({"_id": {"$in": ids}}) == len(ids),
            "registro aplica los eventos",
        )


@pytest.fixture
def bus(registro: Ciudadano, amqp_url, bus_nombre, canal) -> Iterator[Bus]:
    topo = Topologia(bus_nombre, retraso_reintento_ms=200)
    declarar(canal, topo, "registro", registro.despachador.claves)
    consumidor = Consumidor(
        amqp_url, topo, "registro", registro.despachador.claves, registro.despachador
    )
    parar = threading.Event()
    hilo = threading.Thread(target=consumidor.correr, args=(parar,), daemon=True)
    hilo.start()
    publicador = Publicador(amqp_url, topo)
    try:
        yield Bus(registro, publicador)
    finally:
        publicador.cerrar()
        parar.set()
        hilo.join(timeout=10)
    # Nothing was parked: every event was handled.
    assert canal.basic_get(topo.cola_parking("registro"), auto_ack=True)[0] is None


def lineas(visto: dict) -> list[str]:
    return [h["texto"] for h in visto["historial"]]


def un_dia(texto: str) -> datetime:
    """A moment whose Lima date is `texto` (dd/mm/aaaa) at noon."""
    dia = datetime.strptime(texto, "%d/%m/%Y")
    return dia.replace(hour=17, tzinfo=UTC)  # 12:00 in Lima


def test_todo_el_procedimiento_en_el_historial(registro: Ciudadano, bus: Bus):
    codigo = registro.presentar()
    t0 = reloj.ahora()

    def en(paso: int) -> datetime:
        return t0 + timedelta(milliseconds=10 * paso)  # the store keeps milliseconds

    # Deadline, reasignación, observación (the answer of plazos may arrive first).
    observado = bus.evento(
        "reclamo.observado",
        ReclamoObservado(
            entidad_id="sunat", unidad_id="fiscalizacion", observacion="Indique la fecha exacta."
        ),
        codigo,
        ocurrido_en=en(3),
    )
    bus.entregar(
        bus.evento(
            "plazo.calculado",
            PlazoCalculado(
                entidad_id="sunat",
                fecha_recepcion=un_dia("02/12/2026").date(),
                vence_en=un_dia("14/01/2027"),
                dias_habiles=30,
            ),
            codigo,
            ocurrido_en=en(1),
        ),
        bus.evento(
            "reclamo.reasignado",
            ReclamoReasignado(
                entidad_id="sunat",
                unidad_anterior_id="atencion",
                unidad_id="fiscalizacion",
                unidad_nombre="Fiscalización",
                razon="Corresponde a fiscalización.",
            ),
            codigo,
            ocurrido_en=en(2),
        ),
        bus.evento(
            "plazo.subsanacion_abierta",
            SubsanacionAbierta(
                entidad_id="sunat",
                observacion_id=observado.id,
                subsanar_hasta=reloj.ahora() + timedelta(days=2),
                dias_habiles=2,
                reloj_pausado=True,
            ),
            codigo,
            ocurrido_en=en(4),
        ),
        observado,
    )
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "observado"
    assert visto["vence_en"] == un_dia("14/01/2027").isoformat()
    assert visto["observacion"] == "Indique la fecha exacta."
    assert visto["reloj_pausado"] is True
    hasta = datetime.fromisoformat(visto["subsanar_hasta"])
    texto = lineas(visto)
    assert "Su reclamo fue reasignado a: Fiscalización." in texto
    assert (
        "La entidad necesita más información para atender su reclamo: Indique la fecha exacta."
        in texto
    )
    assert (
        f"Tiene hasta el {dia_en_lima(hasta)} para subsanar su reclamo. Mientras tanto, el plazo "
        "de respuesta de la entidad queda suspendido." in texto
    )
    assert [h["estado"] for h in visto["historial"]].count("derivado") == 2  # derivado, reasignado

    time.sleep(max(0.0, (en(5) - reloj.ahora()).total_seconds()))  # the citizen answers later
    assert registro.subsanar(codigo).status_code == 200

    # Two recalculations delivered newest first: the newer deadline stays. Then the traslado.
    bus.entregar(
        bus.evento(
            "plazo.recalculado",
            PlazoRecalculado(
                entidad_id="sunat",
                vence_en=un_dia("18/01/2027"),
                vence_antes=un_dia("14/01/2027"),
                razon="subsanacion",
            ),
            codigo,
            ocurrido_en=reloj.ahora() + timedelta(seconds=2),
        ),
        bus.evento(
            "plazo.recalculado",
            PlazoRecalculado(
                entidad_id="sunat",
                vence_en=un_dia("15/01/2027"),
                vence_antes=un_dia("14/01/2027"),
                razon="calendario",
            ),
            codigo,
            ocurrido_en=en(5),
        ),
        bus.evento(
            "reclamo.trasladado",
            ReclamoTrasladado(
                entidad_anterior_id="sunat",
                entidad_id="minsa",
                entidad_nombre="Ministerio de Salud",
                razon="El hecho ocurrió en un hospital.",
            ),
            codigo,
            ocurrido_en=reloj.ahora() + timedelta(seconds=3),
        ),
    )
    visto = registro.seguir(codigo).get_json()
    assert visto["vence_en"] == un_dia("18/01/2027").isoformat()
    assert visto["entidad"] == {"id": "minsa", "nombre": "Ministerio de Salud"}
    assert visto["estado"] == "derivado"
    assert visto["observacion"] is None and visto["reloj_pausado"] is False
    texto = lineas(visto)
    assert any(t.startswith("Nuevo plazo de respuesta: hasta el 18/01/2027") for t in texto)
    assert any(t.startswith("Nuevo plazo de respuesta: hasta el 15/01/2027") for t in texto)
    traslado = next(h for h in visto["historial"] if h["estado"] == "trasladado")
    assert traslado["texto"] == (
        "Su reclamo fue trasladado a Ministerio de Salud, la entidad competente para atenderlo. "
        "Motivo: El hecho ocurrió en un hospital."
    )

    # Overdue, SGP intervenes, answered, survey offered in tracking, then closed.
    vence_encuesta = un_dia("20/02/2027")
    t1 = reloj.ahora() + timedelta(seconds=4)
    bus.entregar(
        bus.evento(
            "plazo.vencido",
            PlazoAviso(entidad_id="minsa", vence_en=un_dia("18/01/2027"), dias_habiles_restantes=0),
            codigo,
            ocurrido_en=t1,
        ),
        bus.evento(
            "supervision.intervencion",
            Intervencion(entidad_id="minsa", nota="Atienda el reclamo en 48 horas."),
            codigo,
            ocurrido_en=t1 + timedelta(seconds=1),
        ),
        bus.evento(
            "reclamo.respondido",
            ReclamoRespondido(entidad_id="minsa", respuesta="Atendido.", respondido_en=t1),
            codigo,
            ocurrido_en=t1 + timedelta(seconds=2),
        ),
        bus.evento(
            "encuesta.creada",
            EncuestaCreada(entidad_id="minsa", token="t" * 32, vence_en=vence_encuesta),
            codigo,
            ocurrido_en=t1 + timedelta(seconds=3),
        ),
    )
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "respondido"
    assert visto["vencido"] is True
    assert visto["encuesta"] == f"https://reclamos.example.pe/api/v1/encuestas/{'t' * 32}"
    texto = lineas(visto)
    assert (
        "El plazo de respuesta venció el 18/01/2027 sin que la entidad respondiera su reclamo."
        in texto
    )
    assert (
        "La Secretaría de Gestión Pública intervino ante la entidad para que atienda su reclamo."
        in texto
    )
    assert (
        "Ya puede calificar la atención de su reclamo en la encuesta de satisfacción, hasta el "
        "20/02/2027; el enlace aparece en este seguimiento." in texto
    )
    assert "Atienda el reclamo" not in " ".join(texto)  # the note is for the entity

    bus.entregar(
        bus.evento(
            "reclamo.cerrado",
            ReclamoCerrado(entidad_id="minsa", motivo="encuesta_respondida"),
            codigo,
            ocurrido_en=t1 + timedelta(seconds=4),
        )
    )
    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "cerrado"
    assert visto["encuesta"] is None

    # One entry per event (duplicates included), every step there.
    assert len(visto["historial"]) == 15
    assert [h["estado"] for h in visto["historial"] if h["estado"]] == [
        "registrado",
        "derivado",
        "derivado",
        "observado",
        "subsanado",
        "trasladado",
        "respondido",
        "cerrado",
    ]


def test_archivado_por_no_subsanar(registro: Ciudadano, bus: Bus):
    codigo = registro.presentar()
    registro.observar(codigo)

    bus.entregar(
        bus.evento(
            "reclamo.archivado",
            ReclamoArchivado(entidad_id="sunat", razon="subsanacion_vencida"),
            codigo,
        )
    )

    visto = registro.seguir(codigo).get_json()
    assert visto["estado"] == "archivado"
    assert visto["observacion"] is None and visto["subsanar_hasta"] is None
    ultimo = visto["historial"][-1]
    assert ultimo["estado"] == "archivado"
    assert "puede presentar un nuevo reclamo" in ultimo["texto"]
    assert registro.subsanar(codigo).status_code == 409
    assert registro.desistir(codigo).status_code == 409


def test_el_enlace_de_la_encuesta_se_oculta_al_vencer(
    registro: Ciudadano,
    bus: Bus,
    reloj_archivo,
):
    codigo = registro.presentar()
    bus.entregar(
        bus.evento(
            "reclamo.respondido",
            ReclamoRespondido(
                entidad_id="sunat", respuesta="Atendido.", respondido_en=reloj.ahora()
            ),
            codigo,
        ),
        bus.evento(
            "encuesta.creada",
            EncuestaCreada(
                entidad_id="sunat", token="u" * 32, vence_en=reloj.ahora() + timedelta(days=30)
            ),
            codigo,
        ),
    )
    assert registro.seguir(codigo).get_json()["encuesta"].endswith("u" * 32)

    reloj.adelantar(reloj_archivo, dias=31)

    assert registro.seguir(codigo).get_json()["encuesta"] is None
