"""notificaciones' Cartero against a real SMTP server (aiosmtpd) and a real store: a mail server
that is down costs a retry, never the message; once sent, the proof is kept and the body is not."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from pymongo import MongoClient, monitoring

from comun import almacen
from herramientas.buzon import Buzon
from servicios.notificaciones import cartero as cartero_mod
from servicios.notificaciones import dependencias
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from tests.conftest import _puerto_libre
from tests.integracion.pedidos import vigilada

pytestmark = pytest.mark.integracion


def test_reintenta_si_el_servidor_de_correo_no_responde_y_guarda_la_prueba(db, tmp_path):
    puerto = _puerto_libre()
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    cartero = Cartero(db, dependencias.Correo(ajustes), max_intentos=3)
    dependencias.preparar(db)
    with db.client.start_session() as s:
        dependencias.encolar_entrega(
            db,
            s,
            "R-2222-3333-4444:acuse",
            "R-2222-3333-4444",
            "acuse",
            "ciudadano",
            "maria.quispe@gmail.com",
            ("Reclamo R-2222-3333-4444 registrado", "Cuerpo del acuse"),
        )

    # No SMTP server yet: the attempt fails and is scheduled again.
    assert cartero.una_vuelta() == 1
    entrega = db.entregas.find_one()
    assert entrega["estado"] == "pendiente" and entrega["intentos"] == 1
    assert "ConnectionRefusedError" in entrega["ultimo_error"]
    assert entrega["proximo_intento"] > datetime.now(UTC)
    assert cartero.una_vuelta() == 0  # not before its time

    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    try:
        db.entregas.update_one({}, {"$set": {"proximo_intento": datetime.now(UTC)}})
        assert cartero.una_vuelta() == 1
    finally:
        controlador.stop()

    entrega = db.entregas.find_one()
    assert entrega["estado"] == "enviada" and entrega["intentos"] == 2
    assert entrega["message_id"].endswith("@reclamos.gob.pe>")
    assert "cuerpo" not in entrega  # the proof is the Message-ID; the body is not kept
    [correo] = list((tmp_path / "correo").glob("*.eml"))
    assert "Cuerpo del acuse" in correo.read_text()
    assert entrega["message_id"] in correo.read_text()
    [evento] = list(db.outbox.find())
    assert evento["evento"]["tipo"] == "notificacion.enviada"
    assert "maria" not in str(evento["evento"])  # events carry a role, not the address


def test_solo_se_anuncia_el_correo_al_ciudadano_el_de_un_responsable_queda_en_su_prueba(db, buzon):
    """Issue 10: notificacion.enviada / fallida is what the citizen's timeline shows (registro
    dropped every one addressed to a responsable, after taking it from its queue in a
    transaction). A responsable's mail keeps its proof in its delivery, and no event."""
    puerto, carpeta = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    dependencias.preparar(db)
    with db.client.start_session() as s:
        for clave, destinatario, email in (
            ("R-2222-3333-4444:acuse", "ciudadano", "maria.quispe@gmail.com"),
            ("ev-1:responsable:aaaa", "responsable", "titular@entidad.gob.pe"),
            ("ev-1:responsable:bbbb", "responsable", "alterno@entidad.gob.pe"),
        ):
            dependencias.encolar_entrega(
                db, s, clave, "R-2222-3333-4444", "acuse", destinatario, email, ("Asunto", "Texto")
            )
    cartero = Cartero(db, dependencias.Correo(ajustes), max_intentos=3)
    assert cartero.una_vuelta() == 3
    assert len(list(carpeta.glob("*.eml"))) == 3
    for entrega in db.entregas.find():
        assert entrega["estado"] == "enviada" and entrega["message_id"], entrega["_id"]
    eventos = [d["evento"] for d in db.outbox.find()]
    assert [(e["tipo"], e["datos"]["destinatario"]) for e in eventos] == [
        ("notificacion.enviada", "ciudadano")
    ]


def test_el_correo_a_un_responsable_se_registra_con_una_escritura_sin_transaccion(
    db, buzon, mongo_url
):
    """Nothing is announced for a responsable's mail, so its proof is one write of its own
    (issue 10: a transaction around one write cost the store a commit more); the citizen's
    proof and its event still go in one transaction."""
    puerto, _ = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    dependencias.preparar(db)
    with db.client.start_session() as s:
        for clave, destinatario in (
            ("ev-2:responsable:aaaa", "responsable"),
            ("ev-2:responsable:bbbb", "responsable"),
            ("R-2222-3333-4444:acuse", "ciudadano"),
        ):
            dependencias.encolar_entrega(
                db, s, clave, "R-2222-3333-4444", "acuse", destinatario, "a@b.pe", ("A", "T")
            )
    with vigilada(mongo_url, db.name) as (vista, pedidos):
        cartero = Cartero(vista, dependencias.Correo(ajustes), max_intentos=3)
        assert cartero.una_vuelta() == 3
    pruebas = [c for c in pedidos.de("update", "entregas") if "terminada_en" in str(c["updates"])]
    assert len(pruebas) == 3
    assert [("autocommit" in c) for c in pruebas] == [False, False, True]  # in a transaction
    assert len(pedidos.de("commitTransaction")) == 1
    for entrega in db.entregas.find():
        assert entrega["estado"] == "enviada" and entrega["message_id"], entrega["_id"]
        assert "cuerpo" not in entrega and entrega["intentos"] == 1
    assert [d["evento"]["datos"]["destinatario"] for d in db.outbox.find()] == ["ciudadano"]


