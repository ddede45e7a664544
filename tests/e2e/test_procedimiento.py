"""The whole procedure of the law (issue 6) through the gateway's HTTP API, on the real broker,
real stores and a real SMTP server: reasignación, observación answered in time (the clock paused
and resumed) or left unanswered (archived), traslado, desistimiento, a phone-only citizen's
reclamo closed by its survey or by the survey's expiry, and a 409 for every transition the state
machine does not allow.

Every expected date is computed here by hand (weekends, Peru's national holidays from the
`holidays` library and the days an operator declared), never with servicios.plazos.dominio. The
domain clock is shared by the whole session and only moves forward: every test files its own
reclamos and reads "now" from the clock file. Reclamos are typed in by the entity's staff
(presencial channel, not limited per client) unless the citizen's own filing is the point."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from functools import cache
from pathlib import Path
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import holidays
import httpx
import pytest
from pymongo import MongoClient

from comun.eventos import Entidad
from comun.reloj import adelantar
from gateway import credenciales
from herramientas.local import Plataforma
from servicios.registro.schemas import Adjunto
from tests.e2e.conftest import correos
from tests.esperas import esperar

pytestmark = pytest.mark.e2e

LIMA = ZoneInfo("America/Lima")
CATALOGO = Path(__file__).resolve().parents[2] / "infra" / "catalogo" / "entidades.json"
# The platform's defaults (DESIGN.md §2; the e2e platform does not change them).
DIAS_HABILES = 30
DIAS_AVISO = 5
DIAS_SUBSANACION = 2
HORA_CIERRE = time(16, 30)
ENCUESTA_DIAS_VIGENCIA = 30
# A sweep of the workers runs every BARRIDO_INTERVALO_S (1 s in tests/e2e/conftest.py). Whatever
# a sweeper must not do again is watched for this many seconds, several passes of every worker.
VENTANA_SIN_REPETICION_S = 5.0
# States in which the deadline runs (observado pauses it; the others ended it).
CORRIENDO = {"derivado", "en_atencion", "subsanado"}


# --- Business days, by hand ----------------------------------------------------------------------


@cache
def _feriados(anio: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PE", years=anio))


class Habiles:
    """Business days for the expectations: not Saturday or Sunday, not a national holiday of
    Peru, not a day the operator declared non-working."""

    def __init__(self, declarados: set[date] | frozenset[date] = frozenset()) -> None:
        self.declarados = frozenset(declarados)

    def con(self, dia: date) -> Habiles:
        return Habiles(self.declarados | {dia})

    def es_habil(self, dia: date) -> bool:
        return dia.weekday() < 5 and dia not in _feriados(dia.year) and dia not in self.declarados

    def despues(self, dia: date, n: int = 1) -> date:
        """The n-th business day strictly after `dia`."""
        for _ in range(n):
            dia += timedelta(days=1)
            while not self.es_habil(dia):
                dia += timedelta(days=1)
        return dia

    def antes(self, dia: date, n: int = 1) -> date:
        """The n-th business day strictly before `dia`."""
        for _ in range(n):
            dia -= timedelta(days=1)
            while not self.es_habil(dia):
                dia -= timedelta(days=1)
        return dia

    def entre(self, desde: date, hasta: date) -> int:
        """Business days d with desde < d <= hasta."""
        return sum(
            self.es_habil(desde + timedelta(days=k)) for k in range(1, (hasta - desde).days + 1)
        )

    def recepcion(self, registrado_en: datetime) -> date:
        """The day filed, if a business day and before the office closed; else the next one."""
        local = registrado_en.astimezone(LIMA)
        if self.es_habil(local.date()) and local.time() < HORA_CIERRE:
            return local.date()
        return self.despues(local.date())

    def vence_en(self, recepcion: date) -> datetime:
        """End (23:59:59 Lima) of the 30th business day after the recepción."""
        return fin_del_dia(self.despues(recepcion, DIAS_HABILES))


def fin_del_dia(dia: date) -> datetime:
    return datetime.combine(dia, time(23, 59, 59), tzinfo=LIMA).astimezone(UTC)


def dia_lima(momento: datetime) -> date:
    return momento.astimezone(LIMA).date()


def dd_mm_aaaa(momento: datetime | date) -> str:
    dia = dia_lima(momento) if isinstance(momento, datetime) else momento
    return dia.strftime("%d/%m/%Y")


def momento(texto: str) -> datetime:
    return datetime.fromisoformat(texto)


def calendario(api: httpx.Client, plataforma: Plataforma) -> Habiles:
    """Business days as they are now: with the days the operator has declared."""
    r = api.get("/calendario/dias-no-laborables", headers=clave(plataforma, "operador"))
    assert r.status_code == 200, r.text
    return Habiles({date.fromisoformat(d["fecha"]) for d in r.json()})


# --- The domain clock ----------------------------------------------------------------------------


def ahora(reloj: Path) -> datetime:
    """The platform's "now": the real clock plus the offset in the clock file."""
    return datetime.now(UTC) + timedelta(seconds=float(reloj.read_text().strip() or "0"))


