"""derivacion against the real store and broker (issue 6): its Flask app through Flask's test
client, and its handlers fed through RabbitMQ to a real Consumidor + Despachador. The bandeja
read whole through the cursor, its filters, every disallowed transition (409), concurrent
transitions, reasignación, observación, traslado, and the handlers' tolerance to order and
repetition."""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pika
import pytest
from flask import Flask
from pymongo.database import Database

from comun import reloj
from comun import servicio as servicio_comun
from comun.bus import Consumidor, Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.eventos import (
    Contacto,
    EncuestaRespondida,
    EncuestaVencida,
    Evento,
    PlazoAviso,
    PlazoCalculado,
    PlazoDetenido,
    PlazoRecalculado,
    ReclamoDesistido,
    ReclamoRegistrado,
    ReclamoSubsanado,
    SubsanacionAbierta,
    SubsanacionVencida,
    nuevo_evento,
)
from comun.metricas import Metricas
from comun.outbox import Relay
from comun.tiempo import LIMA
from servicios.derivacion.dominio import puede
from servicios.derivacion.manejadores import manejadores
from tests.esperas import esperar
from tests.integracion.servicios import app_de_servicio, como

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(180)]

ALFABETO = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BASE = datetime(2027, 1, 4, 4, 59, 59, tzinfo=UTC)  # a deadline: 23:59:59 Lima


def nuevo_codigo() -> str:
    return "R-" + "-".join("".join(random.choices(ALFABETO, k=4)) for _ in range(3))


def unidad(uid: str, nombre: str) -> dict:
    return {
        "id": uid,
        "nombre": nombre,
        "responsable": {"nombre": "Titular", "email": f"{uid}@ejemplo.pe"},
        "alterno": {"nombre": "Alterno", "email": f"{uid}.alterno@ejemplo.pe"},
    }


MINSA = {
    "id": "minsa",
    "nombre": "Ministerio de Salud",
    "tipo": "ministerio",
    "unidades": [
        unidad("ogc", "Oficina de Gestión del Ciudadano"),
        unidad("farmacia", "Dirección de Farmacia"),
        unidad("rrhh", "Recursos Humanos"),
    ],
    "reglas": [{"motivo": "infraestructura", "unidad": "farmacia"}],
    "unidad_por_defecto": "ogc",
}
SUNAT = {
    "id": "sunat",
    "nombre": "Superintendencia Nacional de Aduanas",
    "tipo": "organismo",
    "unidades": [unidad("mesa", "Mesa de Partes"), unidad("tributos", "Tributos Internos")],
    "unidad_por_defecto": "mesa",
}


# --- events as the other services publish them --------------------------------------------------


def registrado(codigo: str, entidad: str = "minsa", motivo: str = "trato") -> Evento:
    datos = ReclamoRegistrado(
        entidad_id=entidad,
        canal="virtual",
        motivo=motivo,
        ocurrido_en=reloj.ahora() - timedelta(days=1),
        registrado_en=reloj.ahora(),
        descripcion="Me atendieron mal en ventanilla.",
        pedido="Que me atiendan bien.",
        medio_respuesta="email",
        contacto=Contacto(
            tipo_documento="dni",
            numero_documento="12345678",
            nombres="Rosa",
            apellidos="Quispe",
            email="rosa@ejemplo.pe",
        ),
    )
    return nuevo_evento("reclamo.registrado", datos, fuente="registro", codigo=codigo)


def calculado(codigo: str, vence_en: datetime, entidad: str = "minsa", **kw) -> Evento:
    datos = PlazoCalculado(
        entidad_id=entidad, fecha_recepcion=BASE.date(), vence_en=vence_en, dias_habiles=30
    )
    return nuevo_evento("plazo.calculado", datos, fuente="plazos", codigo=codigo, **kw)


def recalculado(codigo: str, vence_en: datetime, razon: str = "calendario", **kw) -> Evento:
    datos = PlazoRecalculado(entidad_id="minsa", vence_en=vence_en, razon=razon)
    return nuevo_evento("plazo.recalculado", datos, fuente="plazos", codigo=codigo, **kw)


def vencido(codigo: str, entidad: str = "minsa", **kw) -> Evento:
    datos = PlazoAviso(entidad_id=entidad, vence_en=BASE, dias_habiles_restantes=0)
    return nuevo_evento("plazo.vencido", datos, fuente="plazos", codigo=codigo, **kw)


def abierta(codigo: str, observacion_id: str, hasta: datetime, pausado: bool = True) -> Evento:
    datos = SubsanacionAbierta(
        entidad_id="minsa",
        observacion_id=observacion_id,
        subsanar_hasta=hasta,
        dias_habiles=2,
        reloj_pausado=pausado,
    )
    return nuevo_evento("plazo.subsanacion_abierta", datos, fuente="plazos", codigo=codigo)