def _entregas(db, n: int) -> list[str]:
    dependencias.preparar(db)
    claves = [f"R-2222-3333-444{i}:acuse" for i in range(n)]
    with db.client.start_session() as s:
        for clave in claves:
            codigo = clave.split(":")[0]
            dependencias.encolar_entrega(
                db, s, clave, codigo, "acuse", "ciudadano", "ana@prueba.pe", (codigo, "Acuse")
            )
    return claves


@pytest.fixture
def buzon(tmp_path):
    puerto = _puerto_libre()
    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    yield puerto, tmp_path / "correo"
    controlador.stop()


class _MuereTrasEnviar(dependencias.Correo):
    """The worker is killed right after the SMTP send, before recording it."""

    def enviar(self, *args) -> str:
        super().enviar(*args)
        raise SystemExit("kill -9")


def test_un_correo_repetido_tras_una_caida_lleva_el_mismo_message_id(db, buzon):
    puerto, carpeta = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    [clave] = _entregas(db, 1)
    with pytest.raises(SystemExit):
        Cartero(db, _MuereTrasEnviar(ajustes), max_intentos=3).una_vuelta()
    # The claim of the dead worker expires; another worker sends it again.
    db.entregas.update_one({"_id": clave}, {"$set": {"proximo_intento": datetime.now(UTC)}})
    assert Cartero(db, dependencias.Correo(ajustes), max_intentos=3).una_vuelta() == 1

    ids = [
        BytesParser(policy=policy.default).parsebytes(f.read_bytes())["Message-ID"]
        for f in sorted(carpeta.glob("*.eml"))
    ]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert db.entregas.find_one({"_id": clave})["message_id"] == ids[0]
    assert "R-2222" not in ids[0]  # the código stays out of mail headers


def test_al_detenerse_termina_y_registra_el_correo_en_curso_y_deja_el_resto(db, buzon):
    puerto, carpeta = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    claves = _entregas(db, 3)
    parar = threading.Event()

    class _PideDetenerse(dependencias.Correo):
        def enviar(self, *args) -> str:
            parar.set()  # SIGTERM arrives while this mail is being sent
            return super().enviar(*args)

    assert Cartero(db, _PideDetenerse(ajustes), max_intentos=3).una_vuelta(parar) == 1

    estados = {e["_id"]: (e["estado"], e["intentos"]) for e in db.entregas.find()}
    assert sorted(estados.values()) == [("enviada", 1), ("pendiente", 0), ("pendiente", 0)]
    assert len(list(carpeta.glob("*.eml"))) == 1
    pendientes = [c for c in claves if estados[c][0] == "pendiente"]
    for clave in pendientes:  # not claimed: another worker may send them at once
        assert db.entregas.find_one({"_id": clave})["proximo_intento"] <= datetime.now(UTC)


class _BuzonQueCuenta(Buzon):
    """The mail catcher, counting the SMTP sessions it was opened for."""

    def __init__(self, carpeta) -> None:
        super().__init__(carpeta)
        self.sesiones = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sesiones += 1
        session.host_name = hostname
        return responses


def test_una_conexion_smtp_sirve_varios_correos_y_se_reabre_si_el_servidor_la_cerro(tmp_path):
    """Issue 10: a handshake per mail cost more than the mail. One connection carries mail after
    mail; when the server has dropped it (a restart, an idle timeout) the next mail opens another
    and goes through, once."""
    puerto = _puerto_libre()
    correo = dependencias.Correo(AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto))
    buzon = _BuzonQueCuenta(tmp_path / "correo")
    controlador = Controller(buzon, hostname="127.0.0.1", port=puerto)
    controlador.start()
    try:
        for n in range(3):
            correo.enviar(f"c{n}@prueba.pe", f"Asunto {n}", "Cuerpo", f"<m{n}@reclamos.gob.pe>")
        assert buzon.sesiones == 1
    finally:
        controlador.stop()
    controlador = Controller(buzon, hostname="127.0.0.1", port=puerto)
    controlador.start()
    try:
        correo.enviar("c3@prueba.pe", "Asunto 3", "Cuerpo", "<m3@reclamos.gob.pe>")
    finally:
        controlador.stop()
        correo.cerrar()
    assert buzon.sesiones == 2
    recibidos = sorted(
        BytesParser(policy=policy.default).parsebytes(f.read_bytes())["To"]
        for f in (tmp_path / "correo").glob("*.eml")
    )
    assert recibidos == ["c0@prueba.pe", "c1@prueba.pe", "c2@prueba.pe", "c3@prueba.pe"]