def hoy(reloj: Path) -> date:
    return dia_lima(ahora(reloj))


def avanzar_hasta(reloj: Path, dia: date) -> None:
    """Moves the clock forward by whole days until the domain's date in Lima is `dia` (keeping
    the time of day); never backwards."""
    if (dias := (dia - hoy(reloj)).days) > 0:
        adelantar(reloj, dias=dias)
    assert hoy(reloj) >= dia


# --- The catalogue -------------------------------------------------------------------------------


def catalogo() -> dict[str, Entidad]:
    """The demo catalogue the platform loaded at start (read again each time: it may grow)."""
    return {e["id"]: Entidad.model_validate(e) for e in json.loads(CATALOGO.read_text())}


def responsables(entidad_id: str, unidad_id: str) -> list[str]:
    """Every address that must hear about the unit's reclamos: titular and alterno."""
    unidad = next(u for u in catalogo()[entidad_id].unidades if u.id == unidad_id)
    return [r.email.lower() for r in unidad.responsables()]


def nombre_de_unidad(entidad_id: str, unidad_id: str) -> str:
    return next(u.nombre for u in catalogo()[entidad_id].unidades if u.id == unidad_id)


# --- Credentials ---------------------------------------------------------------------------------


def clave(plataforma: Plataforma, quien: str) -> dict[str, str]:
    """Headers for a demo credential: "operador", "supervisor" or an entity id."""
    return {"X-API-Key": plataforma.claves[quien]}  # type: ignore[attr-defined]


def clave_de_unidad(plataforma: Plataforma, entidad_id: str, unidad_id: str) -> dict[str, str]:
    """A new key of the entity's staff bound to one unit (made in the gateway's store, as the
    operator's command `python -m gateway.credenciales crear --unidad` does)."""
    cliente: MongoClient = MongoClient(plataforma._mongo(0, "gateway"))
    try:
        nueva = credenciales.crear(
            cliente["gateway"], "entidad", f"Unidad {unidad_id}", entidad_id, unidad_id
        )
    finally:
        cliente.close()
    return {"X-API-Key": nueva}


# --- Filing and following a reclamo --------------------------------------------------------------


@dataclass(frozen=True)
class Reclamo:
    codigo: str
    documento: str
    email: str | None
    entidad_id: str
    registrado_en: datetime


def presentar(
    api: httpx.Client,
    plataforma: Plataforma,
    entidad_id: str = "minsa",
    *,
    motivo: str = "trato",
    sede: str | None = None,
    canal: str = "presencial",
    con_email: bool = True,
    descripcion: str = "Me atendieron de mala manera y no me dieron la información pedida.",
) -> Reclamo:
    """Files a new reclamo of a new citizen (own DNI, own email or phone only)."""
    documento = f"{secrets.randbelow(10**8):08d}"
    email = f"ciudadano-{uuid.uuid4().hex[:12]}@prueba.pe" if con_email else None
    ciudadano: dict = {
        "documento": {"tipo": "dni", "numero": documento},
        "nombres": "Rosa",
        "apellidos": "Condori Mamani",
    }
    if email:
        ciudadano["email"] = email
    else:
        ciudadano["telefono"] = "987 654 321"
    hoja = {
        "canal": canal,
        "ciudadano": ciudadano,
        "entidad_id": entidad_id,
        "sede": sede,
        "ocurrido_en": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "motivo": motivo,
        "descripcion": descripcion,
        "pedido": "Que se corrija y se me responda por escrito.",
        "medio_respuesta": "email" if email else "telefono",
        "acepta_privacidad": True,
    }
    cabeceras = clave(plataforma, entidad_id) if canal == "presencial" else {}
    r = api.post("/reclamos", json=hoja, headers=cabeceras)
    assert r.status_code == 201, r.text
    return Reclamo(
        r.json()["codigo"], documento, email, entidad_id, momento(r.json()["registrado_en"])
    )


def seguir(api: httpx.Client, reclamo: Reclamo) -> dict:
    r = api.post(
        "/seguimiento", json={"codigo": reclamo.codigo, "numero_documento": reclamo.documento}
    )
    assert r.status_code == 200, r.text
    return r.json()