def subsanacion_vencida(codigo: str, hasta: datetime) -> Evento:
    datos = SubsanacionVencida(entidad_id="minsa", subsanar_hasta=hasta)
    return nuevo_evento("plazo.subsanacion_vencida", datos, fuente="plazos", codigo=codigo)


def subsanado(codigo: str) -> Evento:
    datos = ReclamoSubsanado(
        entidad_id="minsa",
        texto="Adjunto la boleta que faltaba.",
        adjuntos=[{"nombre": "boleta.pdf", "tipo_mime": "application/pdf", "bytes": 2048}],
    )
    return nuevo_evento("reclamo.subsanado", datos, fuente="registro", codigo=codigo)


def desistido(codigo: str, **kw) -> Evento:
    datos = ReclamoDesistido(entidad_id="minsa", razon="Ya me atendieron.")
    return nuevo_evento("reclamo.desistido", datos, fuente="registro", codigo=codigo, **kw)


def encuesta_respondida(codigo: str) -> Evento:
    datos = EncuestaRespondida(
        entidad_id="minsa", satisfaccion=4, resuelto=True, impulsores={"trato": 4}
    )
    return nuevo_evento("encuesta.respondida", datos, fuente="encuestas", codigo=codigo)


def encuesta_vencida(codigo: str) -> Evento:
    datos = EncuestaVencida(entidad_id="minsa")
    return nuevo_evento("encuesta.vencida", datos, fuente="encuestas", codigo=codigo)


def detenido(codigo: str, a_tiempo: bool) -> Evento:
    datos = PlazoDetenido(
        entidad_id="minsa",
        detenido_en=BASE,
        dias_habiles_usados=12,
        dentro_del_plazo=a_tiempo,
    )
    return nuevo_evento("plazo.detenido", datos, fuente="plazos", codigo=codigo)


# --- the service under test ---------------------------------------------------------------------


@dataclass
class Derivacion:
    app: Flask
    db: Database
    publicador: Publicador
    relay: Relay
    canal: object
    topo: Topologia
    espia: str
    vistos: Counter = field(default_factory=Counter)

    def cabeceras(
        self, rol: str = "entidad", entidad: str | None = "minsa", unidad: str | None = None
    ) -> dict:
        return como(rol, entidad if rol == "entidad" else None, unidad)

    def get(self, ruta: str, quien: dict | None = None, **params):
        return self.app.test_client().get(
            ruta, headers=quien or self.cabeceras(), query_string=params
        )

    def post(self, ruta: str, json: dict | None = None, quien: dict | None = None, clave=None):
        cabeceras = dict(quien or self.cabeceras())
        if clave:
            cabeceras["Idempotency-Key"] = clave
        return self.app.test_client().post(ruta, json=json, headers=cabeceras)

    def publicar(self, *eventos: Evento, veces: int = 1) -> None:
        """Through the broker; returns once the consumer has handled each one (`veces` times)."""
        for evento in eventos:
            for _ in range(veces):
                self.publicador.publicar(evento)
        for evento in eventos:
            esperar(
                lambda evento=evento: self.vistos[evento.id] >= veces,
                f"derivacion atiende {evento.tipo} {evento.codigo}",
            )

    def doc(self, codigo: str) -> dict:
        return self.db.bandeja.find_one({"_id": codigo})

    def emitidos(self, codigo: str, tipo: str | None = None) -> list[dict]:
        filtro = {"evento.codigo": codigo, **({"evento.tipo": tipo} if tipo else {})}
        return [d["evento"] for d in self.db.outbox.find(filtro).sort("orden", 1)]

    def recorrer(self, quien: dict | None = None, **params) -> tuple[list[dict], list[int]]:
        """Every page of GET /bandeja, following `siguiente` until null."""
        items, tamanos, cursor = [], [], None
        for _ in range(1000):
            r = self.get("/bandeja", quien, **params, **({"cursor": cursor} if cursor else {}))
            assert r.status_code == 200, r.json
            items += r.json["items"]
            tamanos.append(len(r.json["items"]))
            cursor = r.json["siguiente"]
            if cursor is None:
                return items, tamanos
        raise AssertionError("el cursor no termina")

    def tomar_espia(self) -> list[dict]:
        recibidos = []
        while True:
            metodo, _, cuerpo = self.canal.basic_get(self.espia, auto_ack=True)
            if metodo is None:
                return recibidos
            recibidos.append(Evento.model_validate_json(cuerpo).model_dump(mode="json"))

    # Bring a reclamo to a state as the platform would.
    def registrar(self, codigo: str | None = None, **kw) -> str:
        codigo = codigo or nuevo_codigo()
        self.publicar(registrado(codigo, **kw))
        return codigo

    def llevar_a(self, estado: str) -> str:
        codigo = self.registrar()
        if estado == "derivado":
            pass
        elif estado == "en_atencion":
            assert self.post(f"/bandeja/{codigo}/atencion").status_code == 200
        elif estado in {"observado", "subsanado", "archivado"}:
            self.observar(codigo)
            if estado == "subsanado":
                self.publicar(subsanado(codigo))
            elif estado == "archivado":
                hasta = BASE + timedelta(days=2)
                self.publicar(abierta(codigo, self.doc(codigo)["observacion_id"], hasta))
                self.publicar(subsanacion_vencida(codigo, hasta))
        elif estado in {"respondido", "cerrado"}:
            self.responder(codigo)
            if estado == "cerrado":
                self.publicar(encuesta_respondida(codigo))
        elif estado == "desistido":
            self.publicar(desistido(codigo))
        assert self.doc(codigo)["estado"] == estado
        return codigo

    def observar(self, codigo: str, quien: dict | None = None):
        texto = {"observacion": "Falta adjuntar la boleta de pago."}
        r = self.post(f"/bandeja/{codigo}/observacion", texto, quien)
        assert r.status_code == 200, r.json
        return r

    def responder(self, codigo: str, quien: dict | None = None):
        texto = {"texto": "Se corrigió la atención en ventanilla."}
        r = self.post(f"/bandeja/{codigo}/respuesta", texto, quien)
        assert r.status_code == 200, r.json
        return r


