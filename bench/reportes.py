"""How fast the reports are over a large history (issue 8): 1,000,000 reclamos' worth of figures.

    .venv/bin/python -m bench.reportes [--reclamos 1000000] [--entidades 300] [--meses 24]
                                       [--llamadas 40]

Starts a platform with the local launcher (own ports, stores and bus names; RabbitMQ at AMQP_URL),
loads a catalogue of `--entidades` entities (a third of them consulates) and the buckets that
1,000,000 reclamos spread over `--meses` months leave in the stores of derivacion, plazos and
encuestas (comun.cifras: per entity, unit and month, plus the entity's total), straight into the
stores — what the handlers would have written one event at a time. Then times each report through
the gateway, over repeated calls, and prints p50 and p95. A benchmark, not a test: it asserts
nothing. Target: every report under 200 ms p95.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import pika
from pymongo import MongoClient

from comun import cifras
from comun.bus import Topologia
from gateway import credenciales
from herramientas.local import SERVICIOS, Plataforma, Puertos

MOTIVOS = ["trato", "tiempo", "procedimiento", "infraestructura", "informacion", "otros"]
ESTADOS = ["derivado", "en_atencion", "respondido", "cerrado", "archivado", "desistido"]
IMPULSORES = ["tiempo", "trato", "informacion", "acceso", "resultado", "confianza"]
UNIDADES = ["atencion", "tramites", "sede"]


def meses(n: int, hasta: str) -> list[str]:
    anio, mes = int(hasta[:4]), int(hasta[5:])
    total = anio * 12 + mes - 1
    return [f"{(total - i) // 12:04d}-{(total - i) % 12 + 1:02d}" for i in range(n)][::-1]


def catalogo(n: int) -> list[dict]:
    entidades = []
    for i in range(n):
        consulado = i % 3 == 2
        nivel = ["nacional", "regional", "local"][i % 3] if not consulado else "nacional"
        entidades.append(
            {
                "id": f"ent-{i:03d}",
                "nombre": f"Entidad {i:03d}",
                "tipo": "consulado" if consulado else "ministerio",
                "nivel": nivel,
                "pais": "ES" if consulado else "PE",
                "unidades": [
                    {
                        "id": u,
                        "nombre": u.title(),
                        "responsable": {"nombre": "R", "email": f"{u}@ent{i}.gob.pe"},
                    }
                    for u in UNIDADES
                ],
                "reglas": [],
                "unidad_por_defecto": UNIDADES[0],
            }
        )
    return entidades


def cubetas(reclamos: int, entidades: list[str], lista_meses: list[str], semilla: int = 8):
    """The buckets (per service) that `reclamos` reclamos leave: {servicio: {(e, u, m): sums}}.
    Reclamos are drawn one by one (entity by a skewed weight, a unit, a month, a state...)."""
    azar = random.Random(semilla)
    pesos = [1 / (1 + i) ** 0.8 for i in range(len(entidades))]
    sumas: dict[str, dict[tuple, dict]] = {s: defaultdict(dict) for s in SERVICIOS_CON_CIFRAS}

    def inc(servicio: str, clave: tuple, valores: dict) -> None:
        for k in (clave, (clave[0], "*", clave[2])):
            destino = sumas[servicio][k]
            for c, v in valores.items():
                destino[c] = destino.get(c, 0) + v

    ents = azar.choices(entidades, weights=pesos, k=reclamos)
    for entidad in ents:
        unidad = azar.choice(UNIDADES)
        mes = azar.choice(lista_meses)
        estado = azar.choices(ESTADOS, weights=[2, 2, 3, 10, 1, 1])[0]
        abierto = estado in ("derivado", "en_atencion")
        inc(
            "derivacion",
            (entidad, unidad, mes),
            {
                "recibidos": 1,
                f"motivo:{azar.choice(MOTIVOS)}": 1,
                f"canal:{azar.choice(['virtual', 'presencial'])}": 1,
                f"estado:{estado}": 1,
                "abiertos": int(abierto),
                "vencidos_abiertos": int(abierto and azar.random() < 0.2),
            },
        )
        if estado in ("respondido", "cerrado"):
            dias = min(int(azar.expovariate(1 / 10)), 200)
            inc(
                "plazos",
                (entidad, unidad, mes),
                {
                    "respondidos": 1,
                    "a_tiempo": int(dias <= 30),
                    "dias_suma": dias,
                    f"dias:{dias}": 1,
                },
            )
            if estado == "cerrado" and azar.random() < 0.5:
                valores = {
                    "encuestas": 1,
                    "satisfaccion_suma": azar.randint(1, 5),
                    "resueltos": int(azar.random() < 0.6),
                }
                for i in IMPULSORES:
                    valores[f"impulsores:{i}:suma"] = azar.randint(1, 5)
                    valores[f"impulsores:{i}:n"] = 1
                inc("encuestas", (entidad, unidad, mes), valores)
        if azar.random() < 0.01:
            inc("plazos", (entidad, unidad, mes), {"intervenciones": 1})
    return sumas


SERVICIOS_CON_CIFRAS = ("derivacion", "plazos", "encuestas")


def anidar(plano: dict) -> dict:
    """{"motivo.trato": 2} → {"motivo": {"trato": 2}}: how $inc with dotted keys stores them."""
    raiz: dict = {}
    for clave, valor in plano.items():
        nodo = raiz
        *camino, hoja = clave.split(".")
        for parte in camino:
            nodo = nodo.setdefault(parte, {})
        nodo[hoja] = valor
    return raiz


def cargar(p: Plataforma, entidades: list[dict], sumas: dict) -> None:
    deriv = MongoClient(p._mongo(1 + SERVICIOS.index("derivacion"), "derivacion"))["derivacion"]
    deriv.entidades.insert_many(
        [{"_id": e["id"], "entidad": e, "actualizado_en": None} for e in entidades]
    )
    for servicio, cubos in sumas.items():
        db = MongoClient(p._mongo(1 + SERVICIOS.index(servicio), servicio))[servicio]
        docs = [
            {"_id": f"{e}|{u}|{m}", "entidad": e, "unidad": u, "mes": m, "v": anidar(v)}
            for (e, u, m), v in cubos.items()
        ]
        # The month of every entity in one document (comun.cifras.mover writes it too).
        meses_todas: dict[str, dict] = defaultdict(dict)
        for (e, u, m), v in cubos.items():
            if u == "*":
                meses_todas[m][e] = anidar(v)
        docs += [
            {"_id": f"*|*|{m}", "entidad": "*", "unidad": "*", "mes": m, "e": ents}
            for m, ents in meses_todas.items()
        ]
        for i in range(0, len(docs), 1000):
            db.cifras.insert_many(docs[i : i + 1000], ordered=False)
        print(f"  {servicio}: {len(docs)} cubetas", flush=True)


def medir(
    cliente: httpx.Client,
    ruta: str,
    params: dict,
    cabeceras: dict,
    n: int,
    antes: Callable[[], None] | None = None,
    esperado: int = 200,
):
    """p50 and p95 (ms) of `n` calls and the size of the last answer; `antes` runs before each
    call, untimed."""
    tiempos = []
    for _ in range(n):
        if antes is not None:
            antes()
        inicio = time.perf_counter()
        r = cliente.get(ruta, params=params, headers=cabeceras)
        tiempos.append((time.perf_counter() - inicio) * 1000)
        if r.status_code != esperado:
            raise RuntimeError(f"{ruta} {params}: {r.status_code} {r.text[:300]}")
    tiempos.sort()
    p95 = tiempos[min(len(tiempos) - 1, round(0.95 * len(tiempos)) - 1)]
    return statistics.median(tiempos), p95, len(r.content)


class Cambios:
    """A reclamo's worth of change in the current month, written as the handlers write it (a
    pending change in each owning store, comun.cifras.mover): every report after it must read
    the figures again, as on a live platform (and the workers' folders fold them meanwhile)."""

    def __init__(self, p: Plataforma, entidades: list[str], mes: str) -> None:
        self.dbs = {
            s: MongoClient(p._mongo(1 + SERVICIOS.index(s), s))[s] for s in SERVICIOS_CON_CIFRAS
        }
        self.entidades = entidades
        self.mes = mes
        self.azar = random.Random(10)

    def __call__(self) -> None:
        entidad, unidad = self.azar.choice(self.entidades), self.azar.choice(UNIDADES)
        dias = self.azar.randint(0, 40)
        valores = {
            "derivacion": {"recibidos": 1, "motivo:trato": 1, "canal:virtual": 1},
            "plazos": {"respondidos": 1, "a_tiempo": int(dias <= 30), "dias_suma": dias},
            "encuestas": {"encuestas": 1, "satisfaccion_suma": self.azar.randint(1, 5)},
        }
        valores["derivacion"] |= {"estado:en_atencion": 1, "abiertos": 1}
        valores["plazos"][f"dias:{dias}"] = 1
        for servicio, db in self.dbs.items():
            aporte = cifras.Aporte(entidad, unidad, self.mes, valores[servicio])
            cifras.mover(db, None, aporte, None)


def borrar_topologia(amqp_url: str, bus: str) -> None:
    topo = Topologia(bus)
    conexion = pika.BlockingConnection(pika.URLParameters(amqp_url))
    canal = conexion.channel()
    for servicio in SERVICIOS:
        for cola in topo.colas(servicio):
            canal.queue_delete(cola)
    for intercambio in (f"{bus}.eventos", f"{bus}.dlx"):
        canal.exchange_delete(intercambio)
    conexion.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reportes")
    parser.add_argument("--reclamos", type=int, default=1_000_000)
    parser.add_argument("--entidades", type=int, default=300)
    parser.add_argument("--meses", type=int, default=24)
    parser.add_argument("--llamadas", type=int, default=40)
    args = parser.parse_args()
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    bus = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-reportes-") as carpeta:
        p = Plataforma(
            carpeta=Path(carpeta), puertos=Puertos.libres(), amqp_url=amqp_url, bus_nombre=bus
        )
        registro = Path(carpeta) / "plataforma.log"
        try:
            with registro.open("wb") as salida:
                p.iniciar(salida)
                p.esperar_salud(180)
                claves = p.sembrar()
                entidades = catalogo(args.entidades)
                ids = [e["id"] for e in entidades]
                lista = meses(args.meses, time.strftime("%Y-%m"))
                inicio = time.perf_counter()
                sumas = cubetas(args.reclamos, ids, lista)
                print(
                    f"{args.reclamos:,} reclamos en {args.entidades} entidades y {args.meses} "
                    f"meses: cubetas calculadas en {time.perf_counter() - inicio:.1f} s",
                    flush=True,
                )
                inicio = time.perf_counter()
                cargar(p, entidades, sumas)
                print(f"cargadas en {time.perf_counter() - inicio:.1f} s", flush=True)
                gw = MongoClient(p._mongo(0, "gateway"))["gateway"]
                entidad = credenciales.crear(gw, "entidad", "Bench", ids[0])
                unidad = credenciales.crear(gw, "entidad", "Bench unidad", ids[0], UNIDADES[0])
                sup = {"X-API-Key": claves["supervisor"]}
                doce = {"desde": lista[-12], "hasta": lista[-1]}
                todo = {"desde": lista[0], "hasta": lista[-1]}
                casos = [
                    ("supervisor, todas, 12 meses", "/reportes", doce, sup),
                    (f"supervisor, todas, {args.meses} meses", "/reportes", todo, sup),
                    (
                        "supervisor, todas, 12 meses, CSV",
                        "/reportes",
                        {**doce, "formato": "csv"},
                        sup,
                    ),
                    (
                        "supervisor, nivel consulado",
                        "/reportes",
                        {**doce, "nivel": "consulado"},
                        sup,
                    ),
                    ("supervisor, una entidad", "/reportes", {**doce, "entidad": ids[5]}, sup),
                    ("clave de entidad", "/reportes", doce, {"X-API-Key": entidad}),
                    ("clave de unidad", "/reportes", doce, {"X-API-Key": unidad}),
                    ("público, todas las entidades", "/publico/indicadores", doce, {}),
                    ("público, todas, CSV", "/publico/indicadores", {**doce, "formato": "csv"}, {}),
                    ("público, una entidad", f"/publico/entidades/{ids[0]}/indicadores", doce, {}),
                ]
                cambio = Cambios(p, ids, lista[-1])
                with httpx.Client(base_url=p.url + "/api/v1", timeout=60) as cliente:
                    print(f"\n{'reporte':<48} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9}")
                    for nombre, ruta, params, cabeceras in casos:
                        medir(cliente, ruta, params, cabeceras, 3)  # warm up
                        p50, p95, largo = medir(cliente, ruta, params, cabeceras, args.llamadas)
                        print(f"{nombre:<48} {p50:8.1f} {p95:8.1f} {largo:9d}", flush=True)
                    # The same reports of every entity when the figures change between calls:
                    # nothing composed before can be reused.
                    print("\ncon un cambio (un reclamo más) antes de cada llamada:")
                    de_todas = [c for c in casos if "todas" in c[0] or "nivel" in c[0]]
                    for nombre, ruta, params, cabeceras in de_todas:
                        medir(cliente, ruta, params, cabeceras, 3, cambio)
                        p50, p95, largo = medir(
                            cliente, ruta, params, cabeceras, args.llamadas, cambio
                        )
                        print(f"{nombre:<48} {p50:8.1f} {p95:8.1f} {largo:9d}", flush=True)
                    # A client (or proxy) that already has the open data asks with its ETag.
                    ruta, params = "/publico/indicadores", doce
                    etiqueta = ""  # once the folders folded the changes above
                    while etiqueta != (
                        etiqueta := cliente.get(ruta, params=params).headers["ETag"]
                    ):
                        time.sleep(3)
                    p50, p95, _ = medir(
                        cliente, ruta, params, {"If-None-Match": etiqueta}, args.llamadas, None, 304
                    )
                    nombre = "público, todas, If-None-Match (304)"
                    print(f"\n{nombre:<48} {p50:8.1f} {p95:8.1f} {0:9d}", flush=True)
        finally:
            p.detener()
            borrar_topologia(amqp_url, bus)


if __name__ == "__main__":
    main()