def esperar_seguimiento(
    api: httpx.Client,
    reclamo: Reclamo,
    condicion: Callable[[dict], object],
    que: str,
    plazo: float = 60.0,
) -> dict:
    """What the citizen sees, once `condicion` holds."""

    def mirar() -> dict | None:
        visto = seguir(api, reclamo)
        return visto if condicion(visto) else None

    return esperar(mirar, que, plazo)


def textos(visto: dict) -> list[str]:
    return [h["texto"] for h in visto["historial"]]


def estados(historial: list[dict]) -> list[str]:
    return [h["estado"] for h in historial if h.get("estado")]


def nuevos_plazos(visto: dict) -> list[str]:
    return [t for t in textos(visto) if t.startswith("Nuevo plazo")]


def ver(api: httpx.Client, codigo: str, cabeceras: dict[str, str]) -> httpx.Response:
    return api.get(f"/bandeja/{codigo}", headers=cabeceras)


def esperar_entrada(
    api: httpx.Client,
    codigo: str,
    cabeceras: dict[str, str],
    condicion: Callable[[dict], object],
    que: str,
    plazo: float = 60.0,
) -> dict:
    """The reclamo in the bandeja, once `condicion` holds."""

    def mirar() -> dict | None:
        r = ver(api, codigo, cabeceras)
        return r.json() if r.status_code == 200 and condicion(r.json()) else None

    return esperar(mirar, que, plazo)


def listo(api: httpx.Client, plataforma: Plataforma, reclamo: Reclamo) -> tuple[dict, dict]:
    """Waits until the reclamo is routed with its deadline counted, for the citizen and in the
    entity's bandeja; returns (tracking, bandeja entry)."""
    visto = esperar_seguimiento(
        api,
        reclamo,
        lambda s: s["estado"] == "derivado" and s["vence_en"],
        f"{reclamo.codigo} derivado y con plazo en el seguimiento",
    )
    entrada = esperar_entrada(
        api,
        reclamo.codigo,
        clave(plataforma, reclamo.entidad_id),
        lambda e: e["vence_en"],
        f"{reclamo.codigo} con plazo en la bandeja",
    )
    return visto, entrada


def vence_a_mano(api: httpx.Client, plataforma: Plataforma, reclamo: Reclamo) -> datetime:
    cal = calendario(api, plataforma)
    return cal.vence_en(cal.recepcion(reclamo.registrado_en))


# --- Acting on it --------------------------------------------------------------------------------


def accion(
    api: httpx.Client,
    codigo: str,
    que: str,
    cabeceras: dict[str, str],
    cuerpo: dict | None = None,
    idempotencia: str | None = None,
) -> httpx.Response:
    """POST /bandeja/{codigo}/{que}, with its own Idempotency-Key unless one is given."""
    headers = {**cabeceras, "Idempotency-Key": idempotencia or str(uuid.uuid4())}
    return api.post(f"/bandeja/{codigo}/{que}", headers=headers, json=cuerpo)


def responder(api: httpx.Client, codigo: str, cabeceras: dict[str, str]) -> httpx.Response:
    texto = "Revisamos su caso: se corrigió el trámite y se capacitó al personal."
    return accion(api, codigo, "respuesta", cabeceras, {"texto": texto})


def subsanar(api: httpx.Client, reclamo: Reclamo, texto: str, adjuntos=()) -> httpx.Response:
    cuerpo = {"numero_documento": reclamo.documento, "texto": texto, "adjuntos": list(adjuntos)}
    return api.post(f"/reclamos/{reclamo.codigo}/subsanacion", json=cuerpo)


def desistir(api: httpx.Client, reclamo: Reclamo, documento: str | None = None) -> httpx.Response:
    cuerpo = {
        "numero_documento": documento or reclamo.documento,
        "razon": "La entidad ya resolvió mi problema por otra vía.",
    }
    return api.post(f"/reclamos/{reclamo.codigo}/desistimiento", json=cuerpo)


# Every action of the entity, with a valid body, to show what a state refuses.
ACCIONES_DE_LA_ENTIDAD: dict[str, dict | None] = {
    "atencion": None,
    "respuesta": {"texto": "Atendimos su pedido y corregimos el procedimiento."},
    "observacion": {"observacion": "Indique la fecha exacta y la sede donde ocurrió."},
    "reasignacion": {"unidad_id": "integridad", "razon": "Corresponde a otra oficina."},
    "traslado": {"entidad_id": "munilima", "razon": "Es competencia de la municipalidad."},
}


def rechazada(r: httpx.Response, estado: str, error: str | None = "transicion_invalida") -> None:
    """A 409 whose message names the state the reclamo is in."""
    assert r.status_code == 409, r.text
    cuerpo = r.json()
    if error:
        assert cuerpo["error"] == error, cuerpo
    assert estado in cuerpo["mensaje"], cuerpo