@contextlib.contextmanager
def _corriendo(consumidor: Consumidor) -> Iterator[None]:
    parar = threading.Event()
    hilo = threading.Thread(target=consumidor.correr, args=(parar,), daemon=True)
    hilo.start()
    try:
        yield
    finally:
        parar.set()
        hilo.join(timeout=15)


@pytest.fixture
def derivacion(monkeypatch, mongo_url, amqp_url, bus_nombre, topo, db) -> Iterator[Derivacion]:
    # The service's JSON logs would replace pytest's capture.
    monkeypatch.setattr(servicio_comun, "configurar_logs", lambda *a, **k: None)
    app = app_de_servicio(
        monkeypatch, "derivacion", db, mongo_url, amqp_url, bus_nombre, RELOJ_ARCHIVO=None
    )

    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    canal = conexion.channel()
    # The worker's handlers, fed by the broker; an extra queue sees what the relay publishes.
    tabla = manejadores(db)
    despachador = Despachador(db, "derivacion", tabla, Metricas("derivacion"))
    declarar(canal, topo, "derivacion", despachador.claves)
    espia = bus_nombre.servicio("espia")
    declarar(canal, topo, espia, ["reclamo.*", "catalogo.*"])
    publicador = Publicador(amqp_url, topo)
    vistos: Counter = Counter()

    def procesar(evento: Evento, datos) -> None:
        despachador(evento, datos)
        vistos[evento.id] += 1

    servicio = Derivacion(
        app,
        db,
        publicador,
        Relay(db, publicador, Metricas("derivacion")),
        canal,
        topo,
        topo.cola(espia),
        vistos,
    )
    operador = como("operador")
    for entidad in (MINSA, SUNAT):
        r = app.test_client().put(
            f"/catalogo/entidades/{entidad['id']}", json=entidad, headers=operador
        )
        assert r.status_code == 200, r.json
    consumidor = Consumidor(amqp_url, topo, "derivacion", despachador.claves, procesar)
    try:
        with _corriendo(consumidor):
            yield servicio
    finally:
        publicador.cerrar()
        with contextlib.suppress(Exception):
            conexion.close()


# --- the bandeja: every reclamo once, most urgent first -----------------------------------------


def _orden(esperado: dict[str, datetime | None]) -> list[str]:
    corren = sorted((v, c) for c, v in esperado.items() if v is not None)
    return [c for _, c in corren] + sorted(c for c, v in esperado.items() if v is None)


