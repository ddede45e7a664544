"""notificaciones' handlers with the real store, the real Despachador (idempotent, transactional),
the real Cartero and a real SMTP capture; the broker where redelivery is the point.

Who is mailed, once: both responsables of the reclamo's current unit, each their own mail; the
citizen only with an email; the observación once both its halves are in, whatever their order.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pika
import pytest
from aiosmtpd.controller import Controller
from pymongo.database import Database

from comun.almacen import AlmacenOcupado
from comun.bus import Consumidor, Publicador, declarar
from comun.consumo import Despachador
from comun.eventos import (
    Contacto,
    Entidad,
    EntidadActualizada,
    Evento,
    Intervencion,
    PlazoAviso,
    PlazoCalculado,
    PlazoRecalculado,
    ReclamoArchivado,
    ReclamoDerivado,
    ReclamoDesistido,
    ReclamoObservado,
    ReclamoReasignado,
    ReclamoRegistrado,
    ReclamoTrasladado,
    SubsanacionAbierta,
    nuevo_evento,
)
from comun.metricas import Metricas
from herramientas.buzon import Buzon
from servicios.derivacion.dominio import errores_de_catalogo
from servicios.notificaciones import dependencias
from servicios.notificaciones.ajustes import AjustesNotificaciones
from servicios.notificaciones.cartero import Cartero
from servicios.notificaciones.manejadores import SERVICIO, FaltaContexto, manejadores
from tests import esperas
from tests.conftest import _puerto_libre

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

CATALOGO = Path(__file__).resolve().parents[2] / "infra" / "catalogo" / "entidades.json"
COD = "R-7K2M-9XPQ-4TWA"
EMAIL = "maria.quispe@correo.pe"
DNI = "45678912"
# Events carry explicit times: the handlers order by ocurrido_en, not by arrival.
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
VENCE = datetime(2027, 1, 8, 4, 59, 59, tzinfo=UTC)  # 07/01/2027 23:59:59 Lima

INFRA = ("infraestructura@minsa.example.gob.pe", "infraestructura.alterno@minsa.example.gob.pe")
ATENCION = ("atencion.ciudadano@minsa.example.gob.pe", "atencion.alterno@minsa.example.gob.pe")
MESA = ("vecino@munlima.example.gob.pe", "vecino.alterno@munlima.example.gob.pe")


def catalogo() -> dict[str, Entidad]:
    return {e["id"]: Entidad.model_validate(e) for e in json.loads(CATALOGO.read_text())}


def ev(tipo: str, datos, minutos: float = 0, codigo: str | None = COD) -> Evento:
    return nuevo_evento(
        tipo, datos, fuente="prueba", codigo=codigo, ocurrido_en=T0 + timedelta(minutes=minutos)
    )


def registrado(email: str | None = EMAIL, minutos: float = 0) -> Evento:
    return ev(
        "reclamo.registrado",
        ReclamoRegistrado(
            entidad_id="minsa",
            canal="virtual",
            motivo="infraestructura",
            ocurrido_en=T0 - timedelta(days=1),
            registrado_en=T0,
            descripcion="El ascensor del hospital lleva un mes malogrado.",
            pedido="Que lo reparen.",
            medio_respuesta="email" if email else "telefono",
            contacto=Contacto(
                tipo_documento="DNI",
                numero_documento=DNI,
                nombres="María",
                apellidos="Quispe Huamán",
                email=email,
                telefono="987654321",
            ),
        ),
        minutos,
    )


def derivado(
    unidad: str = "infraestructura", entidad: str = "minsa", minutos: float = 1, **extra
) -> Evento:
    nombre = next(u.nombre for u in catalogo()[entidad].unidades if u.id == unidad)
    return ev(
        "reclamo.derivado",
        ReclamoDerivado(
            entidad_id=entidad, unidad_id=unidad, unidad_nombre=nombre, por_regla=True, **extra
        ),
        minutos,
    )


def reasignado(anterior: str, unidad: str, minutos: float) -> Evento:
    nombre = next(u.nombre for u in catalogo()["minsa"].unidades if u.id == unidad)
    return ev(
        "reclamo.reasignado",
        ReclamoReasignado(
            entidad_id="minsa",
            unidad_anterior_id=anterior,
            unidad_id=unidad,
            unidad_nombre=nombre,
            razon="Corresponde a la oficina de obras",
        ),
        minutos,
    )


def aviso(tipo: str, entidad: str = "minsa", minutos: float = 60, restantes: int = 5) -> Evento:
    datos = PlazoAviso(entidad_id=entidad, vence_en=VENCE, dias_habiles_restantes=restantes)
    return ev(tipo, datos, minutos)


def observado(minutos: float = 10) -> Evento:
    return ev(
        "reclamo.observado",
        ReclamoObservado(
            entidad_id="minsa",
            unidad_id="infraestructura",
            observacion="Indique el piso y la torre del ascensor malogrado.",
        ),
        minutos,
    )


def subsanacion_abierta(observacion: Evento) -> Evento:
    return ev(
        "plazo.subsanacion_abierta",
        SubsanacionAbierta(
            entidad_id="minsa",
            observacion_id=observacion.id,
            subsanar_hasta=datetime(2026, 11, 26, 4, 59, 59, tzinfo=UTC),  # 25/11 23:59 Lima
            dias_habiles=2,
            reloj_pausado=True,
        ),
        11,
    )


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def buzon(tmp_path) -> Iterator[tuple[int, Path]]:
    puerto = _puerto_libre()
    controlador = Controller(Buzon(tmp_path / "correo"), hostname="127.0.0.1", port=puerto)
    controlador.start()
    yield puerto, tmp_path / "correo"
    controlador.stop()


@pytest.fixture
def despachador(db: Database) -> Despachador:
    dependencias.preparar(db)
    return Despachador(db, SERVICIO, manejadores(db, "https://reclamos.gob.pe"), Metricas("prueba"))


@pytest.fixture
def aplicar(despachador: Despachador) -> Callable[..., None]:
    def aplicar(*eventos: Evento) -> None:
        for evento in eventos:
            despachador.aplicar(evento, evento.contenido())

    aplicar(
        *(
            ev("catalogo.entidad_actualizada", EntidadActualizada(entidad=e), -1440, None)
            for e in catalogo().values()
        )
    )
    return aplicar


@pytest.fixture
def enviar(db: Database, buzon) -> Callable[[], list[EmailMessage]]:
    """Runs the Cartero until nothing is pending; returns every mail the SMTP server got."""
    puerto, carpeta = buzon
    ajustes = AjustesNotificaciones(token_interno="x" * 32, smtp_puerto=puerto)
    cartero = Cartero(db, dependencias.Correo(ajustes), max_intentos=3)

    def enviar() -> list[EmailMessage]:
        while cartero.una_vuelta():
            pass
        return [
            BytesParser(policy=policy.default).parsebytes(f.read_bytes())
            for f in sorted(carpeta.glob("*.eml"))
        ]

    return enviar


def entregas(db: Database, plantilla: str) -> list[dict]:
    return list(db.entregas.find({"plantilla": plantilla}))


def para(correos: list[EmailMessage], asunto: str) -> list[str]:
    return sorted(c["To"] for c in correos if c["Subject"] == asunto)


# --- the catalogue -------------------------------------------------------------------------------


def test_el_catalogo_de_infra_es_valido_y_la_copia_guarda_titular_y_alterno(db, aplicar):
    crudo = json.loads(CATALOGO.read_text())
    entidades = catalogo()
    for e in crudo:
        assert e["nivel"] in ("nacional", "regional", "local"), e["id"]  # given, not defaulted
        assert errores_de_catalogo(entidades[e["id"]]) == [], e["id"]
    assert {e["nivel"] for e in crudo} == {"nacional", "regional", "local"}
    assert any(u.alterno for u in entidades[crudo[0]["id"]].unidades)

    copia = db.entidades.find_one({"_id": "minsa"})
    assert copia["nivel"] == "nacional" and copia["unidad_por_defecto"] == "atencion-ciudadano"
    assert copia["unidades"]["infraestructura"] == {
        "nombre": "Oficina General de Infraestructura",
        "responsables": [
            {"nombre": "Jorge Huamán Ríos", "email": INFRA[0]},
            {"nombre": "Carmen Vargas Lozano", "email": INFRA[1]},
        ],
    }
    assert len(copia["unidades"]["integridad"]["responsables"]) == 1


# --- responsables ----------------------------------------------------------------------------


def test_titular_y_alterno_reciben_un_correo_cada_uno_aunque_el_evento_llegue_dos_veces(
    amqp_url, topo, bus_nombre, db, despachador, enviar
):
    canal = pika.BlockingConnection(pika.URLParameters(amqp_url)).channel()
    declarar(canal, topo, SERVICIO, despachador.claves)
    canal.connection.close()
    aplicados: list[str] = []
    candado = threading.Lock()

    def procesar(evento, datos) -> None:
        despachador(evento, datos)
        with candado:
            aplicados.append(evento.id)

    minsa = ev("catalogo.entidad_actualizada", EntidadActualizada(entidad=catalogo()["minsa"]), -1)
    deriv = derivado(motivo="infraestructura")
    publicador = Publicador(amqp_url, topo)
    parar = threading.Event()
    consumidor = Consumidor(amqp_url, topo, SERVICIO, despachador.claves, procesar)
    hilo = threading.Thread(target=consumidor.correr, args=(parar,), daemon=True)
    hilo.start()
    try:
        # The same event (same id) twice, and the catalogue after the derivado: retried till in.
        for evento in (registrado(), deriv, deriv, minsa):
            publicador.publicar(evento)
        esperas.esperar(lambda: aplicados.count(deriv.id) == 2, "las dos entregas del derivado")
        correos = enviar()
        assert para(correos, f"Nuevo reclamo {COD} en su bandeja") == sorted(INFRA)

        publicador.publicar(deriv)  # once more, after the mails went out
        esperas.esperar(lambda: aplicados.count(deriv.id) == 3, "la tercera entrega")
    finally:
        parar.set()
        hilo.join(timeout=10)
        publicador.cerrar()

    correos = enviar()
    assert len(correos) == 2  # nothing more: no acuse without a deadline, no repeat
    por_persona = {c["To"]: c.get_content() for c in correos}
    assert "Estimado(a) Jorge Huamán Ríos:" in por_persona[INFRA[0]]
    assert "Estimado(a) Carmen Vargas Lozano:" in por_persona[INFRA[1]]
    for cuerpo in por_persona.values():
        assert "motivo: infraestructura" in cuerpo
        assert DNI not in cuerpo and EMAIL not in cuerpo  # the citizen's data stays out
    claves = [e["_id"] for e in entregas(db, "derivado")]
    assert len(set(claves)) == 2 and not any("@" in c for c in claves)  # no address in a key


def test_el_motivo_se_toma_del_registro_si_el_derivado_no_lo_trae(despachador, aplicar, enviar):
    sin_motivo = derivado("atencion-ciudadano")
    with pytest.raises(FaltaContexto):  # before the registro: the motivo is yet to come
        despachador.aplicar(sin_motivo, sin_motivo.contenido())
    aplicar(registrado(), sin_motivo)
    correos = enviar()
    assert para(correos, f"Nuevo reclamo {COD} en su bandeja") == sorted(ATENCION)
    assert all("motivo: infraestructura" in c.get_content() for c in correos)


def test_reasignacion_y_avisos_van_a_los_responsables_de_la_unidad_actual(db, aplicar, enviar):
    aplicar(registrado(), derivado("atencion-ciudadano", motivo="infraestructura"))
    aplicar(reasignado("atencion-ciudadano", "infraestructura", minutos=5))
    aplicar(
        aviso("plazo.por_vencer", minutos=60, restantes=5),
        aviso("plazo.vencido", minutos=120, restantes=0),
        ev(
            "supervision.intervencion",
            Intervencion(entidad_id="minsa", nota="Responda de inmediato e informe a la SGP."),
            130,
        ),
        ev(
            "reclamo.desistido", ReclamoDesistido(entidad_id="minsa", razon="Ya lo arreglaron"), 140
        ),
    )
    correos = enviar()

    assert para(correos, f"Reclamo {COD} reasignado a su unidad") == sorted(INFRA)
    assert para(correos, f"Reclamo {COD} por vencer") == sorted(INFRA)
    assert para(correos, f"Reclamo {COD} vencido") == sorted(INFRA)
    asunto = f"Intervención de la Secretaría de Gestión Pública: reclamo {COD}"
    assert para(correos, asunto) == sorted(INFRA)
    assert para(correos, f"Reclamo {COD}: el ciudadano desistió") == sorted(INFRA)
    # The old unit heard only of the derivación, before the reasignación.
    assert (
        sorted(c["Subject"] for c in correos if c["To"] in ATENCION)
        == [f"Nuevo reclamo {COD} en su bandeja"] * 2
    )

    cuerpo = {c["Subject"]: c.get_content() for c in correos if c["To"] == INFRA[1]}
    reasig = cuerpo[f"Reclamo {COD} reasignado a su unidad"]
    assert "desde Oficina de Atención al Ciudadano a Oficina General de Infraestructura" in reasig
    assert "Corresponde a la oficina de obras" in reasig
    assert "vence el 07/01/2027" in cuerpo[f"Reclamo {COD} por vencer"]
    assert "venció el 07/01/2027" in cuerpo[f"Reclamo {COD} vencido"]
    assert "Responda de inmediato e informe a la SGP." in cuerpo[asunto]
    assert "Ya lo arreglaron" in cuerpo[f"Reclamo {COD}: el ciudadano desistió"]


def test_derivacion_que_llega_despues_de_la_reasignacion_no_avisa_a_la_unidad_anterior(
    db, aplicar, enviar
):
    aplicar(registrado())
    aplicar(reasignado("atencion-ciudadano", "infraestructura", minutos=5))
    aplicar(derivado("atencion-ciudadano", minutos=1, motivo="infraestructura"))  # older, late
    aplicar(aviso("plazo.por_vencer"))
    correos = enviar()

    assert not [c for c in correos if c["To"] in ATENCION]
    assert para(correos, f"Reclamo {COD} por vencer") == sorted(INFRA)
    assert db.reclamos.find_one({"_id": COD})["unidad"]["id"] == "infraestructura"


def test_aviso_antes_de_conocer_la_unidad_espera(despachador, aplicar):
    aplicar(registrado())
    evento = aviso("plazo.vencido")
    with pytest.raises(FaltaContexto):
        despachador.aplicar(evento, evento.contenido())
    aplicar(derivado())
    assert despachador.aplicar(evento, evento.contenido()) is True


def test_traslado_avisa_al_ciudadano_y_luego_a_la_nueva_entidad(db, despachador, aplicar, enviar):
    aplicar(registrado(), derivado())
    traslado = ev(
        "reclamo.trasladado",
        ReclamoTrasladado(
            entidad_anterior_id="minsa",
            entidad_id="munilima",
            entidad_nombre="Municipalidad Metropolitana de Lima",
            razon="La licencia municipal no es competencia del ministerio",
        ),
        30,
    )
    aplicar(traslado)
    # plazos already counts for the new entity, its derivado has not arrived: wait for it.
    vencido = aviso("plazo.vencido", entidad="munilima", minutos=60, restantes=0)
    with pytest.raises(FaltaContexto):
        despachador.aplicar(vencido, vencido.contenido())
    aplicar(derivado("mesa-de-partes", entidad="munilima", minutos=30, motivo="procedimiento"))
    aplicar(vencido)
    # registro had not yet heard of the traslado: its desistimiento names the old entity.
    aplicar(ev("reclamo.desistido", ReclamoDesistido(entidad_id="minsa"), 90))
    correos = enviar()

    [aviso_ciudadano] = [c for c in correos if c["To"] == EMAIL]
    assert aviso_ciudadano["Subject"] == f"Reclamo {COD} trasladado"
    texto = aviso_ciudadano.get_content()
    assert "desde Ministerio de Salud a Municipalidad Metropolitana de Lima" in texto
    assert "La licencia municipal no es competencia del ministerio" in texto
    assert para(correos, f"Nuevo reclamo {COD} en su bandeja") == sorted(INFRA + MESA)
    assert para(correos, f"Reclamo {COD} vencido") == sorted(MESA)
    assert para(correos, f"Reclamo {COD}: el ciudadano desistió") == sorted(MESA)


def test_unidad_retirada_del_catalogo_avisa_a_la_unidad_por_defecto(despachador, aplicar, enviar):
    aplicar(registrado(), derivado("integridad", minutos=1, motivo="confianza"))
    minsa = catalogo()["minsa"]
    sin_integridad = minsa.model_copy(
        update={
            "unidades": [u for u in minsa.unidades if u.id != "integridad"],
            "reglas": [r for r in minsa.reglas if r.unidad != "integridad"],
        }
    )
    aplicar(ev("catalogo.entidad_actualizada", EntidadActualizada(entidad=sin_integridad), 20))
    aplicar(aviso("plazo.por_vencer"))  # the copy is newer than the assignment: removed
    assert para(enviar(), f"Reclamo {COD} por vencer") == sorted(ATENCION)


# --- the citizen --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "orden", list(itertools.permutations(("registrado", "observado", "abierta")))
)
def test_observacion_se_envia_una_vez_cuando_estan_sus_dos_mitades(
    orden, db, despachador, aplicar, enviar
):
    obs = observado()
    eventos = {
        "registrado": registrado(),
        "observado": obs,
        "abierta": subsanacion_abierta(obs),
    }
    for i, nombre in enumerate(orden):
        aplicar(eventos[nombre])
        assert len(entregas(db, "observacion")) == (1 if i == 2 else 0), nombre
    for evento in eventos.values():  # redelivered: nothing twice
        assert despachador.aplicar(evento, evento.contenido()) is False

    correos = enviar()
    [correo] = [
        c for c in correos if c["Subject"] == f"Reclamo {COD}: la entidad necesita más información"
    ]
    assert correo["To"] == EMAIL
    texto = correo.get_content()
    assert "Indique el piso y la torre del ascensor malogrado." in texto
    assert "Tiene hasta el 25/11/2026 23:59 (hora de Lima)" in texto
    assert "queda suspendido" in texto
    # The entity's words are not kept once mailed.
    assert not db.reclamos.find_one({"_id": COD}).get("observaciones")


def test_archivado_y_nuevo_plazo_al_ciudadano(aplicar, enviar):
    aplicar(
        registrado(),
        ev(
            "plazo.calculado",
            PlazoCalculado(
                entidad_id="minsa",
                fecha_recepcion=T0.date(),
                vence_en=VENCE,
                dias_habiles=30,
            ),
            1,
        ),
    )
    nuevo = ev(
        "plazo.recalculado",
        PlazoRecalculado(
            entidad_id="minsa",
            vence_en=VENCE + timedelta(days=1),
            vence_antes=VENCE,
            razon="calendario",
        ),
        50,
    )
    viejo = ev(
        "plazo.recalculado",
        PlazoRecalculado(entidad_id="minsa", vence_en=VENCE, razon="calendario"),
        40,
    )
    aplicar(nuevo, viejo)  # the older recalculation arrives late: its date is no longer true
    aplicar(
        ev(
            "reclamo.archivado",
            ReclamoArchivado(entidad_id="minsa", razon="subsanacion_vencida"),
            90,
        )
    )
    correos = enviar()

    [plazo] = [c for c in correos if c["Subject"] == f"Reclamo {COD}: nuevo plazo de respuesta"]
    assert "hasta el 08/01/2027 (antes: 07/01/2027)" in plazo.get_content()
    [archivo] = [c for c in correos if c["Subject"] == f"Reclamo {COD} archivado"]
    assert archivo["To"] == EMAIL
    assert "puede presentar un nuevo reclamo" in archivo.get_content()
    assert [c["Subject"] for c in correos if c["To"] == EMAIL].count(
        f"Reclamo {COD} registrado ante Ministerio de Salud"
    ) == 1


def test_ciudadano_sin_email_no_recibe_correos(db, aplicar, enviar):
    obs = observado()
    aplicar(
        registrado(email=None),
        derivado(),
        ev(
            "plazo.calculado",
            PlazoCalculado(
                entidad_id="minsa", fecha_recepcion=T0.date(), vence_en=VENCE, dias_habiles=30
            ),
            1,
        ),
        obs,
        subsanacion_abierta(obs),
        ev(
            "plazo.recalculado",
            PlazoRecalculado(entidad_id="minsa", vence_en=VENCE, razon="subsanacion"),
            20,
        ),
        ev(
            "reclamo.trasladado",
            ReclamoTrasladado(
                entidad_anterior_id="minsa",
                entidad_id="munilima",
                entidad_nombre="Municipalidad Metropolitana de Lima",
                razon="Competencia municipal",
            ),
            30,
        ),
        ev("reclamo.archivado", ReclamoArchivado(entidad_id="munilima", razon="x"), 40),
    )
    correos = enviar()

    assert db.entregas.count_documents({"destinatario": "ciudadano"}) == 0
    assert sorted(c["To"] for c in correos) == sorted(INFRA)  # the unit still heard of it
    assert not db.reclamos.find_one({"_id": COD}).get("observaciones")


def test_observacion_con_sus_dos_mitades_a_la_vez_se_envia_una_vez(db, aplicar):
    """Two workers apply the halves at the same moment: both transactions hold their write when
    the other reads. The store's write conflict makes one retry and see the other's half."""
    juntas = threading.Barrier(2)
    base = manejadores(db, "https://reclamos.gob.pe")

    def a_la_vez(manejador):
        def manejar(evento, datos, s):
            resultado = manejador(evento, datos, s)
            with contextlib.suppress(threading.BrokenBarrierError):
                juntas.wait(timeout=2)  # both inside their transactions at once
            return resultado

        return manejar

    despachador = Despachador(
        db,
        SERVICIO,
        {
            **base,
            "reclamo.observado": a_la_vez(base["reclamo.observado"]),
            "plazo.subsanacion_abierta": a_la_vez(base["plazo.subsanacion_abierta"]),
        },
        Metricas("prueba"),
    )
    aplicar(registrado())
    obs = observado()
    errores: list[BaseException] = []

    def aplicar_con_reintento(evento: Evento) -> None:
        for _ in range(20):  # as the consumer does with a message that met a lock
            try:
                despachador.aplicar(evento, evento.contenido())
                return
            except AlmacenOcupado:
                continue
            except BaseException as exc:
                errores.append(exc)
                return

    hilos = [
        threading.Thread(target=aplicar_con_reintento, args=(e,))
        for e in (obs, subsanacion_abierta(obs))
    ]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join(timeout=60)

    assert errores == []
    assert db.procesados.count_documents({"tipo": {"$ne": "catalogo.entidad_actualizada"}}) == 3
    assert len(entregas(db, "observacion")) == 1


@pytest.mark.parametrize("orden", ["registro primero", "plazo primero"])
def test_el_acuse_sale_una_vez_con_el_plazo_mas_reciente_en_cualquier_orden(
    db, aplicar, enviar, orden
):
    """The acuse waits for the contact and the deadline, in either order, and says the deadline
    of the latest plazo.calculado by ocurrido_en, even if an older one arrives after it."""

    def calculado(vence: datetime, dias: int, minutos: float) -> Evento:
        datos = PlazoCalculado(
            entidad_id="minsa", fecha_recepcion=T0.date(), vence_en=vence, dias_habiles=dias
        )
        return ev("plazo.calculado", datos, minutos)

    reciente = calculado(VENCE, 30, 2)  # 07/01/2027 in Lima
    antiguo = calculado(VENCE - timedelta(days=7), 25, 1)
    if orden == "registro primero":
        aplicar(registrado(), reciente, antiguo)
    else:
        aplicar(reciente, antiguo, registrado())
    correos = enviar()

    acuses = [
        c for c in correos if c["Subject"] == f"Reclamo {COD} registrado ante Ministerio de Salud"
    ]
    assert len(acuses) == 1
    assert acuses[0]["To"] == EMAIL
    texto = acuses[0].get_content()
    assert "hasta el 07/01/2027" in texto
    assert "Fecha de recepción: 23/11/2026" in texto
    assert db.reclamos.find_one({"_id": COD})["vence_en"] == VENCE