def campos(r: httpx.Response) -> set[str]:
    return {d["campo"] for d in r.json().get("detalle") or []}


# --- Pages ---------------------------------------------------------------------------------------


def paginas(api: httpx.Client, ruta: str, cabeceras: dict[str, str], **filtros) -> list[list]:
    """Every page of a {"items", "siguiente"} listing, following the cursor until it ends."""
    params = {k: v for k, v in filtros.items() if v is not None}
    leidas: list[list] = []
    while True:
        r = api.get(ruta, headers=cabeceras, params=params)
        assert r.status_code == 200, r.text
        leidas.append(r.json()["items"])
        if not (cursor := r.json()["siguiente"]):
            return leidas
        assert len(leidas) < 10_000, "el cursor no termina"
        params["cursor"] = cursor


def todos(api: httpx.Client, ruta: str, cabeceras: dict[str, str], **filtros) -> list[dict]:
    return [item for pagina in paginas(api, ruta, cabeceras, **filtros) for item in pagina]


def codigos(items: list[dict]) -> list[str]:
    return [i["codigo"] for i in items]


# --- Mail ----------------------------------------------------------------------------------------


def destinatarios(mensaje: EmailMessage) -> set[str]:
    cabeceras = [str(v) for v in (mensaje.get_all("To") or []) + (mensaje.get_all("Cc") or [])]
    return {direccion.lower() for _, direccion in getaddresses(cabeceras)}


def correos_a(buzon: Path, direccion: str, *en_el_asunto: str) -> list[EmailMessage]:
    """Every mail delivered to `direccion` (alone or with others) whose subject has all words."""
    return [
        m
        for m in correos(buzon)
        if direccion.lower() in destinatarios(m)
        and all(t in str(m["Subject"]) for t in en_el_asunto)
    ]


def esperar_correo(buzon: Path, direccion: str, *en_el_asunto: str) -> EmailMessage:
    return esperar(
        lambda: next(iter(correos_a(buzon, direccion, *en_el_asunto)), None),
        f"correo a {direccion} con {en_el_asunto}",
        60.0,
    )


def cuerpo(mensaje: EmailMessage) -> str:
    parte = mensaje.get_body(preferencelist=("plain", "html"))
    return parte.get_content() if parte is not None else ""


def sin_cambios(condicion: Callable[[], bool], que: str, segundos: float) -> None:
    """Polls `condicion` for `segundos` and fails as soon as it stops holding: what must not
    happen again (a second warning) can only be watched for a while, never proven absent."""
    limite = monotonic() + segundos
    while monotonic() < limite:
        assert condicion(), que
        sleep(0.2)  # the polling interval
    assert condicion(), que


# --- Tests ---------------------------------------------------------------------------------------


def test_reasignacion_a_otra_unidad_de_la_entidad(plataforma, api):
    minsa = clave(plataforma, "minsa")
    reclamo = presentar(api, plataforma, "minsa", motivo="infraestructura")
    codigo = reclamo.codigo
    listo(api, plataforma, reclamo)
    infraestructura = clave_de_unidad(plataforma, "minsa", "infraestructura")
    integridad = clave_de_unidad(plataforma, "minsa", "integridad")
    assert ver(api, codigo, infraestructura).status_code == 200
    assert ver(api, codigo, integridad).status_code == 404

    # Not a unit of this entity, or the same one: a 422 naming the field; a reason is required.
    razon = "Los hechos describen un posible conflicto de intereses del personal."
    for unidad in ("infraestructura", "licencias", "no-existe"):
        r = accion(api, codigo, "reasignacion", minsa, {"unidad_id": unidad, "razon": razon})
        assert r.status_code == 422 and "unidad_id" in campos(r), r.text
    r = accion(api, codigo, "reasignacion", minsa, {"unidad_id": "integridad", "razon": "x"})
    assert r.status_code == 422 and "razon" in campos(r), r.text

    idempotencia = str(uuid.uuid4())
    cuerpo_reasignacion = {"unidad_id": "integridad", "razon": razon}
    r = accion(api, codigo, "reasignacion", minsa, cuerpo_reasignacion, idempotencia)
    assert r.status_code == 200, r.text
    assert r.json()["unidad_id"] == "integridad"
    assert r.json()["unidad_nombre"] == nombre_de_unidad("minsa", "integridad")
    assert r.json()["estado"] == "derivado"
    # The same request retried with its key: the first answer again, nothing done twice.
    otra_vez = accion(api, codigo, "reasignacion", minsa, cuerpo_reasignacion, idempotencia)
    assert otra_vez.status_code == 200 and otra_vez.json() == r.json()

    # Every responsable of the new unit (titular and alterno) is told, with the reason.
    for direccion in responsables("minsa", "integridad"):
        aviso = esperar_correo(plataforma.correo, direccion, codigo, "reasignado")
        assert razon in cuerpo(aviso)

    # The old unit no longer sees it nor acts on it; the new unit does.
    assert ver(api, codigo, infraestructura).status_code == 404
    assert codigo not in codigos(todos(api, "/bandeja", infraestructura))
    assert responder(api, codigo, infraestructura).status_code == 404
    assert ver(api, codigo, integridad).status_code == 200
    assert codigo in codigos(todos(api, "/bandeja", integridad))
    assert codigo in codigos(todos(api, "/bandeja", minsa, unidad="integridad"))
    assert codigo not in codigos(todos(api, "/bandeja", minsa, unidad="infraestructura"))

    # The citizen's timeline names the new unit.
    nueva = nombre_de_unidad("minsa", "integridad")
    esperar_seguimiento(
        api,
        reclamo,
        lambda s: any(nueva in t for t in textos(s)),
        "la reasignación en el historial del ciudadano",
    )
    for direccion in responsables("minsa", "integridad"):
        assert len(correos_a(plataforma.correo, direccion, codigo, "reasignado")) == 1