def test_bandeja_se_lee_entera_por_el_cursor_la_mas_urgente_primero(derivacion):
    esperado: dict[str, datetime | None] = {}
    eventos: list[Evento] = []
    for i in range(60):
        codigo = nuevo_codigo()
        # Several share a deadline (ties go by código); every sixth has none yet.
        vence = None if i % 6 == 0 else BASE + timedelta(days=i % 7)
        esperado[codigo] = vence
        if vence is None:
            eventos.append(registrado(codigo))
        elif i % 2:  # the deadline may arrive before the registration
            eventos += [calculado(codigo, vence), registrado(codigo)]
        else:
            eventos += [registrado(codigo), calculado(codigo, vence)]
    otros = {nuevo_codigo() for _ in range(5)}
    derivacion.publicar(*eventos, *(registrado(c, entidad="sunat") for c in otros))

    contados = derivacion.db.bandeja.count_documents({"entidad_id": "minsa"})
    assert contados == len(esperado) == 60  # more than the default page (50)

    for limite in ({}, {"limite": 7}, {"limite": 200}):
        items, tamanos = derivacion.recorrer(**limite)
        codigos = [e["codigo"] for e in items]
        assert codigos == _orden(esperado), limite  # each once, in order of urgency
        por_pagina = limite.get("limite", 50)
        assert all(t == por_pagina for t in tamanos[:-1])
        assert sum(tamanos) == contados
    assert derivacion.recorrer()[1] == [50, 10]

    # The supervisor: the same across entities, or for one entity.
    supervisor = derivacion.cabeceras("supervisor")
    todos, _ = derivacion.recorrer(supervisor, limite=9)
    assert [e["codigo"] for e in todos if e["entidad_id"] == "minsa"] == _orden(esperado)
    assert {e["codigo"] for e in todos} == set(esperado) | otros
    assert len(todos) == derivacion.db.bandeja.count_documents({"entidad_id": {"$exists": 1}})
    solo, _ = derivacion.recorrer(supervisor, entidad="sunat", limite=2)
    assert {e["codigo"] for e in solo} == otros
    # An entity's key ignores `entidad`: it sees only its own.
    propios, _ = derivacion.recorrer(entidad="sunat")
    assert {e["codigo"] for e in propios} == set(esperado)


def test_bandeja_filtros_con_cursor(derivacion):
    d = derivacion
    # farmacia by the motivo rule; the rest to ogc (default).
    infra = [d.registrar(motivo="infraestructura") for _ in range(3)]
    trato = [d.registrar() for _ in range(5)]
    plazos = {c: BASE + timedelta(days=i) for i, c in enumerate(infra + trato)}
    d.publicar(*(calculado(c, v) for c, v in plazos.items()))
    atendidos = trato[:2]
    for c in atendidos:
        assert d.post(f"/bandeja/{c}/atencion").status_code == 200
    vencidos = [infra[0], trato[3]]
    d.publicar(*(vencido(c) for c in vencidos))

    def codigos(quien=None, **params) -> list[str]:
        return [e["codigo"] for e in d.recorrer(quien, limite=2, **params)[0]]

    orden = _orden(plazos)
    assert codigos(estado="en_atencion") == [c for c in orden if c in atendidos]
    assert codigos(estado="derivado") == [c for c in orden if c not in atendidos]
    assert codigos(unidad="farmacia") == [c for c in orden if c in infra]
    assert codigos(motivo="trato") == [c for c in orden if c in trato]
    assert codigos(vencido="true") == [c for c in orden if c in vencidos]
    assert codigos(vencido="false") == [c for c in orden if c not in vencidos]
    # "vence antes de" a date: deadlines ending before that day starts (Lima).
    dia = (BASE + timedelta(days=3)).astimezone(LIMA).date()
    antes = [c for c in orden if plazos[c].astimezone(LIMA).date() < dia]
    assert 0 < len(antes) < len(orden)
    assert codigos(vence_antes=dia.isoformat()) == antes
    assert codigos(vence_antes=dia.isoformat(), unidad="ogc", estado="derivado") == [
        c for c in antes if c in trato[2:]
    ]

    # A unit-scoped key sees only its unit, whatever it asks for.
    farmacia = d.cabeceras(unidad="farmacia")
    assert codigos(farmacia) == [c for c in orden if c in infra]
    assert codigos(farmacia, unidad="ogc") == []
    assert d.get(f"/bandeja/{trato[0]}", farmacia).status_code == 404

    # Detail: with the history and the flags.
    detalle = d.get(f"/bandeja/{vencidos[0]}").json
    assert detalle["vencido"] is True
    assert [p["estado"] for p in detalle["historial"]][:2] == ["registrado", "derivado"]
    assert d.get("/bandeja").json["items"][0]["historial"] is None  # only in the detail


@pytest.mark.parametrize(
    ("params", "campo"),
    [
        ({"cursor": "no-es-un-cursor"}, "cursor"),
        ({"cursor": "%%%"}, "cursor"),
        ({"limite": 0}, "limite"),
        ({"limite": 201}, "limite"),
        ({"estado": "perdido"}, "estado"),
        ({"vence_antes": "2026-02-30"}, "vence_antes"),
        ({"vencido": "quizas"}, "vencido"),
    ],
)
def test_bandeja_parametros_invalidos_son_422(derivacion, params, campo):
    r = derivacion.get("/bandeja", **params)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "datos_invalidos"
    assert [e["campo"] for e in r.json["detalle"]] == [campo]


