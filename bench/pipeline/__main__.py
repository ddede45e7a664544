"""The pipeline benchmark (issue 10): the whole platform, started by the launcher on its own ports,
stores and bus names, replaying a synthetic history through the gateway. A benchmark, not a test:
it prints figures (and writes them as JSON under var/bench/), it asserts nothing.

    .venv/bin/python -m bench.pipeline                      # 2,000 lives + intake + latency
    .venv/bin/python -m bench.pipeline --reclamos 99727     # the first two years of the seeds

Phases, on one platform:
1. idle: CPU and RSS of the platform doing nothing (catalogue of 300 entities loaded);
2. the machine's bound: one client's durable store inserts/s and confirmed broker publishes/s;
3. lives: `--reclamos` reclamos filed (16 clients), derived, acknowledged, answered by the entity
   after a spread of domain days, surveyed, and closed (answered or expired surveys); the domain
   clock advances a day per `--por-dia` filings and a day a second once filing is over;
4. intake: `--muestra` reclamos as fast as 16 clients can file them, until every acuse is mailed:
   CPU per reclamo per program, store round-trips per reclamo, the bound ratio;
5. latency: filings at half the sustained rate of phase 4, tracking polled for every one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pika
from pymongo import MongoClient

from bench.pipeline import cotas
from bench.pipeline.historia import catalogo, historia
from bench.pipeline.medidor import Foto, Medidor, clase, diferencia, por_coleccion_y_reclamo
from bench.pipeline.replay import Buzon, Reclamo, Reloj, Replay
from comun.almacen import conectar
from comun.bus import Topologia
from gateway import credenciales
from herramientas.local import RAIZ, SERVICIOS, Plataforma, Puertos

# The benchmark is the citizens' reverse proxy: each citizen's requests carry their own address
# (bench/pipeline/historia.py), so the per-address windows hold what one citizen does, as in
# real traffic. From one address, a window of every filing grew with each one and the gateway's
# store spent most of its time slicing it.
PROXY = {"PROXIES_DE_CONFIANZA": "127.0.0.1"}
SIN_LIMITES = {
    "LIMITE_RECLAMOS_POR_DIRECCION_POR_HORA": "100000000",
    "LIMITE_RECLAMOS_POR_DOCUMENTO_POR_DIA": "100000000",
    "LIMITE_FALLOS_SEGUIMIENTO_POR_HORA": "100000000",
    "LIMITE_FALLOS_POR_DOCUMENTO_POR_HORA": "100000000",
}
MB = 1024 * 1024


def percentiles(valores: list[float]) -> dict[str, float | None]:
    if not valores:
        return {"p50": None, "p95": None, "n": 0}
    ordenados = sorted(valores)
    p95 = ordenados[min(len(ordenados) - 1, round(0.95 * (len(ordenados) - 1)))]
    return {"p50": round(statistics.median(ordenados), 3), "p95": round(p95, 3), "n": len(valores)}


def _lapsos(reclamos: list[Reclamo], desde: str, hasta: str) -> list[float]:
    return [
        getattr(r, hasta) - getattr(r, desde)
        for r in reclamos
        if getattr(r, desde) is not None and getattr(r, hasta) is not None
    ]


def sembrar(p: Plataforma) -> dict[str, str]:
    """The synthetic catalogue through the gateway (as an operator loads it), a key per entity."""
    db = conectar(p._mongo(0, "gateway"), "gateway")
    operador = credenciales.crear(db, "operador", "Operador del benchmark")
    entidades = catalogo()
    claves = {}
    with httpx.Client(base_url=p.url, headers={"X-API-Key": operador}, timeout=30) as cliente:
        for entidad in entidades:
            r = cliente.put(f"/api/v1/catalogo/entidades/{entidad['id']}", json=entidad)
            r.raise_for_status()
            claves[entidad["id"]] = credenciales.crear(
                db, "entidad", f"Personal de {entidad['id']}", entidad["id"]
            )
        limite = time.monotonic() + 120
        while time.monotonic() < limite:
            conocidas = {e["id"] for e in cliente.get("/api/v1/entidades").json()}
            if set(claves) <= conocidas:
                return claves
            time.sleep(0.5)
    raise RuntimeError("registro no recibió el catálogo a tiempo")


class Pico:
    """Peak RSS of the platform, sampled every few seconds while a phase runs."""

    def __init__(self, medidor: Medidor) -> None:
        self.medidor = medidor
        self.maximo = 0
        self._parar = threading.Event()
        self._hilo = threading.Thread(target=self._correr, daemon=True)

    def _correr(self) -> None:
        while not self._parar.wait(5.0):
            self.maximo = max(self.maximo, self.medidor.foto().rss_total())

    def __enter__(self) -> Pico:
        self._hilo.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._parar.set()
        self._hilo.join()


def _por_reclamo(antes: Foto, despues: Foto, n: int) -> dict[str, float]:
    """Milliseconds of CPU per reclamo, per program, largest first."""
    gasto = diferencia(antes, despues)
    return dict(
        sorted(((k, round(1000 * v / n, 2)) for k, v in gasto.items()), key=lambda x: -x[1])
    )


def _por_clase(por_programa: dict[str, float]) -> dict[str, float]:
    clases: dict[str, float] = {}
    for programa, ms in por_programa.items():
        clases[clase(programa)] = round(clases.get(clase(programa), 0.0) + ms, 2)
    return dict(sorted(clases.items(), key=lambda x: -x[1]))


def _outbox(p: Plataforma, filtro: dict) -> int:
    """Documents of every service's outbox that match `filtro` (sent events are kept a week:
    none expires during a run, so all of them counts the events written)."""
    total = 0
    for i, s in enumerate(("gateway", *SERVICIOS)):
        with MongoClient(p._mongo(i, s)) as c:
            total += c[s].outbox.count_documents(filtro)
    return total


def en_cola(p: Plataforma) -> int:
    """Messages waiting in the services' queues, plus events not yet published."""
    topo = Topologia(p.bus_nombre)
    conexion = pika.BlockingConnection(pika.URLParameters(p.amqp_url))
    try:
        canal = conexion.channel()
        mensajes = sum(
            canal.queue_declare(topo.cola(s), passive=True).method.message_count for s in SERVICIOS
        )
    finally:
        conexion.close()
    return mensajes + _outbox(p, {"pendiente": True})