def test_observacion_subsanada_a_tiempo_pausa_y_reanuda_el_plazo(plataforma, api, reloj):
    minsa = clave(plataforma, "minsa")
    reclamo = presentar(api, plataforma, "minsa", motivo="informacion", canal="virtual")
    codigo = reclamo.codigo
    visto, _ = listo(api, plataforma, reclamo)
    cal = calendario(api, plataforma)
    recepcion = cal.recepcion(reclamo.registrado_en)
    vence = cal.vence_en(recepcion)
    assert momento(visto["vence_en"]) == vence
    assert visto["reloj_pausado"] is False and visto["observacion"] is None

    # The entity observes on day 1 of the term (a business day, the clock running)...
    observado_el = cal.despues(recepcion)
    avanzar_hasta(reloj, observado_el)
    r = accion(api, codigo, "observacion", minsa, {"observacion": "Falta."})
    assert r.status_code == 422 and "observacion" in campos(r), r.text
    falta = "Adjunte la boleta de la atención y precise el nombre del servidor que lo atendió."
    r = accion(api, codigo, "observacion", minsa, {"observacion": falta})
    assert r.status_code == 200, r.text
    assert r.json()["estado"] == "observado"
    assert hoy(reloj) == observado_el
    subsanar_hasta = fin_del_dia(cal.despues(observado_el, DIAS_SUBSANACION))

    # ...the citizen sees what is missing, until when, and that the clock is paused...
    visto = esperar_seguimiento(
        api,
        reclamo,
        lambda s: s["estado"] == "observado" and s["subsanar_hasta"],
        "la observación en el seguimiento",
    )
    assert visto["observacion"] == falta
    assert momento(visto["subsanar_hasta"]) == subsanar_hasta
    assert visto["reloj_pausado"] is True
    assert any(h["estado"] == "observado" and falta in h["texto"] for h in visto["historial"]), (
        visto["historial"]
    )
    visto = esperar_seguimiento(
        api,
        reclamo,
        lambda s: any(
            f"Tiene hasta el {dd_mm_aaaa(subsanar_hasta)} para subsanar" in t for t in textos(s)
        ),
        "el plazo para subsanar en el historial",
    )
    # ...and is mailed it.
    correo = esperar_correo(plataforma.correo, reclamo.email, codigo, "necesita más información")
    assert falta in cuerpo(correo) and dd_mm_aaaa(subsanar_hasta) in cuerpo(correo)
    # The entity and plazos agree.
    entrada = ver(api, codigo, minsa).json()
    assert entrada["estado"] == "observado" and entrada["observacion"] == falta
    assert momento(entrada["subsanar_hasta"]) == subsanar_hasta
    plazo = esperar(
        lambda: (
            (p := api.get(f"/plazos/{codigo}", headers=minsa)).status_code == 200
            and p.json()["reloj_pausado"]
            and p.json()
        ),
        "el reloj en pausa para plazos",
    )
    assert momento(plazo["subsanar_hasta"]) == subsanar_hasta

    # Only the citizen, with the right document and a real answer.
    texto = "Adjunto la boleta 001-2345; me atendió el servidor de la ventanilla 4."
    boleta = Adjunto(nombre="boleta.pdf", tipo_mime="application/pdf", tamano_bytes=182_000)
    impostor = Reclamo(codigo, "11111111", None, "minsa", reclamo.registrado_en)
    assert subsanar(api, impostor, texto).status_code == 404
    assert subsanar(api, reclamo, "corto").status_code == 422

    # The next business day, within the 2 days, the citizen answers with a document.
    subsanado_el = cal.despues(observado_el)
    avanzar_hasta(reloj, subsanado_el)
    r = subsanar(api, reclamo, texto, [boleta.model_dump(mode="json")])
    assert r.status_code == 200, r.text
    assert r.json()["codigo"] == codigo and r.json()["estado"] == "subsanado"

    # Back in the entity's bandeja, with the answer and its attachment.
    entrada = esperar_entrada(
        api, codigo, minsa, lambda e: e["estado"] == "subsanado", "subsanado en la bandeja"
    )
    assert entrada["subsanacion"]["texto"] == texto
    assert [a["nombre"] for a in entrada["subsanacion"]["adjuntos"]] == ["boleta.pdf"]

    # The clock resumes; the business days it was paused do not count.
    pausados = cal.entre(observado_el, subsanado_el)
    assert pausados == 1
    nuevo = fin_del_dia(cal.despues(dia_lima(vence), pausados))
    assert nuevo > vence
    visto = esperar_seguimiento(
        api,
        reclamo,
        lambda s: (
            s["vence_en"]
            and momento(s["vence_en"]) == nuevo
            and s["reloj_pausado"] is False
            and any(dd_mm_aaaa(nuevo) in t for t in nuevos_plazos(s))
        ),
        "el nuevo plazo tras la subsanación en el seguimiento",
    )
    assert "subsanado" in estados(visto["historial"])
    correo = esperar_correo(plataforma.correo, reclamo.email, codigo, "nuevo plazo")
    assert dd_mm_aaaa(nuevo) in cuerpo(correo)
    esperar_entrada(
        api, codigo, minsa, lambda e: momento(e["vence_en"]) == nuevo, "nuevo plazo en la bandeja"
    )
    plazo = api.get(f"/plazos/{codigo}", headers=minsa).json()
    assert momento(plazo["vence_en"]) == nuevo and plazo["reloj_pausado"] is False

    # And the entity goes on working it.
    r = accion(api, codigo, "atencion", minsa)
    assert r.status_code == 200 and r.json()["estado"] == "en_atencion", r.text