def test_bandeja_sin_plazo_corriendo_va_al_final(derivacion):
    d = derivacion
    pausado, corriendo, respondido = d.registrar(), d.registrar(), d.registrar()
    d.publicar(
        calculado(pausado, BASE),
        calculado(corriendo, BASE + timedelta(days=20)),
        calculado(respondido, BASE - timedelta(days=1)),
    )
    d.observar(pausado)
    d.publicar(abierta(pausado, d.doc(pausado)["observacion_id"], BASE + timedelta(days=2)))
    d.responder(respondido)
    items, _ = d.recorrer()
    assert [e["codigo"] for e in items] == [corriendo, *sorted([pausado, respondido])]
    assert items[1 + sorted([pausado, respondido]).index(pausado)]["reloj_pausado"] is True
    # Resumed: its new deadline puts it back in the queue.
    d.publicar(subsanado(pausado))
    d.publicar(recalculado(pausado, BASE + timedelta(days=3), razon="subsanacion"))
    items, _ = d.recorrer()
    assert [e["codigo"] for e in items] == [pausado, corriendo, respondido]
    assert items[0]["reloj_pausado"] is False
    assert items[0]["vence_en"].startswith((BASE + timedelta(days=3)).date().isoformat())


# --- the state machine over HTTP: every disallowed action is a 409 naming the state -------------

ACCIONES_HTTP = {
    "atencion": ("atender", None),
    "respuesta": ("responder", {"texto": "Respuesta completa al ciudadano."}),
    "reasignacion": ("reasignar", {"unidad_id": "rrhh", "razon": "Es de su competencia."}),
    "observacion": ("observar", {"observacion": "Falta indicar la sede del hecho."}),
    "traslado": ("trasladar", {"entidad_id": "sunat", "razon": "Es un tema aduanero."}),
}


@pytest.mark.parametrize(
    "estado",
    [
        "derivado",
        "en_atencion",
        "observado",
        "subsanado",
        "respondido",
        "cerrado",
        "archivado",
        "desistido",
    ],
)
def test_transiciones_no_permitidas_son_409(derivacion, estado):
    codigo = derivacion.llevar_a(estado)
    antes = derivacion.doc(codigo)
    eventos_antes = len(derivacion.emitidos(codigo))
    rechazadas = 0
    for ruta, (accion, cuerpo) in ACCIONES_HTTP.items():
        if puede(estado, accion):
            continue
        r = derivacion.post(f"/bandeja/{codigo}/{ruta}", cuerpo)
        assert r.status_code == 409, (estado, ruta, r.json)
        assert r.json["error"] == "transicion_invalida"
        assert f"Un reclamo en estado {estado} no puede" in r.json["mensaje"]
        rechazadas += 1
    assert rechazadas == sum(not puede(estado, a) for a, _ in ACCIONES_HTTP.values())
    assert derivacion.doc(codigo) == antes  # nothing changed
    assert len(derivacion.emitidos(codigo)) == eventos_antes  # nothing announced


def test_acciones_del_ciudadano_y_plazos_fuera_de_estado_se_ignoran(derivacion):
    d = derivacion
    respondido = d.llevar_a("respondido")
    d.publicar(desistido(respondido), subsanado(respondido))
    assert d.doc(respondido)["estado"] == "respondido"
    cerrado = d.llevar_a("cerrado")
    d.publicar(encuesta_vencida(cerrado), desistido(cerrado))
    assert d.doc(cerrado)["estado"] == "cerrado"
    assert len(d.emitidos(cerrado, "reclamo.cerrado")) == 1  # closed once
    assert d.emitidos(cerrado, "reclamo.cerrado")[0]["datos"]["motivo"] == "encuesta_respondida"
    derivado = d.llevar_a("derivado")
    d.publicar(encuesta_respondida(derivado), subsanacion_vencida(derivado, BASE))
    assert d.doc(derivado)["estado"] == "derivado"


def test_transiciones_concurrentes_una_gana(derivacion):
    d = derivacion
    for otra in ("respuesta", "atencion", "observacion"):
        codigo = d.registrar()
        barrera = threading.Barrier(2)
        estados: list[int] = []

        def intentar(ruta: str, codigo=codigo, barrera=barrera, estados=estados) -> None:
            cuerpo = ACCIONES_HTTP[ruta][1]
            barrera.wait(timeout=10)
            estados.append(d.post(f"/bandeja/{codigo}/{ruta}", cuerpo).status_code)

        hilos = [threading.Thread(target=intentar, args=(r,)) for r in ("respuesta", otra)]
        for h in hilos:
            h.start()
        for h in hilos:
            h.join(timeout=30)
        # Either both may follow one another (atencion then respuesta), or one wins.
        cambios = [e["tipo"] for e in d.emitidos(codigo) if e["tipo"] != "reclamo.derivado"]
        assert len(cambios) == estados.count(200)
        assert estados.count(200) >= 1
        assert set(estados) <= {200, 409}
        if otra == "respuesta":
            assert sorted(estados) == [200, 409]
            assert cambios == ["reclamo.respondido"]