def drenar(p: Plataforma, plazo: float = 900.0) -> float:
    """Waits until every queue is empty and every event published (three looks in a row, as
    a message in hand is not counted); returns the seconds it took."""
    inicio, seguidas = time.monotonic(), 0
    while time.monotonic() - inicio < plazo and seguidas < 3:
        seguidas = seguidas + 1 if en_cola(p) == 0 else 0
        time.sleep(1.0)
    return time.monotonic() - inicio


def fase_vida(p, medidor, claves, reloj, planes, clientes) -> dict:
    buzon = Buzon(p.correo, {})
    replay = Replay(p.url, planes, claves, reloj, buzon, clientes=clientes, observar_cada=10)
    derivacion = MongoClient(p._mongo(2, "derivacion"))

    def cerrados() -> int:
        return derivacion.derivacion.bandeja.count_documents({"estado": "cerrado"})

    antes = medidor.foto()
    with Pico(medidor) as pico:
        duracion = replay.correr(True, cerrados, plazo=max(1800.0, 2.0 * len(planes)))
    despues = medidor.foto()
    n, hechos = replay.presentados, cerrados()
    derivacion.close()
    presentacion = replay.fin_presentacion - replay.inicio
    return {
        "reclamos": n,
        "cerrados": hechos,
        "dias_de_dominio": reloj.dia,
        "segundos": round(duracion, 1),
        "ingreso_por_s": round(n / presentacion, 2),
        "extremo_a_extremo_por_s": round(hechos / duracion, 2),
        "presentado_a_derivado_s": percentiles(_lapsos(replay.reclamos, "presentado", "derivado")),
        "presentado_a_acuse_s": percentiles(_lapsos(replay.reclamos, "presentado", "acuse")),
        "respondido_a_encuesta_s": percentiles(
            _lapsos(replay.reclamos, "respondido", "invitacion")
        ),
        "cpu_ms_por_reclamo": _por_reclamo(antes, despues, max(1, n)),
        "rss_pico_mb": round(pico.maximo / MB),
        "errores": replay.errores[:20],
    }