def test_observacion_sin_subsanar_se_archiva(plataforma, api, reloj):
    minsa = clave(plataforma, "minsa")
    reclamo = presentar(api, plataforma, "minsa", motivo="resultado")
    codigo = reclamo.codigo
    listo(api, plataforma, reclamo)
    cal = calendario(api, plataforma)

    observado_el = hoy(reloj)
    falta = "Indique el número de expediente del trámite que reclama."
    r = accion(api, codigo, "observacion", minsa, {"observacion": falta})
    assert r.status_code == 200, r.text
    ultimo_dia = cal.despues(observado_el, DIAS_SUBSANACION)
    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["subsanar_hasta"], "el plazo para subsanar en el seguimiento"
    )
    assert momento(visto["subsanar_hasta"]) == fin_del_dia(ultimo_dia)

    # The citizen lets the 2 business days pass (3 or more calendar days).
    avanzar_hasta(reloj, ultimo_dia + timedelta(days=1))
    assert (hoy(reloj) - observado_el).days >= 3
    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["estado"] == "archivado", "archivado por falta de subsanación"
    )
    assert any("puede presentar un nuevo reclamo" in t for t in textos(visto)), textos(visto)
    assert "archivado" in estados(visto["historial"])
    esperar_correo(plataforma.correo, reclamo.email, codigo, "archivado")
    esperar_entrada(api, codigo, minsa, lambda e: e["estado"] == "archivado", "archivado")

    # Too late to answer the observación, and nothing more is asked of the entity.
    tarde = subsanar(api, reclamo, "Aquí está el número de expediente 2026-00123.")
    assert tarde.status_code == 409, tarde.text
    assert tarde.json()["error"] in {"transicion_invalida", "plazo_vencido"}, tarde.json()
    rechazada(responder(api, codigo, minsa), "archivado")
    rechazada(desistir(api, reclamo), "archivado", error=None)