# --- reasignación -------------------------------------------------------------------------------


def test_reasignacion_la_unidad_anterior_deja_de_verlo(derivacion):
    d = derivacion
    codigo = d.registrar()
    ogc, rrhh = d.cabeceras(unidad="ogc"), d.cabeceras(unidad="rrhh")
    assert d.post(f"/bandeja/{codigo}/atencion", quien=ogc).status_code == 200
    assert d.get(f"/bandeja/{codigo}", rrhh).status_code == 404

    for cuerpo, campo in (
        ({"unidad_id": "ogc", "razon": "Misma unidad."}, "unidad_id"),
        ({"unidad_id": "inexistente", "razon": "No existe."}, "unidad_id"),
        ({"unidad_id": "rrhh", "razon": "x"}, "razon"),
    ):
        r = d.post(f"/bandeja/{codigo}/reasignacion", cuerpo, ogc)
        assert r.status_code == 422, r.json
        assert [e["campo"] for e in r.json["detalle"]] == [campo]

    cuerpo = {"unidad_id": "rrhh", "razon": "Trata de personal de la sede."}
    r = d.post(f"/bandeja/{codigo}/reasignacion", cuerpo, ogc, clave="reasignar-1")
    assert r.status_code == 200, r.json
    assert (r.json["unidad_id"], r.json["estado"]) == ("rrhh", "derivado")
    # A retry with the same key gets the same answer, though ogc no longer sees the reclamo.
    otra = d.post(f"/bandeja/{codigo}/reasignacion", cuerpo, ogc, clave="reasignar-1")
    assert (otra.status_code, otra.json) == (200, r.json)

    assert d.get(f"/bandeja/{codigo}", ogc).status_code == 404
    assert codigo not in {e["codigo"] for e in d.recorrer(ogc)[0]}
    assert d.get(f"/bandeja/{codigo}", rrhh).json["unidad_nombre"] == "Recursos Humanos"
    assert codigo in {e["codigo"] for e in d.recorrer(rrhh)[0]}
    reasignados = d.emitidos(codigo, "reclamo.reasignado")
    assert len(reasignados) == 1
    assert reasignados[0]["datos"] == {
        "entidad_id": "minsa",
        "unidad_anterior_id": "ogc",
        "unidad_id": "rrhh",
        "unidad_nombre": "Recursos Humanos",
        "razon": "Trata de personal de la sede.",
    }
    assert d.post(f"/bandeja/{codigo}/atencion", quien=ogc).status_code == 404
    assert d.post(f"/bandeja/{codigo}/atencion", quien=rrhh).status_code == 200


# --- traslado -----------------------------------------------------------------------------------


def test_traslado_pasa_a_la_entidad_competente_con_su_historia(derivacion):
    d = derivacion
    codigo = d.registrar()
    d.publicar(calculado(codigo, BASE))
    assert d.post(f"/bandeja/{codigo}/atencion").status_code == 200
    d.relay.una_vuelta()
    d.tomar_espia()  # what came before the traslado

    for cuerpo in (
        {"entidad_id": "minsa", "razon": "Se queda aquí."},
        {"entidad_id": "inexistente", "razon": "No existe."},
    ):
        r = d.post(f"/bandeja/{codigo}/traslado", cuerpo)
        assert r.status_code == 422, r.json
        assert [e["campo"] for e in r.json["detalle"]] == ["entidad_id"]

    cuerpo = {"entidad_id": "sunat", "razon": "Se trata de un trámite aduanero."}
    r = d.post(f"/bandeja/{codigo}/traslado", cuerpo, clave="traslado-1")
    assert r.status_code == 200, r.json
    assert (r.json["entidad_id"], r.json["unidad_id"], r.json["estado"]) == (
        "sunat",
        "mesa",
        "derivado",
    )
    repetido = d.post(f"/bandeja/{codigo}/traslado", cuerpo, clave="traslado-1")
    assert (repetido.status_code, repetido.json) == (200, r.json)

    # The old entity loses it; the new one sees it, with its history.
    assert d.get(f"/bandeja/{codigo}").status_code == 404
    assert d.post(f"/bandeja/{codigo}/respuesta", ACCIONES_HTTP["respuesta"][1]).status_code == 404
    assert codigo not in {e["codigo"] for e in d.recorrer()[0]}
    sunat = d.cabeceras(entidad="sunat")
    assert [e["codigo"] for e in d.recorrer(sunat)[0]] == [codigo]
    detalle = d.get(f"/bandeja/{codigo}", sunat).json
    pasos = [p["estado"] for p in detalle["historial"]]
    assert pasos[-2:] == ["trasladado", "derivado"]
    assert {"registrado", "en_atencion"} <= set(pasos)
    assert "Se trata de un trámite aduanero." in detalle["historial"][-2]["texto"]
    assert detalle["vence_en"] is not None  # the clock goes on (plazos may recalculate it)

    # Announced in this order, through the broker: trasladado, then derivado at sunat.
    assert d.relay.una_vuelta() == 2
    recibidos = [e for e in d.tomar_espia() if e["codigo"] == codigo]
    assert [e["tipo"] for e in recibidos] == ["reclamo.trasladado", "reclamo.derivado"]
    assert recibidos[0]["datos"] == {
        "entidad_anterior_id": "minsa",
        "entidad_id": "sunat",
        "entidad_nombre": "Superintendencia Nacional de Aduanas",
        "razon": "Se trata de un trámite aduanero.",
    }
    assert recibidos[1]["datos"] == {
        "entidad_id": "sunat",
        "unidad_id": "mesa",
        "unidad_nombre": "Mesa de Partes",
        "por_regla": False,
        "motivo": "trato",
    }
    momentos = [datetime.fromisoformat(e["ocurrido_en"]) for e in recibidos]
    assert momentos[1] > momentos[0]
    # The new entity works it as its own.
    assert d.responder(codigo, sunat).json["estado"] == "respondido"