def fase_ingreso(p, medidor, claves, reloj, planes, clientes) -> dict:
    buzon = Buzon(p.correo, {})
    replay = Replay(p.url, planes, claves, reloj, buzon, clientes=clientes, observar_cada=10)
    viajes, eventos, antes = medidor.viajes(), _outbox(p, {}), medidor.foto()
    colecciones = medidor.por_coleccion()
    duracion = replay.correr(False, None, plazo=max(600.0, 1.0 * len(planes)))
    # Sustained means everything the filings caused is done, not only the acuses.
    duracion += drenar(p)
    despues, viajes_despues = medidor.foto(), medidor.viajes()
    n = replay.presentados
    por_coleccion = por_coleccion_y_reclamo(colecciones, medidor.por_coleccion(), max(1, n))
    por_programa = _por_reclamo(antes, despues, max(1, n))
    por_almacen = {s: round((viajes_despues[s] - viajes[s] - 1) / max(1, n), 1) for s in viajes}
    return {
        "reclamos": n,
        "acuses": sum(1 for r in replay.reclamos if r.acuse),
        "segundos": round(duracion, 1),
        "ingreso_por_s": round(n / (replay.fin_presentacion - replay.inicio), 2),
        "sostenido_por_s": round(n / duracion, 2),
        "presentado_a_derivado_s": percentiles(_lapsos(replay.reclamos, "presentado", "derivado")),
        "presentado_a_acuse_s": percentiles(_lapsos(replay.reclamos, "presentado", "acuse")),
        "cpu_ms_por_reclamo": por_programa,
        "cpu_ms_por_reclamo_total": round(sum(por_programa.values()), 1),
        "cpu_ms_por_clase": _por_clase(por_programa),
        "viajes_al_almacen_por_reclamo": por_almacen,
        "eventos_por_reclamo": round((_outbox(p, {}) - eventos) / max(1, n), 1),
        "almacen_por_coleccion": por_coleccion,
        "consultas_de_seguimiento_por_reclamo": round(replay.consultas / max(1, n), 1),
        "errores": replay.errores[:20],
    }


def fase_latencia(p, medidor, claves, reloj, planes, ritmo) -> dict:
    buzon = Buzon(p.correo, {})
    replay = Replay(p.url, planes, claves, reloj, buzon, clientes=8, ritmo=ritmo, observar_cada=1)
    duracion = replay.correr(False, None, plazo=600.0)
    return {
        "ritmo_por_s": round(ritmo, 2),
        "reclamos": replay.presentados,
        "segundos": round(duracion, 1),
        "presentado_a_derivado_s": percentiles(_lapsos(replay.reclamos, "presentado", "derivado")),
        "presentado_a_acuse_s": percentiles(_lapsos(replay.reclamos, "presentado", "acuse")),
        "errores": replay.errores[:20],
    }


def reposo(medidor: Medidor, segundos: float) -> dict:
    time.sleep(10)  # the catalogue's events settle
    antes = medidor.foto()
    time.sleep(segundos)
    despues = medidor.foto()
    gasto = diferencia(antes, despues)
    transcurrido = despues.en - antes.en
    rabbit = despues.rss.get("rabbitmq", 0)
    return {
        "cpu_pct_de_un_nucleo": round(100 * sum(gasto.values()) / transcurrido, 2),
        "cpu_pct_sin_rabbitmq": round(
            100 * (sum(gasto.values()) - gasto.get("rabbitmq", 0)) / transcurrido, 2
        ),
        "por_programa_pct": {
            k: round(100 * v / transcurrido, 2)
            for k, v in sorted(gasto.items(), key=lambda x: -x[1])
        },
        "rss_plataforma_mb": round((despues.rss_total() - rabbit) / MB),
        "rss_rabbitmq_mb": round(rabbit / MB),
    }