def test_traslado_a_la_entidad_competente(plataforma, api):
    minsa, munilima = clave(plataforma, "minsa"), clave(plataforma, "munilima")
    reclamo = presentar(api, plataforma, "minsa", motivo="tiempo")
    codigo = reclamo.codigo
    visto, _ = listo(api, plataforma, reclamo)
    vence = momento(visto["vence_en"])
    assert vence == vence_a_mano(api, plataforma, reclamo)

    razon = "La licencia de funcionamiento del local es competencia de la municipalidad."
    for entidad_id in ("minsa", "no-existe"):
        r = accion(api, codigo, "traslado", minsa, {"entidad_id": entidad_id, "razon": razon})
        assert r.status_code == 422 and "entidad_id" in campos(r), r.text
    r = accion(api, codigo, "traslado", minsa, {"entidad_id": "munilima", "razon": razon})
    assert r.status_code == 200, r.text
    destino = catalogo()["munilima"]
    assert r.json()["entidad_id"] == "munilima"
    assert r.json()["unidad_id"] == destino.unidad_por_defecto
    assert r.json()["estado"] == "derivado"

    # The old entity loses it.
    assert ver(api, codigo, minsa).status_code == 404
    assert responder(api, codigo, minsa).status_code == 404
    assert codigo not in codigos(todos(api, "/bandeja", minsa))

    # The new entity's default unit has it, with its history.
    entrada = esperar_entrada(api, codigo, munilima, lambda e: True, "en la bandeja de munilima")
    assert entrada["unidad_id"] == destino.unidad_por_defecto
    pasos = estados(entrada["historial"])
    assert "trasladado" in pasos, entrada["historial"]
    assert "derivado" in pasos[: pasos.index("trasladado")], entrada["historial"]
    assert codigo in codigos(todos(api, "/bandeja", munilima))
    # Its responsables (titular and alterno) are told, as of any reclamo routed to them.
    for direccion in responsables("munilima", destino.unidad_por_defecto):
        aviso = esperar_correo(plataforma.correo, direccion, codigo, "Nuevo reclamo")
        assert "motivo: tiempo" in cuerpo(aviso)

    # The citizen is told: by mail and in the timeline, with the new entity and the reason.
    correo = esperar_correo(plataforma.correo, reclamo.email, codigo, "trasladado")
    assert destino.nombre in cuerpo(correo)
    esperar_seguimiento(
        api,
        reclamo,
        lambda s: any(destino.nombre in t and razon in t for t in textos(s)),
        "el traslado en el historial del ciudadano",
    )

    # Default policy: the clock keeps running from the original recepción.
    plazo = esperar(
        lambda: (
            (p := api.get(f"/plazos/{codigo}", headers=munilima)).status_code == 200 and p.json()
        ),
        "el plazo en manos de la nueva entidad",
    )
    assert plazo["entidad_id"] == "munilima"
    assert momento(plazo["vence_en"]) == vence
    assert api.get(f"/plazos/{codigo}", headers=minsa).status_code == 404
    assert momento(ver(api, codigo, munilima).json()["vence_en"]) == vence
    assert momento(seguir(api, reclamo)["vence_en"]) == vence

    # The new entity works it.
    r = accion(api, codigo, "atencion", munilima)
    assert r.status_code == 200 and r.json()["estado"] == "en_atencion", r.text


def test_desistimiento_del_ciudadano(plataforma, api):
    minsa = clave(plataforma, "minsa")
    reclamo = presentar(api, plataforma, "minsa", motivo="infraestructura", canal="virtual")
    codigo = reclamo.codigo
    listo(api, plataforma, reclamo)

    assert desistir(api, reclamo, documento="11111111").status_code == 404
    r = desistir(api, reclamo)
    assert r.status_code == 200, r.text
    assert r.json()["codigo"] == codigo and r.json()["estado"] == "desistido"

    # The unit's responsables (titular and alterno) are told.
    for direccion in responsables("minsa", "infraestructura"):
        esperar_correo(plataforma.correo, direccion, codigo, "desisti")

    # Nothing more is asked of the entity: every action is refused, naming the state.
    esperar_entrada(api, codigo, minsa, lambda e: e["estado"] == "desistido", "desistido")
    for que, cuerpo_accion in ACCIONES_DE_LA_ENTIDAD.items():
        rechazada(accion(api, codigo, que, minsa, cuerpo_accion), "desistido")
    rechazada(desistir(api, reclamo), "desistido", error=None)

    visto = seguir(api, reclamo)
    assert visto["estado"] == "desistido"
    assert "desistido" in estados(visto["historial"])


