"""The parked messages tool (`python -m herramientas.parking`, issue 9) on the real broker and the
real store: messages parked by a real Consumidor, listed without being consumed, shown, discarded
with a recorded reason, replayed to the service's own queue with their id and correlation; and a
reclamo whose event parked in derivacion reaches its state exactly once after the replay."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pika
import pytest
from pymongo.database import Database

from comun import servicio as servicio_comun
from comun.bus import Consumidor, Publicador, Topologia, declarar
from comun.consumo import Despachador
from comun.eventos import Evento
from comun.metricas import Metricas
from herramientas import parking
from servicios.derivacion.manejadores import manejadores as manejadores_derivacion
from tests.integracion.servicios import app_de_servicio, como
from tests.integracion.test_bus import cerrado, corriendo, esperar, tomar
from tests.integracion.test_derivacion_bandeja import MINSA, nuevo_codigo, registrado

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

INTENTOS = 3  # the consumer's attempts before parking, in these tests


@pytest.fixture
def topo(bus_nombre) -> Topologia:
    return Topologia(bus_nombre, limite_intentos=INTENTOS, retraso_reintento_ms=100)


@pytest.fixture
def entorno(monkeypatch, amqp_url: str, bus_nombre) -> None:
    """The tool reads the broker and the bus from the environment, as the services do."""
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.setenv("BUS_NOMBRE", str(bus_nombre))


def listos(canal, cola: str) -> int:
    return canal.queue_declare(cola, passive=True).method.message_count


def correr(capsys, *argumentos: str) -> tuple[int, str, str]:
    """The tool's command line in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    codigo = parking.main(list(argumentos))
    salida = capsys.readouterr()
    return codigo, salida.out, salida.err


def listar_json(capsys, *argumentos: str) -> list[dict]:
    codigo, out, err = correr(capsys, "listar", "--json", *argumentos)
    assert codigo == 0, err
    return [json.loads(linea) for linea in out.splitlines()]


def aparcar_como_el_consumidor(canal, topo: Topologia, servicio: str, **propiedades) -> None:
    """Publishes to the dead-letter exchange with the routing key of `servicio`, as
    Consumidor._reenviar does when it parks."""
    cuerpo = propiedades.pop("cuerpo")
    canal.basic_publish(
        topo.intercambio_muertos,
        servicio,
        cuerpo,
        pika.BasicProperties(delivery_mode=2, **propiedades),
        mandatory=True,
    )


# --- listing, showing, discarding, replaying ----------------------------------------------------


