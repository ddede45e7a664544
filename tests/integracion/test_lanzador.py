"""The local launcher supervises: one death costs only that process, it comes back on its own, and
stopping goes in order (stores last) and leaves nothing behind. One platform for the module."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from herramientas.local import RAIZ, Plataforma, Puertos, YaEnMarcha
from tests.esperas import esperar
from tests.plataforma import plataforma_de_prueba

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def plataforma(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plataforma]:
    carpeta = tmp_path_factory.mktemp("lanzador")
    with plataforma_de_prueba(amqp_url, carpeta, "lanzador", sembrar=False) as p:
        yield p


def _pids(p: Plataforma) -> dict[str, int | None]:
    return {nombre: p.pid(nombre) for nombre in p.procesos()}


def _vivo(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        estado = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return estado != "Z"


def _de_la_sesion(sesion: int) -> set[int]:
    pids = set()
    for entrada in Path("/proc").iterdir():
        if entrada.name.isdigit():
            try:
                if os.getsid(int(entrada.name)) == sesion:
                    pids.add(int(entrada.name))
            except OSError:
                continue
    return pids


def test_un_worker_muerto_vuelve_solo_y_nadie_mas_se_entera(plataforma: Plataforma) -> None:
    antes = _pids(plataforma)
    assert all(antes.values()), antes
    respuestas: list[int | str] = []
    basta = threading.Event()

    def vigilar_gateway() -> None:
        with httpx.Client(timeout=5) as cliente:
            while not basta.is_set():
                try:
                    respuestas.append(cliente.get(plataforma.url + "/health").status_code)
                except httpx.HTTPError as exc:
                    respuestas.append(repr(exc))
                basta.wait(0.2)

    vigia = threading.Thread(target=vigilar_gateway)
    vigia.start()
    try:
        muerto = plataforma.matar("derivacion-worker")
        nuevo = plataforma.esperar_proceso("derivacion-worker", distinto_de=muerto)
    finally:
        basta.set()
        vigia.join()

    assert muerto == antes["derivacion-worker"] and nuevo != muerto
    despues = _pids(plataforma)
    otros = set(antes) - {"derivacion-worker"}
    assert {n: despues[n] for n in otros} == {n: antes[n] for n in otros}
    assert not _vivo(muerto)
    assert len(respuestas) >= 5 and set(respuestas) == {200}, respuestas
    assert plataforma.estado() == dict.fromkeys(antes, "RUNNING")
    registro = plataforma.registro_de_procesos.read_text(errors="replace")
    assert "exited: derivacion-worker (terminated by SIGKILL" in registro


def test_un_almacen_muerto_vuelve_y_su_servicio_sana(plataforma: Plataforma) -> None:
    antes = _pids(plataforma)
    muerto = plataforma.matar("almacen-registro")
    nuevo = plataforma.esperar_proceso("almacen-registro", distinto_de=muerto)
    assert nuevo != muerto

    plataforma.esperar_salud(120)
    salud_registro = f"http://127.0.0.1:{plataforma.puertos.web + 1}/health"
    esperar(
        lambda: httpx.get(salud_registro, timeout=5).status_code == 200,
        "registro vuelve a estar sano con su almacén reiniciado",
        plazo=60,
    )
    assert httpx.get(salud_registro, timeout=5).json()["dependencias"]["mongodb"] is True
    # The store's death did not take its clients down with it.
    despues = _pids(plataforma)
    assert despues["registro-web"] == antes["registro-web"]
    assert despues["registro-worker"] == antes["registro-worker"]


def _lanzar(*argumentos: str, carpeta: Path, amqp_url: str) -> subprocess.CompletedProcess:
    """`python -m herramientas.local` as an operator runs it (what scripts/run execs)."""
    entorno = {**os.environ, "CARPETA_LOCAL": str(carpeta), "AMQP_URL": amqp_url}
    return subprocess.run(
        [sys.executable, "-m", "herramientas.local", *argumentos],
        cwd=RAIZ,
        env=entorno,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _huellas(carpeta: Path) -> dict[str, tuple[str, int]]:
    """Content hash and modification time of each file the launcher writes at start."""
    nombres = ("supervisord.conf", "credenciales.json", ".env")
    return {
        n: (
            hashlib.sha256((carpeta / n).read_bytes()).hexdigest(),
            (carpeta / n).stat().st_mtime_ns,
        )
        for n in nombres
    }


def test_ayuda_no_arranca_nada(plataforma: Plataforma, amqp_url: str, tmp_path: Path) -> None:
    nueva = tmp_path / "nueva"
    for opcion in ("--help", "-h"):
        r = _lanzar(opcion, carpeta=nueva, amqp_url=amqp_url)
        assert r.returncode == 0, r.stderr
        assert "muestra esta ayuda" in r.stdout and "--sin-monitoreo" in r.stdout
    assert not nueva.exists()
    # An unknown option neither.
    r = _lanzar("--no-existe", carpeta=nueva, amqp_url=amqp_url)
    assert r.returncode == 2 and not nueva.exists()
    # On the folder of a running platform: its files stay as they are.
    (plataforma.carpeta / "credenciales.json").write_text('{"operador": "clave-de-prueba"}')
    (plataforma.carpeta / ".env").write_text("TOKEN_INTERNO=de-prueba\n")
    antes = _huellas(plataforma.carpeta)
    r = _lanzar("--help", carpeta=plataforma.carpeta, amqp_url=amqp_url)
    assert r.returncode == 0
    assert _huellas(plataforma.carpeta) == antes


def test_no_arranca_sobre_una_plataforma_en_marcha(
    plataforma: Plataforma, amqp_url: str, tmp_path: Path
) -> None:
    (plataforma.carpeta / "credenciales.json").write_text('{"operador": "clave-de-prueba"}')
    (plataforma.carpeta / ".env").write_text("TOKEN_INTERNO=de-prueba\n")
    antes = _huellas(plataforma.carpeta)
    pids = _pids(plataforma)
    registro = plataforma.registro_de_procesos.stat().st_size
    supervisord = int((plataforma.carpeta / "supervisord.pid").read_text())

    # Same folder (own free ports: the refusal is for the folder).
    otros = Puertos.libres()
    r = _lanzar(
        "--puertos-desde", str(otros.gateway), carpeta=plataforma.carpeta, amqp_url=amqp_url
    )
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"ya hay una plataforma en marcha en {plataforma.carpeta}" in r.stderr
    assert f"pid {supervisord}" in r.stderr
    # Same ports, another folder.
    otra = tmp_path / "otra"
    base = str(plataforma.puertos.gateway)  # its block came from Puertos.libres()
    r = _lanzar("--puertos-desde", base, carpeta=otra, amqp_url=amqp_url)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"los puertos {plataforma.puertos.gateway}, " in r.stderr
    assert "ya están en uso" in r.stderr
    assert not otra.exists()
    # The same refusal from the class the tests use, before it writes anything.
    with pytest.raises(YaEnMarcha, match="ya hay una plataforma en marcha"):
        Plataforma(carpeta=plataforma.carpeta, puertos=otros, amqp_url=amqp_url).iniciar()

    assert _huellas(plataforma.carpeta) == antes
    assert plataforma.registro_de_procesos.stat().st_size >= registro  # not truncated
    assert _pids(plataforma) == pids
    assert int((plataforma.carpeta / "supervisord.pid").read_text()) == supervisord
    assert httpx.get(plataforma.url + "/health", timeout=5).status_code == 200


def test_detener_para_por_niveles_y_no_deja_procesos(plataforma: Plataforma) -> None:
    programas = _pids(plataforma)
    sesion = os.getsid(programas["gateway"])  # supervisord's session, shared by every program
    pids = _de_la_sesion(sesion) | {p for p in programas.values() if p}
    assert sesion in pids and len(pids) > len(programas)  # with gunicorn's workers

    plataforma.detener()

    assert [pid for pid in pids if _vivo(pid)] == []
    registro = plataforma.registro_de_procesos.read_text(errors="replace")
    orden = re.findall(r"^\S+ \S+ \w+ stopped: (\S+) \(", registro, flags=re.MULTILINE)
    assert sorted(orden) == sorted(programas)
    posicion = {nombre: i for i, nombre in enumerate(orden)}
    webs = [n for n in programas if n.endswith("-web") or n == "gateway"]
    workers = [n for n in programas if n.endswith("-worker")]
    almacenes = [n for n in programas if n.startswith("almacen-")]
    assert max(posicion[n] for n in webs) < min(posicion[n] for n in workers)
    assert max(posicion[n] for n in workers) < posicion["buzon"]
    assert posicion["buzon"] < min(posicion[n] for n in almacenes)