# --- observación, subsanación, archivo ----------------------------------------------------------


def test_observacion_subsanada_vuelve_a_la_bandeja(derivacion):
    d = derivacion
    codigo = d.registrar()
    d.publicar(calculado(codigo, BASE))
    r = d.observar(codigo)
    assert r.json["estado"] == "observado"
    assert r.json["observacion"] == "Falta adjuntar la boleta de pago."
    [observado] = d.emitidos(codigo, "reclamo.observado")
    assert observado["datos"]["observacion"] == "Falta adjuntar la boleta de pago."
    assert d.doc(codigo)["observacion_id"] == observado["id"]

    hasta = BASE + timedelta(days=2)
    d.publicar(abierta(codigo, observado["id"], hasta))
    entrada = d.get(f"/bandeja/{codigo}").json
    assert entrada["subsanar_hasta"].startswith(hasta.date().isoformat())
    assert entrada["reloj_pausado"] is True

    d.publicar(subsanado(codigo), veces=2)  # delivered twice: applied once
    entrada = d.get(f"/bandeja/{codigo}").json
    assert entrada["estado"] == "subsanado"
    assert entrada["subsanacion"] == {
        "texto": "Adjunto la boleta que faltaba.",
        "adjuntos": [{"nombre": "boleta.pdf", "tipo_mime": "application/pdf", "bytes": 2048}],
    }
    assert [p["estado"] for p in entrada["historial"]].count("subsanado") == 1
    # The term's expiry raised before plazos saw the subsanación changes nothing.
    d.publicar(subsanacion_vencida(codigo, hasta))
    assert d.doc(codigo)["estado"] == "subsanado"
    assert d.emitidos(codigo, "reclamo.archivado") == []
    # Back in the entity's hands: it may answer now.
    assert d.responder(codigo).json["estado"] == "respondido"


def test_subsanacion_vencida_archiva_aunque_llegue_antes_que_su_plazo(derivacion):
    d = derivacion
    codigo = d.registrar()
    d.observar(codigo)
    observacion_id = d.doc(codigo)["observacion_id"]
    hasta = BASE + timedelta(days=2)
    d.publicar(subsanacion_vencida(codigo, hasta))  # overtook plazo.subsanacion_abierta
    assert d.doc(codigo)["estado"] == "observado"
    d.publicar(abierta(codigo, observacion_id, hasta))
    assert d.doc(codigo)["estado"] == "archivado"
    [archivado] = d.emitidos(codigo, "reclamo.archivado")
    assert archivado["datos"] == {"entidad_id": "minsa", "razon": "subsanacion_vencida"}
    assert d.get(f"/bandeja/{codigo}").json["historial"][-1]["estado"] == "archivado"


def test_vencimiento_de_una_observacion_anterior_no_archiva_la_nueva(derivacion):
    d = derivacion
    codigo = d.registrar()
    d.observar(codigo)
    primera = d.doc(codigo)["observacion_id"]
    hasta_primera = BASE + timedelta(days=2)
    d.publicar(abierta(codigo, primera, hasta_primera), subsanado(codigo))
    d.observar(codigo)  # a second round
    segunda = d.doc(codigo)["observacion_id"]
    assert segunda != primera
    assert d.doc(codigo)["subsanar_hasta"] is None
    assert "subsanacion" not in d.doc(codigo)
    # Late events of the first round: its term and its expiry.
    d.publicar(abierta(codigo, primera, hasta_primera))
    d.publicar(subsanacion_vencida(codigo, hasta_primera))
    hasta_segunda = BASE + timedelta(days=9)
    d.publicar(abierta(codigo, segunda, hasta_segunda))
    assert d.doc(codigo)["estado"] == "observado"
    assert d.emitidos(codigo, "reclamo.archivado") == []
    d.publicar(subsanacion_vencida(codigo, hasta_segunda))
    assert d.doc(codigo)["estado"] == "archivado"


