"""The life of a reclamo inside the entity, how it is routed, and how the bandeja is ordered and
paged. Pure: no I/O."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime, time

from comun.eventos import Entidad, Unidad
from comun.tiempo import LIMA

# --- the state machine (DESIGN.md §2; the contract of issue 6) ------------------------------------

# For each state, the actions allowed in it and the state each one leads to. Anything else is
# refused naming the current state. `registrado` is the reclamo derivacion has not routed yet (its
# registration event may arrive after the citizen's desistimiento).
MAQUINA: dict[str, dict[str, str]] = {
    "registrado": {"desistir": "desistido"},
    "derivado": {
        "atender": "en_atencion",
        "observar": "observado",
        "reasignar": "derivado",
        "trasladar": "derivado",
        "responder": "respondido",
        "desistir": "desistido",
    },
    "en_atencion": {
        "observar": "observado",
        # The new unit (or entity) starts over: it has not taken it up yet.
        "reasignar": "derivado",
        "trasladar": "derivado",
        "responder": "respondido",
        "desistir": "desistido",
    },
    "observado": {"subsanar": "subsanado", "archivar": "archivado", "desistir": "desistido"},
    "subsanado": {
        "atender": "en_atencion",
        "observar": "observado",
        "reasignar": "derivado",
        "trasladar": "derivado",
        "responder": "respondido",
        "desistir": "desistido",
    },
    "respondido": {"cerrar": "cerrado"},
    "cerrado": {},
    "archivado": {},
    "desistido": {},
}

ESTADOS = tuple(MAQUINA)
TERMINALES = frozenset(e for e, acciones in MAQUINA.items() if not acciones)
# States in which the legal deadline runs (unless paused while waiting for a subsanación).
ABIERTOS = frozenset({"derivado", "en_atencion", "observado", "subsanado"})

# How the refusal reads: "Un reclamo en estado respondido no puede ser reasignado."
_QUE = {
    "atender": "pasar a atención",
    "observar": "ser observado",
    "reasignar": "ser reasignado",
    "trasladar": "ser trasladado",
    "responder": "ser respondido",
    "desistir": "recibir un desistimiento",
    "subsanar": "ser subsanado",
    "archivar": "ser archivado",
    "cerrar": "ser cerrado",
}
ACCIONES = tuple(_QUE)


def puede(estado: str, accion: str) -> bool:
    return accion in MAQUINA.get(estado, {})


def resultado(estado: str, accion: str) -> str:
    """The state `accion` leads to from `estado` (KeyError if it is not allowed)."""
    return MAQUINA[estado][accion]


def rechazo(estado: str, accion: str) -> str:
    return f"Un reclamo en estado {estado} no puede {_QUE[accion]}."


# --- routing ------------------------------------------------------------------------------------


def derivar(entidad: Entidad, motivo: str, sede: str | None) -> tuple[Unidad, bool]:
    """The unit that must answer: the first rule whose conditions all match, else the default.

    Returns the unit and whether a rule chose it.
    """
    unidades = {u.id: u for u in entidad.unidades}
    for regla in entidad.reglas:
        if regla.motivo is not None and regla.motivo != motivo:
            continue
        if regla.sede is not None and (sede or "").casefold() != regla.sede.casefold():
            continue
        return unidades[regla.unidad], True
    return unidades[entidad.unidad_por_defecto], False


def unidad_por_defecto(entidad: Entidad) -> Unidad:
    return next(u for u in entidad.unidades if u.id == entidad.unidad_por_defecto)


def errores_de_catalogo(entidad: Entidad) -> list[dict[str, str]]:
    """Units referenced by the default and the rules must exist, and unit ids be unique."""
    ids = [u.id for u in entidad.unidades]
    errores = []
    if len(set(ids)) != len(ids):
        errores.append({"campo": "unidades", "mensaje": "Hay unidades con el mismo id."})
    if entidad.unidad_por_defecto not in ids:
        errores.append(
            {"campo": "unidad_por_defecto", "mensaje": "No es una unidad de la entidad."}
        )
    for i, regla in enumerate(entidad.reglas):
        if regla.unidad not in ids:
            errores.append(
                {"campo": f"reglas.{i}.unidad", "mensaje": "No es una unidad de la entidad."}
            )
    return errores


# --- urgency and the bandeja's cursor -----------------------------------------------------------

# The bandeja is ordered by one string field, so one index serves the order, the cursor and the
# "vence antes de" filter: "0|<vence_en UTC, ms>|<código>" while the deadline runs, else
# "1|<código>" (not computed yet, paused, or stopped): those go after every running one.
CORRE = "0|"
SIN_PLAZO = "1|"
_CLAVE = re.compile(r"^(0\|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z|1)\|[!-~]{1,60}$")


def _instante(momento: datetime) -> str:
    """Fixed width, so that the text sorts as the time does (milliseconds: what the store keeps)."""
    utc = momento.astimezone(UTC) if momento.tzinfo else momento.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def reloj_corre(estado: str | None, vence_en: datetime | None, pausado: bool) -> bool:
    return estado in ABIERTOS and vence_en is not None and not pausado


def clave_urgencia(
    codigo: str, estado: str | None, vence_en: datetime | None, pausado: bool = False
) -> str:
    if reloj_corre(estado, vence_en, pausado):
        return f"{CORRE}{_instante(vence_en)}|{codigo}"  # type: ignore[arg-type]
    return f"{SIN_PLAZO}{codigo}"


def tope_vencimiento(antes_de: datetime) -> str:
    """Upper bound (exclusive) of the keys of running deadlines that end before `antes_de`."""
    return f"{CORRE}{_instante(antes_de)}"


class CursorInvalido(ValueError):
    pass


def codificar_cursor(clave: str) -> str:
    return base64.urlsafe_b64encode(clave.encode()).decode().rstrip("=")


def decodificar_cursor(cursor: str) -> str:
    """The sort key a cursor stands for; `CursorInvalido` if it was not made by us."""
    try:
        clave = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorInvalido("El cursor no es válido; use el valor de `siguiente`.") from None
    if not _CLAVE.match(clave):
        raise CursorInvalido("El cursor no es válido; use el valor de `siguiente`.")
    return clave


def limite_vencimiento(valor: str) -> datetime:
    """'vence antes de': an ISO date (its start, Lima time) or datetime (Lima if it has no zone)."""
    try:
        if len(valor) == 10:
            return datetime.combine(date.fromisoformat(valor), time(0), LIMA).astimezone(UTC)
        momento = datetime.fromisoformat(valor)
    except ValueError:
        raise ValueError(
            "Debe ser una fecha (AAAA-MM-DD) o una fecha y hora ISO-8601 válida"
        ) from None
    if momento.tzinfo is None:
        momento = momento.replace(tzinfo=LIMA)
    return momento.astimezone(UTC)


# --- what a supervisor sees of the citizen (DESIGN.md §4; Ley 29733) -----------------------------


def enmascarar_documento(numero: str) -> str:
    """Its first half, at most four characters: 45678912 → 4567****."""
    visibles = min(4, len(numero) // 2)
    return numero[:visibles] + "*" * (len(numero) - visibles)


def enmascarar_nombre(texto: str) -> str:
    """Each word reduced to its initial: Rosa María → R. M."""
    return " ".join(f"{palabra[0]}." for palabra in texto.split())


def enmascarar_email(email: str) -> str:
    """The mailbox's first character and the domain: maria@gmail.com → m****@gmail.com."""
    buzon, arroba, dominio = email.rpartition("@")
    return f"{buzon[:1]}****@{dominio}" if arroba else "****"


def enmascarar_telefono(telefono: str) -> str:
    """Only the last three digits (and the leading +): +51987654321 → +********321."""
    signo, digitos = ("+", telefono[1:]) if telefono.startswith("+") else ("", telefono)
    return signo + "*" * max(0, len(digitos) - 3) + digitos[-3:]


def enmascarar_contacto(contacto: dict) -> dict:
    """The citizen's contact as a supervisor sees it without a recorded reason."""
    mascaras = {
        "numero_documento": enmascarar_documento,
        "nombres": enmascarar_nombre,
        "apellidos": enmascarar_nombre,
        "email": enmascarar_email,
        "telefono": enmascarar_telefono,
    }
    return {
        campo: mascaras[campo](valor) if campo in mascaras and valor else valor
        for campo, valor in contacto.items()
    }