def test_listar_mostrar_descartar_y_reenviar(
    amqp_url, canal, topo, bus_nombre, entorno, capsys, db: Database
):
    servicio = "encuestas"
    descartados = bus_nombre.cola(parking.cola_descartados(topo, servicio))
    declarar(canal, topo, servicio, ["reclamo.cerrado"])

    def fallar(evento, datos, sesion):
        raise RuntimeError(f"falla a propósito con {evento.codigo}")

    despachador = Despachador(db, servicio, {"reclamo.cerrado": fallar}, Metricas("prueba"))
    eventos = [
        cerrado(f"R-PARK-{n}AAA-BBBB", correlacion=f"corr-{uuid.uuid4().hex[:8]}") for n in range(3)
    ]
    por_id = {e.id: e for e in eventos}
    antes = datetime.now(UTC).replace(microsecond=0)
    publicador = Publicador(amqp_url, topo)
    try:
        for evento in eventos:
            publicador.publicar(evento)
    finally:
        publicador.cerrar()
    with corriendo(Consumidor(amqp_url, topo, servicio, despachador.claves, despachador)):
        esperar(lambda: listos(canal, topo.cola_parking(servicio)) == 3, "3 mensajes aparcados")
    despues = datetime.now(UTC) + timedelta(seconds=1)

    # Listed with reason and attempts, and left in the queue, in the same order every time.
    vistos = listar_json(capsys, "--servicio", servicio)
    assert sorted(m["id"] for m in vistos) == sorted(por_id)
    for m in vistos:
        evento = por_id[m["id"]]
        assert m["servicio"] == servicio
        assert m["tipo"] == "reclamo.cerrado"
        assert m["codigo"] == evento.codigo
        assert m["correlacion"] == evento.correlacion
        assert m["intentos"] == INTENTOS
        assert m["motivo"] == f"RuntimeError: falla a propósito con {evento.codigo}"
        assert antes <= datetime.fromisoformat(m["aparcado_en"]) <= despues
    assert [m["id"] for m in listar_json(capsys)] == [m["id"] for m in vistos]  # all services
    assert listos(canal, topo.cola_parking(servicio)) == 3

    codigo, texto, _ = correr(capsys, "listar", "--servicio", servicio)
    assert codigo == 0
    assert f"{servicio}: 3 mensaje(s) aparcados" in texto
    for m in vistos:
        assert m["id"] in texto
        assert f"motivo: {m['motivo']}" in texto
    assert texto.count(f"intentos: {INTENTOS}") == 3
    assert "Total: 3" in texto

    # One message in full: properties, headers, and the event itself as published.
    primero, segundo, tercero = (m["id"] for m in vistos)
    codigo, texto, _ = correr(capsys, "mostrar", primero)
    assert codigo == 0
    completo = json.loads(texto)
    assert Evento.model_validate(completo["cuerpo"]) == por_id[primero]
    assert completo["propiedades"]["message_id"] == primero
    assert completo["propiedades"]["correlation_id"] == por_id[primero].correlacion
    assert completo["cabeceras"]["x-intentos"] == INTENTOS
    assert completo["cabeceras"]["x-servicio"] == servicio
    assert completo["cola"] == topo.cola_parking(servicio)

    # Discarded with a reason: gone from parking, kept with the reason among the discarded.
    codigo, _, err = correr(capsys, "descartar", primero, "--motivo", "  prueba sin efecto  ")
    assert codigo == 0, err
    assert sorted(m["id"] for m in listar_json(capsys)) == sorted([segundo, tercero])
    assert listos(canal, descartados) == 1
    (descartado,) = listar_json(capsys, "--descartados", "--servicio", servicio)
    assert descartado["id"] == primero
    assert descartado["motivo_descarte"] == "prueba sin efecto"
    assert descartado["motivo"] == f"RuntimeError: falla a propósito con {por_id[primero].codigo}"
    assert descartado["correlacion"] == por_id[primero].correlacion
    codigo, texto, _ = correr(capsys, "mostrar", primero, "--descartados")
    assert codigo == 0
    assert Evento.model_validate(json.loads(texto)["cuerpo"]) == por_id[primero]

    # Replayed: back in the service's own queue, same id, correlation and body, attempts reset.
    codigo, texto, err = correr(capsys, "reenviar", segundo)
    assert codigo == 0, err
    assert "Reenviados: 1" in texto
    assert [m["id"] for m in listar_json(capsys)] == [tercero]
    metodo, propiedades, cuerpo = esperar(
        lambda: tomar(canal, topo.cola(servicio)), "el reenviado en la cola del servicio"
    )
    assert metodo.exchange == ""  # to this queue only, not through the topic exchange
    assert propiedades.message_id == segundo
    assert propiedades.correlation_id == por_id[segundo].correlacion
    assert propiedades.delivery_mode == 2
    assert Evento.model_validate_json(cuerpo) == por_id[segundo]
    assert "x-intentos" not in propiedades.headers
    assert "x-motivo" not in propiedades.headers
    assert propiedades.headers["x-reenvios"] == 1
    assert tomar(canal, topo.cola(servicio)) is None  # exactly one copy

    # Unknown id, unknown service, a reason that cannot be recorded: errors, nothing moved.
    codigo, _, err = correr(capsys, "reenviar", "no-existe")
    assert codigo == 1
    assert "No hay mensajes aparcados con id «no-existe»" in err
    codigo, _, err = correr(capsys, "mostrar", "no-existe", "--servicio", servicio)
    assert codigo == 1
    assert f"del servicio {servicio}" in err
    codigo, _, err = correr(capsys, "listar", "--servicio", "inventado")
    assert codigo == 2
    assert "Servicio desconocido: «inventado»" in err
    codigo, _, err = correr(capsys, "descartar", tercero, "--motivo", "x")
    assert codigo == 2
    assert "El motivo debe tener" in err
    codigo, _, err = correr(capsys, "descartar", tercero, "--motivo", "dos\nlíneas")
    assert codigo == 2
    assert listos(canal, topo.cola_parking(servicio)) == 1
    assert listos(canal, descartados) == 1

    # Every one: the last goes back too.
    codigo, texto, _ = correr(capsys, "reenviar", "--todos", "--servicio", servicio)
    assert codigo == 0
    assert "Reenviados: 1" in texto
    _, propiedades, _ = esperar(lambda: tomar(canal, topo.cola(servicio)), "el último reenviado")
    assert propiedades.message_id == tercero
    assert listar_json(capsys) == []