def test_una_entrega_nueva_despierta_al_cartero_sin_esperar_su_vuelta(db, tmp_path):
    """The cartero looks on its own only every `pausa` (here a minute); a delivery committed in
    this process wakes it at once."""
    puerto = _puerto_libre()
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    dependencias.preparar(db)
    cartero = Cartero(db, dependencias.Correo(ajustes), max_intentos=3, pausa=60.0)
    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    parar = threading.Event()
    hilo = threading.Thread(target=cartero.correr, args=(parar,), daemon=True)
    try:
        hilo.start()
        time.sleep(1.0)  # the cartero found nothing and went to sleep

        def encolar(sesion) -> None:
            dependencias.encolar_entrega(
                db,
                sesion,
                "R-5555-6666-7777:acuse",
                "R-5555-6666-7777",
                "acuse",
                "ciudadano",
                "ana@prueba.pe",
                ("Reclamo R-5555-6666-7777 registrado", "Cuerpo"),
            )

        almacen.en_transaccion(db, encolar)
        limite = time.monotonic() + 15
        while time.monotonic() < limite and not list((tmp_path / "correo").glob("*.eml")):
            time.sleep(0.1)
        assert list((tmp_path / "correo").glob("*.eml")), "el cartero siguió durmiendo"
    finally:
        parar.set()
        hilo.join(10)
        controlador.stop()


class _Reclamos(monitoring.CommandListener):
    """Counts the writes that claim a delivery (they push its next attempt forward)."""

    def __init__(self) -> None:
        self.escrituras = 0

    def started(self, event) -> None:
        if event.command_name == "update" and event.command.get("update") == "entregas":
            for u in event.command["updates"]:
                if "proximo_intento" in u["u"].get("$set", {}) and "estado" not in u["u"]["$set"]:
                    self.escrituras += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def test_dos_carteros_toman_un_lote_cada_uno_con_una_escritura_y_nadie_recibe_dos_veces(
    mongo_url, db, buzon
):
    """Issue 10: a batch of mail is claimed in one write, not one per mail; two workers at once
    still send each mail once."""
    puerto, carpeta = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    claves = [f"R-2222-3333-{i:04d}:acuse" for i in range(40)]
    dependencias.preparar(db)
    with db.client.start_session() as s:
        for clave in claves:
            codigo = clave.split(":")[0]
            dependencias.encolar_entrega(
                db, s, clave, codigo, "acuse", "ciudadano", "ana@prueba.pe", (codigo, "Acuse")
            )
    reclamos = _Reclamos()
    cliente = MongoClient(mongo_url, tz_aware=True, event_listeners=[reclamos])
    try:
        vigilada = cliente[db.name]
        carteros = [Cartero(vigilada, dependencias.Correo(ajustes), max_intentos=3) for _ in "ab"]
        enviadas = [0, 0]

        def correr(i: int) -> None:
            while n := carteros[i].una_vuelta():
                enviadas[i] += n

        hilos = [threading.Thread(target=correr, args=(i,)) for i in (0, 1)]
        for h in hilos:
            h.start()
        for h in hilos:
            h.join(timeout=60)
    finally:
        cliente.close()

    assert sum(enviadas) == 40
    assert len(list(carpeta.glob("*.eml"))) == 40  # none twice
    assert {(e["estado"], e["intentos"]) for e in db.entregas.find()} == {("enviada", 1)}
    # 40 mails, at most 20 per look: a few claims, not 40.
    assert reclamos.escrituras <= 8, reclamos.escrituras


def test_un_lote_lento_suelta_lo_que_no_alcanzo_a_enviar(db, buzon, monkeypatch):
    """A claim is not used past half its length: with slow sends the rest goes back, due at
    once, for this or another worker (never sent on a claim that may have lapsed)."""
    puerto, carpeta = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    claves = _entregas(db, 5)
    monkeypatch.setattr(cartero_mod, "_MEDIO_RECLAMO", 0.2)

    class _Lento(dependencias.Correo):
        def enviar(self, *args) -> str:
            time.sleep(0.3)
            return super().enviar(*args)

    assert Cartero(db, _Lento(ajustes), max_intentos=3).una_vuelta() == 1

    estados = {e["_id"]: e for e in db.entregas.find()}
    assert sorted(e["estado"] for e in estados.values()) == ["enviada"] + ["pendiente"] * 4
    for clave in claves:
        if estados[clave]["estado"] == "pendiente":
            assert estados[clave]["proximo_intento"] <= datetime.now(UTC)
    assert len(list(carpeta.glob("*.eml"))) == 1