def test_cada_transicion_no_permitida_es_un_409(plataforma, api):
    minsa = clave(plataforma, "minsa")
    supervisor = clave(plataforma, "supervisor")

    # derivado: the citizen cannot answer an observación that was never made.
    observado = presentar(api, plataforma, "minsa", motivo="procedimiento")
    listo(api, plataforma, observado)
    texto = "Envío el dato que me pidieron, el expediente 2026-77."
    rechazada(subsanar(api, observado, texto), "derivado", error=None)

    # observado: only the citizen's subsanación (or the archive, or a desistimiento) may follow.
    falta = "Indique en qué sede y en qué fecha ocurrió lo que reclama."
    r = accion(api, observado.codigo, "observacion", minsa, {"observacion": falta})
    assert r.status_code == 200, r.text
    for que, cuerpo_accion in ACCIONES_DE_LA_ENTIDAD.items():
        rechazada(accion(api, observado.codigo, que, minsa, cuerpo_accion), "observado")

    # respondido: the answer only once; nothing else but the closing.
    respondido = presentar(api, plataforma, "minsa", motivo="trato")
    listo(api, plataforma, respondido)
    r = responder(api, respondido.codigo, minsa)
    assert r.status_code == 200 and r.json()["estado"] == "respondido", r.text
    for que, cuerpo_accion in ACCIONES_DE_LA_ENTIDAD.items():
        rechazada(accion(api, respondido.codigo, que, minsa, cuerpo_accion), "respondido")
    esperar_seguimiento(
        api, respondido, lambda s: s["estado"] == "respondido", "respondido en el seguimiento"
    )
    rechazada(desistir(api, respondido), "respondido", error=None)
    rechazada(subsanar(api, respondido, texto), "respondido", error=None)

    # The clock stopped with the answer: the supervisor can no longer intervene.
    esperar(
        lambda: (
            api.get(f"/plazos/{respondido.codigo}", headers=minsa).json()["dias_habiles_usados"]
            is not None
        ),
        "el plazo detenido por la respuesta",
    )
    r = api.post(
        f"/supervision/reclamos/{respondido.codigo}/intervencion",
        headers={**supervisor, "Idempotency-Key": str(uuid.uuid4())},
        json={"nota": "Informe por qué no respondió dentro del plazo."},
    )
    assert r.status_code == 409, r.text


def test_ciudadano_sin_correo_cierra_su_reclamo_con_la_encuesta_del_seguimiento(plataforma, api):
    munilima = clave(plataforma, "munilima")
    reclamo = presentar(
        api, plataforma, "munilima", motivo="informacion", canal="virtual", con_email=False
    )
    visto, _ = listo(api, plataforma, reclamo)
    assert visto["encuesta"] is None

    assert responder(api, reclamo.codigo, munilima).status_code == 200
    token = token_de_la_encuesta(api, reclamo)
    encuesta = api.get(f"/encuestas/{token}")
    assert encuesta.status_code == 200, encuesta.text
    assert encuesta.json()["estado"] == "pendiente"
    assert encuesta.json()["codigo"] == reclamo.codigo
    assert api.post(f"/encuestas/{token}", json=RESPUESTAS_ENCUESTA).status_code == 200

    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["estado"] == "cerrado", "cerrado por la encuesta respondida"
    )
    assert visto["encuesta"] is None
    assert estados(visto["historial"])[-1] == "cerrado"
    esperar_entrada(api, reclamo.codigo, munilima, lambda e: e["estado"] == "cerrado", "cerrado")


def test_la_encuesta_que_vence_cierra_el_reclamo(plataforma, api, reloj):
    munilima = clave(plataforma, "munilima")
    reclamo = presentar(api, plataforma, "munilima", motivo="informacion", con_email=False)
    listo(api, plataforma, reclamo)
    assert responder(api, reclamo.codigo, munilima).status_code == 200
    token = token_de_la_encuesta(api, reclamo)

    adelantar(reloj, dias=ENCUESTA_DIAS_VIGENCIA + 1)
    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["estado"] == "cerrado", "cerrado por la encuesta vencida"
    )
    assert visto["encuesta"] is None
    assert api.get(f"/encuestas/{token}").json()["estado"] == "vencida"
    tarde = api.post(f"/encuestas/{token}", json=RESPUESTAS_ENCUESTA)
    assert tarde.status_code == 409 and tarde.json()["error"] == "encuesta_vencida", tarde.text
    esperar_entrada(api, reclamo.codigo, munilima, lambda e: e["estado"] == "cerrado", "cerrado")


RESPUESTAS_ENCUESTA = {
    "satisfaccion": 3,
    "resuelto": False,
    "impulsores": {
        "tiempo": 2,
        "trato": 4,
        "informacion": 3,
        "acceso": 3,
        "resultado": 2,
        "confianza": 3,
    },
}


def token_de_la_encuesta(api: httpx.Client, reclamo: Reclamo) -> str:
    """The survey link a citizen without email finds in tracking once the answer is given."""
    visto = esperar_seguimiento(
        api, reclamo, lambda s: s["encuesta"], "el enlace de la encuesta en el seguimiento"
    )
    assert visto["estado"] == "respondido"
    assert "/api/v1/encuestas/" in visto["encuesta"], visto["encuesta"]
    return visto["encuesta"].rstrip("/").rsplit("/", 1)[1]