def test_un_mensaje_sin_id_ni_sobre_se_lista_y_se_descarta(
    canal, topo, bus_nombre, entorno, capsys
):
    """A poison message (not JSON, no message id) still has an id to act on: its body's digest;
    what it holds is printed escaped, never as terminal control sequences."""
    servicio = "plazos"
    bus_nombre.cola(parking.cola_descartados(topo, servicio))
    declarar(canal, topo, servicio, ["reclamo.registrado"])
    cuerpo = b"\x1b[2Jbasura\xff"
    aparcar_como_el_consumidor(
        canal,
        topo,
        servicio,
        cuerpo=cuerpo,
        headers={"x-motivo": "sobre inválido: \x1b[31m", "x-intentos": 0},
    )

    esperar(lambda: listos(canal, topo.cola_parking(servicio)) == 1, "el veneno aparcado")
    (visto,) = listar_json(capsys, "--servicio", servicio)
    assert visto["id"].startswith("sin-id-")
    assert visto["tipo"] is None
    assert visto["intentos"] == 0
    assert visto["aparcado_en"] is None  # nobody stamped it
    codigo, texto, _ = correr(capsys, "listar")
    assert codigo == 0
    assert "\x1b" not in texto
    assert "sobre inválido: \\x1b[31m" in texto
    codigo, texto, _ = correr(capsys, "mostrar", visto["id"])
    assert codigo == 0
    assert "\x1b" not in texto
    assert json.loads(texto)["bytes"] == len(cuerpo)

    codigo, _, err = correr(capsys, "descartar", visto["id"], "--motivo", "no es un evento")
    assert codigo == 0, err
    assert listar_json(capsys) == []
    _, propiedades, guardado = esperar(
        lambda: tomar(canal, parking.cola_descartados(topo, servicio)), "el descartado"
    )
    assert guardado == cuerpo  # kept byte for byte
    assert propiedades.headers["x-descarte-motivo"] == "no es un evento"


def test_lo_que_aparto_el_broker_muestra_su_motivo(canal, topo, entorno, capsys):
    """A message the broker itself dead-lettered from the service's queue (the delivery limit of
    a worker that dies on it; a reject here) says so, with the time the broker recorded."""
    servicio = "notificaciones"
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    evento = cerrado("R-PARK-BRKR-AAAA", correlacion="corr-broker")
    canal.basic_publish(
        "",
        topo.cola(servicio),
        evento.model_dump_json().encode(),
        pika.BasicProperties(delivery_mode=2, message_id=evento.id, type=evento.tipo),
        mandatory=True,
    )
    antes = datetime.now(UTC).replace(microsecond=0)
    metodo, _, _ = esperar(
        lambda: (lambda r: r if r[0] else None)(canal.basic_get(topo.cola(servicio))),
        "el mensaje en la cola del servicio",
    )
    canal.basic_reject(metodo.delivery_tag, requeue=False)

    esperar(lambda: listos(canal, topo.cola_parking(servicio)) == 1, "apartado por el broker")
    (visto,) = listar_json(capsys, "--servicio", servicio)
    assert visto["id"] == evento.id
    assert visto["correlacion"] == "corr-broker"  # from the body: the property was not set
    assert visto["motivo"].startswith("el broker lo apartó (rejected)")
    assert antes <= datetime.fromisoformat(visto["aparcado_en"]) <= datetime.now(UTC)

    codigo, _, _ = correr(capsys, "reenviar", evento.id)
    assert codigo == 0
    _, propiedades, _ = esperar(lambda: tomar(canal, topo.cola(servicio)), "el reenviado")
    assert propiedades.message_id == evento.id
    assert not any(k.startswith("x-death") for k in propiedades.headers)


