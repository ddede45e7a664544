"""Staff accounts and sessions (issue 11) on a real store: argon2 hashes with no trace of the
password, the lock-out counted in the store (and lifted by time or by the operator), the operator
command, and sessions that expire and end at sign-out."""

from __future__ import annotations

import io
import json
import sys
import time

import pytest
from fastapi.testclient import TestClient

from gateway.ajustes import AjustesGateway
from gateway.app import crear_app
from gateway.portal import cuentas, sesiones
from gateway.portal.cuentas import Resultado
from tests.integracion.servicios import TOKEN

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

CLAVE = "caballo-bateria-grapa-42"


class Reloj:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def crear(db, usuario="ana@minsa.gob.pe", **kw):
    datos = {"nombre": "Ana Quispe", "rol": "entidad", "clave": CLAVE, "entidad": "minsa", **kw}
    return cuentas.crear(db, usuario, **datos)


def test_el_hash_es_argon2_y_la_clave_no_esta_en_el_documento(db):
    crear(db, "Ana@MINSA.gob.pe")
    doc = db.cuentas.find_one({"_id": "ana@minsa.gob.pe"})
    assert doc["hash"].startswith("$argon2id$")
    texto = json.dumps(doc, default=str)
    assert CLAVE not in texto and CLAVE.encode().hex() not in texto
    assert (doc["rol"], doc["entidad"], doc["unidad"], doc["activa"]) == (
        "entidad",
        "minsa",
        None,
        True,
    )


def test_clave_correcta_e_incorrecta_y_usuario_desconocido(db):
    crear(db, unidad="integridad")
    resultado, cuenta = cuentas.autenticar(db, " ANA@minsa.gob.pe ", CLAVE)
    assert resultado == Resultado.ok
    assert cuenta.credencial.rol == "entidad"
    assert (cuenta.credencial.entidad, cuenta.credencial.unidad) == ("minsa", "integridad")
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", CLAVE + "x") == (Resultado.rechazado, None)
    assert cuentas.autenticar(db, "nadie@minsa.gob.pe", CLAVE) == (Resultado.rechazado, None)


def test_un_usuario_desconocido_cuesta_lo_mismo_que_una_clave_incorrecta(db):
    crear(db)

    def demora(usuario: str) -> float:
        inicio = time.perf_counter()
        for _ in range(5):
            cuentas.autenticar(db, usuario, "otra-clave-cualquiera")
        return time.perf_counter() - inicio

    conocido, desconocido = demora("ana@minsa.gob.pe"), demora("nadie@minsa.gob.pe")
    # Both verify one argon2 hash per attempt: within a factor, not orders of magnitude apart.
    # Without the decoy hash an unknown name would answer some 50 times faster.
    assert 0.2 < desconocido / conocido < 5


def test_bloqueo_tras_cinco_fallos_y_desbloqueo_con_el_tiempo(db):
    crear(db)
    reloj = Reloj()
    for _ in range(cuentas.MAX_FALLOS - 1):
        assert cuentas.autenticar(db, "ana@minsa.gob.pe", "mala-clave-123", reloj)[0] == (
            Resultado.rechazado
        )
        reloj.t += 60
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", "mala-clave-123", reloj)[0] == (
        Resultado.bloqueado
    )
    # Locked: the right password gets the same answer as a wrong one.
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", CLAVE, reloj) == (Resultado.bloqueado, None)
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", "otra-mala-123", reloj)[0] == (
        Resultado.bloqueado
    )
    reloj.t += 15 * 60 + 1
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", CLAVE, reloj)[0] == Resultado.ok
    # A success clears the count: four more failures do not lock.
    for _ in range(cuentas.MAX_FALLOS - 1):
        cuentas.autenticar(db, "ana@minsa.gob.pe", "mala-clave-123", reloj)
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", CLAVE, reloj)[0] == Resultado.ok


def test_fallos_espaciados_fuera_de_la_ventana_no_bloquean(db):
    crear(db)
    reloj = Reloj()
    for _ in range(8):
        cuentas.autenticar(db, "ana@minsa.gob.pe", "mala-clave-123", reloj)
        reloj.t += 4 * 60  # five failures span 16 minutes: never five within 15
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", CLAVE, reloj)[0] == Resultado.ok


def test_un_nombre_desconocido_tambien_se_bloquea(db):
    reloj = Reloj()
    for _ in range(cuentas.MAX_FALLOS):
        cuentas.autenticar(db, "nadie@minsa.gob.pe", "mala-clave-123", reloj)
    assert cuentas.autenticar(db, "nadie@minsa.gob.pe", "x", reloj)[0] == Resultado.bloqueado


def orden(db, monkeypatch, capsys, *args: str, entrada: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(entrada))
    codigo = cuentas.main(list(args), db=db)
    salida = capsys.readouterr()
    return codigo, salida.out, salida.err