# --- desistimiento, encuesta, plazos ------------------------------------------------------------


def test_desistimiento_antes_de_la_derivacion_se_mantiene(derivacion):
    d = derivacion
    codigo = nuevo_codigo()
    registro = registrado(codigo)  # registered first, but its event comes after
    despues = registro.ocurrido_en + timedelta(seconds=1)
    d.publicar(desistido(codigo, ocurrido_en=despues), veces=2)
    assert d.get(f"/bandeja/{codigo}").status_code == 404  # not routed yet: not in any bandeja
    d.publicar(registro)
    entrada = d.get(f"/bandeja/{codigo}").json
    assert entrada["estado"] == "desistido"
    assert entrada["unidad_id"] == "ogc"
    assert [p["estado"] for p in entrada["historial"]] == ["registrado", "derivado", "desistido"]
    assert d.post(f"/bandeja/{codigo}/atencion").status_code == 409


def test_encuesta_vencida_cierra_una_sola_vez(derivacion):
    d = derivacion
    codigo = d.llevar_a("respondido")
    d.publicar(encuesta_vencida(codigo))
    d.publicar(encuesta_respondida(codigo))
    assert d.doc(codigo)["estado"] == "cerrado"
    [cerrado] = d.emitidos(codigo, "reclamo.cerrado")
    assert cerrado["datos"] == {"entidad_id": "minsa", "motivo": "encuesta_vencida"}


def test_proyecciones_del_plazo_por_tiempo_del_evento(derivacion):
    d = derivacion
    codigo = d.registrar()
    ahora = datetime.now(UTC)
    nuevo = recalculado(codigo, BASE + timedelta(days=1), ocurrido_en=ahora)
    viejo = calculado(codigo, BASE, ocurrido_en=ahora - timedelta(seconds=5))
    d.publicar(nuevo)
    d.publicar(viejo)  # older: changes nothing
    assert d.doc(codigo)["vence_en"] == BASE + timedelta(days=1)

    d.publicar(vencido(codigo, ocurrido_en=ahora + timedelta(seconds=1)))
    assert d.get(f"/bandeja/{codigo}").json["vencido"] is True
    # A deadline moved into the future later on: no longer overdue.
    lejos = ahora + timedelta(days=400)
    d.publicar(recalculado(codigo, lejos, ocurrido_en=ahora + timedelta(seconds=2)))
    assert d.get(f"/bandeja/{codigo}").json["vencido"] is False
    # ...but a recalculation older than the overdue flag does not clear it.
    otro = d.registrar()
    d.publicar(vencido(otro, ocurrido_en=ahora + timedelta(seconds=3)))
    d.publicar(recalculado(otro, lejos, ocurrido_en=ahora))
    assert d.get(f"/bandeja/{otro}").json["vencido"] is True

    d.responder(codigo)
    d.publicar(detenido(codigo, a_tiempo=False))
    assert d.get(f"/bandeja/{codigo}").json["dentro_del_plazo"] is False


def test_respuesta_con_el_reloj_del_dominio_e_idempotente(derivacion, tmp_path, monkeypatch):
    d = derivacion
    codigo = d.registrar()
    reloj = tmp_path / "reloj"
    reloj.write_text(str(10 * 86400))
    monkeypatch.setenv("RELOJ_ARCHIVO", str(reloj))
    cuerpo = ACCIONES_HTTP["respuesta"][1]
    r = d.post(f"/bandeja/{codigo}/respuesta", cuerpo, clave="responder-1")
    assert r.status_code == 200, r.json
    respondido_en = datetime.fromisoformat(r.json["respondido_en"])
    assert abs(respondido_en - (datetime.now(UTC) + timedelta(days=10))) < timedelta(minutes=1)
    assert d.post(f"/bandeja/{codigo}/respuesta", cuerpo, clave="responder-1").json == r.json
    otra = d.post(
        f"/bandeja/{codigo}/respuesta", {"texto": "Otra respuesta, distinta."}, None, "responder-1"
    )
    assert otra.status_code == 422
    assert len(d.emitidos(codigo, "reclamo.respondido")) == 1
    # Without the key, a second answer is refused by the state machine.
    again = d.post(f"/bandeja/{codigo}/respuesta", cuerpo)
    assert again.status_code == 409
    assert "estado respondido" in again.json["mensaje"]