def test_leer_muchas_veces_renueva_el_mensaje_sin_perderlo(
    canal, topo, entorno, capsys, monkeypatch
):
    """Each browse counts a delivery; past RENOVAR_DESDE the message is copied to the tail and
    the old one acked, so a broker's default delivery limit never drops it."""
    monkeypatch.setattr(parking, "RENOVAR_DESDE", 2)
    servicio = "registro"
    declarar(canal, topo, servicio, ["reclamo.cerrado"])
    evento = cerrado("R-PARK-RENV-AAAA", correlacion="corr-renueva")
    aparcar_como_el_consumidor(
        canal,
        topo,
        servicio,
        cuerpo=evento.model_dump_json().encode(),
        message_id=evento.id,
        correlation_id=evento.correlacion,
        type=evento.tipo,
        timestamp=1_800_000_000,
        headers={"x-motivo": "RuntimeError: x", "x-intentos": INTENTOS},
    )
    esperar(lambda: listos(canal, topo.cola_parking(servicio)) == 1, "aparcado")

    entregas = [listar_json(capsys, "--servicio", servicio)[0]["entregas"] for _ in range(4)]

    assert entregas == [0, 1, 2, 0]  # the third read renewed it
    codigo, texto, _ = correr(capsys, "mostrar", evento.id)
    assert codigo == 0
    completo = json.loads(texto)
    assert Evento.model_validate(completo["cuerpo"]) == evento
    assert completo["intentos"] == INTENTOS
    assert completo["aparcado_en"] == "2027-01-15T08:00:00+00:00"  # 1_800_000_000, kept
    assert listos(canal, topo.cola_parking(servicio)) == 1