def test_la_orden_crea_rechaza_claves_debiles_desbloquea_y_desactiva(db, monkeypatch, capsys):
    base = ["crear", "--usuario", "luis@pcm.gob.pe", "--nombre", "Luis Rojas"]
    codigo, _, err = orden(
        db, monkeypatch, capsys, *base, "--rol", "supervisor", "--clave-stdin", entrada="corta1\n"
    )
    assert codigo == 2 and "12 caracteres" in err
    assert db.cuentas.count_documents({}) == 0
    codigo, _, err = orden(
        db, monkeypatch, capsys, *base, "--rol", "entidad", "--clave-stdin", entrada=CLAVE + "\n"
    )
    assert codigo == 2 and "--entidad" in err  # an entity account needs its entity
    codigo, out, _ = orden(
        db, monkeypatch, capsys, *base, "--rol", "supervisor", "--clave-stdin", entrada=CLAVE + "\n"
    )
    assert codigo == 0 and "luis@pcm.gob.pe" in out
    assert cuentas.autenticar(db, "luis@pcm.gob.pe", CLAVE)[0] == Resultado.ok
    codigo, _, err = orden(
        db, monkeypatch, capsys, *base, "--rol", "supervisor", "--clave-stdin", entrada=CLAVE + "\n"
    )
    assert codigo == 2 and "ya existe" in err

    for _ in range(cuentas.MAX_FALLOS):
        cuentas.autenticar(db, "luis@pcm.gob.pe", "mala-clave-123")
    assert cuentas.autenticar(db, "luis@pcm.gob.pe", CLAVE)[0] == Resultado.bloqueado
    assert orden(db, monkeypatch, capsys, "desbloquear", "luis@pcm.gob.pe")[0] == 0
    assert cuentas.autenticar(db, "luis@pcm.gob.pe", CLAVE)[0] == Resultado.ok

    codigo, out, _ = orden(db, monkeypatch, capsys, "listar")
    assert "luis@pcm.gob.pe\tLuis Rojas\tsupervisor\t-\tactiva" in out
    assert CLAVE not in out and "argon2" not in out
    assert orden(db, monkeypatch, capsys, "desactivar", "luis@pcm.gob.pe")[0] == 0
    assert cuentas.autenticar(db, "luis@pcm.gob.pe", CLAVE)[0] == Resultado.rechazado


def test_una_clave_con_parametros_viejos_se_vuelve_a_calcular(db):
    from argon2 import PasswordHasher

    crear(db)
    viejo = PasswordHasher(time_cost=1, memory_cost=8192).hash(CLAVE)
    db.cuentas.update_one({"_id": "ana@minsa.gob.pe"}, {"$set": {"hash": viejo}})
    assert cuentas.autenticar(db, "ana@minsa.gob.pe", CLAVE)[0] == Resultado.ok
    nuevo = db.cuentas.find_one({"_id": "ana@minsa.gob.pe"})["hash"]
    assert nuevo != viejo and not PasswordHasher().check_needs_rehash(nuevo)


def test_las_sesiones_vencen_por_inactividad_y_por_duracion_y_salir_las_revoca(db):
    cuenta = crear(db)
    reloj = Reloj()
    s = sesiones.Sesiones(db, reloj)

    uno = s.abrir(cuenta)
    assert len(uno) >= 43 and db.sesiones.find_one({"_id": uno}) is None  # only its hash stored
    assert s.leer(uno).cuenta == cuenta
    reloj.t += 29 * 60
    assert s.leer(uno) is not None  # used: the idle time starts again
    reloj.t += 29 * 60
    assert s.leer(uno) is not None
    reloj.t += 31 * 60
    assert s.leer(uno) is None  # 31 minutes idle
    assert s.leer(uno) is None

    dos = s.abrir(cuenta)
    for _ in range(16):  # used every 29 minutes: 7 h 44 min, still open
        reloj.t += 29 * 60
        assert s.leer(dos) is not None
    reloj.t += 29 * 60  # 8 h 13 min after sign-in: ended although in use
    assert s.leer(dos) is None

    tres = s.abrir(cuenta)
    assert tres not in (uno, dos)
    s.cerrar(tres)
    assert s.leer(tres) is None

    cuatro = s.abrir(cuenta)
    cuentas.desactivar(db, cuenta.usuario)
    assert s.leer(cuatro) is None


@pytest.mark.parametrize(("base", "segura"), [("https://portal.gob.pe", True), ("http://x", False)])
def test_la_cookie_de_sesion_es_httponly_lax_y_secure_tras_tls(mongo_url, db, base, segura):
    crear(db)
    app = crear_app(AjustesGateway(mongo_url=mongo_url, mongo_db=db.name, token_interno=TOKEN))
    with TestClient(app, base_url=base, follow_redirects=False) as web:
        formulario = web.get("/personal/ingresar").text
        token = formulario.split('name="csrf" value="', 1)[1][:64]
        datos = {"csrf": token, "usuario": "ana@minsa.gob.pe", "clave": CLAVE}
        r = web.post("/personal/ingresar", data=datos)
    assert r.status_code == 303 and r.headers["location"] == "/personal/bandeja"
    galleta = r.headers["set-cookie"].lower()
    assert galleta.startswith("pdr_sesion=") and "httponly" in galleta
    assert "samesite=lax" in galleta and ("; secure" in galleta) is segura
    assert db.sesiones.count_documents({"usuario": "ana@minsa.gob.pe"}) == 1