def imprimir(r: dict) -> None:
    def lat(d: dict) -> str:
        return f"p50 {d['p50']} s, p95 {d['p95']} s (n={d['n']})"

    rep, cota, vida, ing, lat_ = r["reposo"], r["cotas"], r["vida"], r["ingreso"], r["latencia"]
    print("\n== Pipeline benchmark", r["fecha"], f"({r['nucleos']} núcleos) ==")
    print(
        f"reposo: {rep['cpu_pct_de_un_nucleo']} % de un núcleo "
        f"({rep['cpu_pct_sin_rabbitmq']} % sin RabbitMQ); RSS plataforma "
        f"{rep['rss_plataforma_mb']} MiB + RabbitMQ {rep['rss_rabbitmq_mb']} MiB"
    )
    print(
        f"cotas de la máquina: almacén {cota['almacen_inserciones_por_s']} inserciones/s "
        f"(un cliente, durable); broker {cota['broker_publicaciones_por_s']} publicaciones "
        "confirmadas/s"
    )
    print(
        f"\nvida completa de {vida['reclamos']} reclamos ({vida['cerrados']} cerrados, "
        f"{vida['dias_de_dominio']} días de dominio) en {vida['segundos']} s"
    )
    print(
        f"  ingreso {vida['ingreso_por_s']}/s; "
        f"presentado → cerrado {vida['extremo_a_extremo_por_s']}/s"
    )
    print(f"  presentado → derivado: {lat(vida['presentado_a_derivado_s'])}")
    print(f"  presentado → acuse enviado: {lat(vida['presentado_a_acuse_s'])}")
    print(f"  respondido → encuesta enviada: {lat(vida['respondido_a_encuesta_s'])}")
    print(
        f"  CPU por reclamo (vida completa): {sum(vida['cpu_ms_por_reclamo'].values()):.1f} ms;"
        f" RSS pico {vida['rss_pico_mb']} MiB"
    )
    if vida["reclamos"]:
        horas = (
            99727 / vida["extremo_a_extremo_por_s"] / 3600
            if vida["extremo_a_extremo_por_s"]
            else None
        )
        if horas:
            print(f"  a este ritmo, 99.727 reclamos tomarían {horas:.2f} h")
    print(
        f"\ningreso de {ing['reclamos']} reclamos ({ing['acuses']} acuses) en {ing['segundos']} s: "
        f"{ing['ingreso_por_s']} presentados/s, {ing['sostenido_por_s']}/s sostenido (colas vacías)"
    )
    print(f"  CPU por reclamo, presentado → acuse enviado: {ing['cpu_ms_por_reclamo_total']} ms")
    for programa, ms in ing["cpu_ms_por_reclamo"].items():
        print(f"    {programa:28} {ms:7.2f} ms")
    print(f"  por clase: {ing['cpu_ms_por_clase']}")
    print(f"  viajes al almacén por reclamo: {ing['viajes_al_almacen_por_reclamo']}")
    print(f"  eventos por reclamo: {ing['eventos_por_reclamo']}")
    print("  pedidos y ms de almacén por reclamo, por colección (los 15 más costosos):")
    for fila in ing["almacen_por_coleccion"][:15]:
        print(
            f"    {fila['coleccion']:34} {fila['tipo']:9} {fila['pedidos']:6.2f} pedidos "
            f"{fila['ms']:7.2f} ms"
        )
    print(
        "  consultas de seguimiento por reclamo (un reclamo de cada 10, hasta verlo derivado; "
        f"su costo está en las cifras): {ing['consultas_de_seguimiento_por_reclamo']}"
    )
    print(
        f"  cota por viajes: {r['cota_por_viajes_por_s']} reclamos/s; el pipeline rinde "
        f"{r['proporcion_de_la_cota']} de ella"
    )
    print(
        f"\nlatencia a {lat_['ritmo_por_s']}/s (mitad del ritmo sostenido), "
        f"{lat_['reclamos']} reclamos:"
    )
    print(f"  presentado → derivado visible: {lat(lat_['presentado_a_derivado_s'])}")
    print(f"  presentado → acuse enviado: {lat(lat_['presentado_a_acuse_s'])}")
    errores = vida["errores"] + ing["errores"] + lat_["errores"]
    if errores:
        print(f"\n{len(errores)} errores (primeros): {errores[:5]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reclamos", type=int, default=2000, help="vidas completas (fase 3)")
    parser.add_argument("--muestra", type=int, default=1000, help="reclamos de la fase de ingreso")
    parser.add_argument("--clientes", type=int, default=16)
    parser.add_argument("--por-dia", type=int, default=137, help="reclamos por día de dominio")
    parser.add_argument("--latencia-s", type=float, default=60.0)
    parser.add_argument("--reposo-s", type=float, default=30.0)
    parser.add_argument("--salida", type=Path, default=RAIZ / "var" / "bench")
    args = parser.parse_args(argv)

    amqp = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    carpeta = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    bus = f"bench-{uuid.uuid4().hex[:8]}"
    reloj = Reloj(carpeta / "reloj")
    p = Plataforma(
        carpeta=carpeta,
        puertos=Puertos.libres(),
        amqp_url=amqp,
        bus_nombre=bus,
        entorno_extra={**SIN_LIMITES, **PROXY, "RELOJ_ARCHIVO": str(reloj.archivo)},
    )
    resultado: dict = {
        "fecha": datetime.now(UTC).isoformat(timespec="seconds"),
        "nucleos": os.cpu_count(),
        "argumentos": {k: str(v) for k, v in vars(args).items()},
    }
    with (carpeta / "plataforma.log").open("wb") as salida:
        try:
            print(f"arrancando la plataforma en {carpeta} ...", flush=True)
            p.iniciar(salida)
            p.esperar_salud(180)
            claves = sembrar(p)
            medidor = Medidor(p)
            print("reposo ...", flush=True)
            resultado["reposo"] = reposo(medidor, args.reposo_s)
            print("cotas de la máquina ...", flush=True)
            resultado["cotas"] = {
                "almacen_inserciones_por_s": round(cotas.inserciones_por_segundo(), 1),
                "broker_publicaciones_por_s": round(cotas.publicaciones_por_segundo(amqp), 1),
            }
            total = args.reclamos + args.muestra
            planes = historia(total + 100_000, args.por_dia)
            print(f"vidas completas: {args.reclamos} ...", flush=True)
            drenar(p)
            resultado["vida"] = fase_vida(
                p, medidor, claves, reloj, planes[: args.reclamos], args.clientes
            )
            print(f"ingreso: {args.muestra} ...", flush=True)
            muestra = [
                plan.__class__(**{**plan.__dict__, "dia": 0})
                for plan in planes[args.reclamos : total]
            ]
            drenar(p)  # what the lives left behind (closing mails) is not the intake's cost
            resultado["ingreso"] = fase_ingreso(p, medidor, claves, reloj, muestra, args.clientes)
            ing = resultado["ingreso"]
            viajes = sum(ing["viajes_al_almacen_por_reclamo"].values())
            cota = resultado["cotas"]["almacen_inserciones_por_s"] / max(viajes, 1)
            resultado["cota_por_viajes_por_s"] = round(cota, 1)
            resultado["proporcion_de_la_cota"] = round(ing["sostenido_por_s"] / cota, 2)
            ritmo = ing["sostenido_por_s"] / 2
            cuantos = max(10, int(ritmo * args.latencia_s))
            print(f"latencia: {cuantos} a {ritmo:.1f}/s ...", flush=True)
            latencia = [
                plan.__class__(**{**plan.__dict__, "dia": 0})
                for plan in planes[total : total + cuantos]
            ]
            resultado["latencia"] = fase_latencia(p, medidor, claves, reloj, latencia, ritmo)
        finally:
            p.detener()
            _borrar_topologia(amqp, bus)
    args.salida.mkdir(parents=True, exist_ok=True)
    archivo = args.salida / f"pipeline-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    archivo.write_text(json.dumps(resultado, indent=2, ensure_ascii=False))
    imprimir(resultado)
    print(f"\nresultados: {archivo}")
    return 0


def _borrar_topologia(amqp: str, bus: str) -> None:
    """Deletes the run's queues and exchanges (it used its own bus names)."""
    topo = Topologia(bus)
    conexion = pika.BlockingConnection(pika.URLParameters(amqp))
    try:
        for s in SERVICIOS:
            for cola in topo.colas(s):
                canal = conexion.channel()
                canal.queue_delete(cola)
                canal.close()
        canal = conexion.channel()
        canal.exchange_delete(topo.intercambio)
        canal.exchange_delete(topo.intercambio_muertos)
    finally:
        conexion.close()


if __name__ == "__main__":
    sys.exit(main())