def test_la_ayuda_es_en_castellano_y_el_modulo_se_ejecuta(amqp_url, bus_nombre):
    ayuda = subprocess.run(
        [sys.executable, "-m", "herramientas.parking", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ayuda.returncode == 0
    assert ayuda.stdout.startswith("uso: python -m herramientas.parking")
    for orden in ("listar", "mostrar", "reenviar", "descartar"):
        assert orden in ayuda.stdout
    mostrar = subprocess.run(
        [sys.executable, "-m", "herramientas.parking", "mostrar", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Ley 29733" in mostrar.stdout
    listar = subprocess.run(
        [sys.executable, "-m", "herramientas.parking", "listar"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"AMQP_URL": amqp_url, "BUS_NOMBRE": str(bus_nombre), "PATH": ""},
    )
    assert listar.returncode == 0, listar.stderr
    assert listar.stdout.strip() == "No hay mensajes aparcados."


# --- the done-when: a reclamo reaches its state exactly once ----------------------------


def test_reenviar_lo_aparcado_lleva_el_reclamo_a_su_estado_una_sola_vez(
    monkeypatch, mongo_url, amqp_url, canal, topo, bus_nombre, entorno, capsys, db: Database
):
    """derivacion's real handler fails on a reclamo of an entity missing from its catalogue, so
    the event parks; the operator loads the entity and replays it: the reclamo is routed once.
    The same message parked and replayed again changes nothing."""
    monkeypatch.setattr(servicio_comun, "configurar_logs", lambda *a, **k: None)
    app = app_de_servicio(
        monkeypatch, "derivacion", db, mongo_url, amqp_url, bus_nombre, RELOJ_ARCHIVO=None
    )
    despachador = Despachador(db, "derivacion", manejadores_derivacion(db), Metricas("derivacion"))
    aplicados: list[tuple[str, bool]] = []

    def procesar(evento: Evento, datos) -> None:
        aplicados.append((evento.id, despachador.aplicar(evento, datos)))

    declarar(canal, topo, "derivacion", despachador.claves)
    codigo = nuevo_codigo()
    evento = registrado(codigo, entidad="minsa", motivo="trato").model_copy(
        update={"correlacion": "corr-del-ciudadano"}
    )

    def derivados() -> list[dict]:
        return [
            d["evento"]
            for d in db.outbox.find({"evento.tipo": "reclamo.derivado", "evento.codigo": codigo})
        ]

    def pasos_derivado() -> int:
        doc = db.bandeja.find_one({"_id": codigo}) or {}
        return sum(p["estado"] == "derivado" for p in doc.get("historial", []))

    consumidor = Consumidor(amqp_url, topo, "derivacion", despachador.claves, procesar)
    with corriendo(consumidor):
        publicador = Publicador(amqp_url, topo)
        try:
            publicador.publicar(evento)
        finally:
            publicador.cerrar()
        esperar(lambda: listos(canal, topo.cola_parking("derivacion")) == 1, "el evento aparcado")
        (visto,) = listar_json(capsys, "--servicio", "derivacion")
        assert visto["id"] == evento.id
        assert visto["intentos"] == INTENTOS
        assert "EntidadDesconocida" in visto["motivo"]
        assert db.bandeja.find_one({"_id": codigo}) is None
        assert db.procesados.count_documents({"_id": evento.id}) == 0
        with parking.Parking(amqp_url, topo) as operador:
            (parqueado,) = operador.mostrar(evento.id, "derivacion")

        # The condition is lifted: the entity enters derivacion's catalogue.
        r = app.test_client().put("/catalogo/entidades/minsa", json=MINSA, headers=como("operador"))
        assert r.status_code == 200, r.json

        codigo_salida, _, err = correr(capsys, "reenviar", evento.id, "--servicio", "derivacion")
        assert codigo_salida == 0, err
        esperar(lambda: (evento.id, True) in aplicados, "el evento reenviado aplicado")

        doc = db.bandeja.find_one({"_id": codigo})
        assert doc["estado"] == "derivado"
        assert doc["entidad_id"] == "minsa"
        assert doc["unidad_id"] == "ogc"  # motivo "trato": no rule matches, the default unit
        assert db.procesados.count_documents({"_id": evento.id}) == 1
        (derivado,) = derivados()
        assert derivado["correlacion"] == "corr-del-ciudadano"  # the chain is kept
        assert pasos_derivado() == 1
        assert listar_json(capsys) == []

        # The same message parked again (a duplicate) and replayed: applied zero more times.
        aparcar_como_el_consumidor(
            canal,
            topo,
            "derivacion",
            cuerpo=parqueado.cuerpo,
            headers=parqueado.cabeceras,
            **{
                k: v
                for k, v in parqueado.propiedades.items()
                if k in ("message_id", "correlation_id", "type", "content_type", "timestamp")
            },
        )
        esperar(lambda: listos(canal, topo.cola_parking("derivacion")) == 1, "la copia aparcada")
        codigo_salida, texto, err = correr(
            capsys, "reenviar", "--todos", "--servicio", "derivacion"
        )
        assert codigo_salida == 0, err
        assert "Reenviados: 1" in texto
        esperar(lambda: (evento.id, False) in aplicados, "la copia reconocida como repetida")

    assert [a for a in aplicados if a[0] == evento.id] == [(evento.id, True), (evento.id, False)]
    assert db.bandeja.find_one({"_id": codigo})["estado"] == "derivado"
    assert db.procesados.count_documents({"_id": evento.id}) == 1
    assert len(derivados()) == 1
    assert pasos_derivado() == 1
    assert listar_json(capsys) == []
