"""Staff accounts for the web pages: a person (their e-mail as user name), a role, an entity and
optionally a unit, a password hashed with argon2. Created by an operator command; API keys stay
for machines (gateway.credenciales).

    python -m gateway.portal.cuentas crear --usuario ana@minsa.gob.pe --nombre "Ana Quispe" \
        --rol entidad --entidad minsa [--unidad integridad] [--clave-stdin]
    python -m gateway.portal.cuentas desactivar ana@minsa.gob.pe
    python -m gateway.portal.cuentas desbloquear ana@minsa.gob.pe
    python -m gateway.portal.cuentas listar

Failed sign-ins are counted in the store (collection `cuentas_intentos`, by user name whether the
account exists or not), so every gateway replica agrees and a locked name looks the same as an
unknown one.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from gateway.credenciales import Credencial

ROLES = ("entidad", "supervisor")
MIN_CLAVE = 12
MAX_FALLOS = 5
VENTANA_S = 15 * 60
BLOQUEO_S = 15 * 60
COLECCION = "cuentas"
INTENTOS = "cuentas_intentos"

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs what a wrong password does.
_FICTICIO = _hasher.hash("cuenta-inexistente-" + str(time.time_ns()))

Reloj = Callable[[], float]


class ClaveDebil(ValueError):
    pass


@dataclass(frozen=True)
class Cuenta:
    usuario: str
    nombre: str
    rol: str
    entidad: str | None = None
    unidad: str | None = None

    @property
    def credencial(self) -> Credencial:
        """What the API sees of this person: the same as an API key of that scope."""
        return Credencial(self.rol, self.entidad, self.unidad)


class Resultado(StrEnum):
    ok = "ok"
    rechazado = "rechazado"  # wrong name, wrong password or inactive account: one answer
    bloqueado = "bloqueado"


def normalizar(usuario: str) -> str:
    return usuario.strip().lower()


def _cuenta(doc: dict) -> Cuenta:
    return Cuenta(doc["_id"], doc["nombre"], doc["rol"], doc.get("entidad"), doc.get("unidad"))


def comprobar_clave(clave: str) -> None:
    if len(clave) < MIN_CLAVE:
        raise ClaveDebil(f"la contraseña debe tener al menos {MIN_CLAVE} caracteres")
    if len(set(clave)) < 4:
        raise ClaveDebil("la contraseña repite muy pocos caracteres")


def crear(
    db: Database,
    usuario: str,
    nombre: str,
    rol: str,
    clave: str,
    entidad: str | None = None,
    unidad: str | None = None,
) -> Cuenta:
    usuario = normalizar(usuario)
    if "@" not in usuario or len(usuario) > 200:
        raise ValueError("el usuario es el correo de la persona")
    if rol not in ROLES:
        raise ValueError(f"rol debe ser uno de {', '.join(ROLES)}")
    if (rol == "entidad") != bool(entidad):
        raise ValueError("una cuenta de entidad necesita --entidad, y solo ella")
    if unidad and rol != "entidad":
        raise ValueError("solo una cuenta de entidad puede tener --unidad")
    comprobar_clave(clave)
    try:
        db[COLECCION].insert_one(
            {
                "_id": usuario,
                "nombre": nombre,
                "rol": rol,
                "entidad": entidad,
                "unidad": unidad,
                "activa": True,
                "hash": _hasher.hash(clave),
                "creada_en": datetime.now(UTC),
            }
        )
    except DuplicateKeyError:
        raise ValueError(f"ya existe una cuenta {usuario}") from None
    return Cuenta(usuario, nombre, rol, entidad, unidad)


def activa(db: Database, usuario: str) -> Cuenta | None:
    doc = db[COLECCION].find_one({"_id": normalizar(usuario), "activa": True})
    return _cuenta(doc) if doc else None


def bloqueada(db: Database, usuario: str, ahora: float) -> bool:
    doc = db[INTENTOS].find_one({"_id": normalizar(usuario)})
    return bool(doc and doc.get("bloqueada_hasta", 0) > ahora)


def _fallo(db: Database, usuario: str, ahora: float) -> None:
    """Counts a failure; the fifth in the window locks the name. Read-modify-write guarded by
    the document's previous state, so two replicas counting at once do not lose a failure."""
    for _ in range(5):
        doc = db[INTENTOS].find_one({"_id": usuario}) or {}
        fallos = [f for f in doc.get("fallos", []) if f > ahora - VENTANA_S] + [ahora]
        nuevo: dict = {"fallos": fallos, "bloqueada_hasta": doc.get("bloqueada_hasta", 0)}
        if len(fallos) >= MAX_FALLOS:
            nuevo = {"fallos": [], "bloqueada_hasta": ahora + BLOQUEO_S}
        if not doc:
            try:
                db[INTENTOS].insert_one({"_id": usuario, "version": 1, **nuevo})
                return
            except DuplicateKeyError:
                continue
        hecho = db[INTENTOS].update_one(
            {"_id": usuario, "version": doc["version"]},
            {"$set": {**nuevo, "version": doc["version"] + 1}},
        )
        if hecho.modified_count:
            return


def autenticar(
    db: Database, usuario: str, clave: str, reloj: Reloj = time.time
) -> tuple[Resultado, Cuenta | None]:
    """The account if the password is right and the name neither locked nor inactive. The same
    hashing work is done in every case, so timing tells nothing about which accounts exist."""
    usuario = normalizar(usuario)[:200]
    ahora = reloj()
    doc = db[COLECCION].find_one({"_id": usuario, "activa": True})
    try:
        correcta = _hasher.verify(doc["hash"] if doc else _FICTICIO, clave) and doc is not None
    except (VerificationError, InvalidHashError):
        correcta = False
    if bloqueada(db, usuario, ahora):
        return Resultado.bloqueado, None
    if not correcta or doc is None:
        _fallo(db, usuario, ahora)
        return (Resultado.bloqueado if bloqueada(db, usuario, ahora) else Resultado.rechazado), None
    db[INTENTOS].delete_one({"_id": usuario})
    if _hasher.check_needs_rehash(doc["hash"]):
        db[COLECCION].update_one({"_id": usuario}, {"$set": {"hash": _hasher.hash(clave)}})
    return Resultado.ok, _cuenta(doc)


def desbloquear(db: Database, usuario: str) -> bool:
    return db[INTENTOS].delete_one({"_id": normalizar(usuario)}).deleted_count > 0


def desactivar(db: Database, usuario: str) -> bool:
    """Deactivates the account and ends its sessions at once."""
    usuario = normalizar(usuario)
    hecho = db[COLECCION].update_one({"_id": usuario}, {"$set": {"activa": False}})
    db["sesiones"].delete_many({"usuario": usuario})
    return hecho.matched_count > 0


def listar(db: Database) -> list[dict]:
    return list(db[COLECCION].find({}, {"hash": 0}).sort("_id", 1))


def main(argv: list[str] | None = None, db: Database | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.portal.cuentas")
    sub = parser.add_subparsers(dest="orden", required=True)
    c = sub.add_parser("crear", help="crea una cuenta del personal")
    c.add_argument("--usuario", required=True, help="correo de la persona")
    c.add_argument("--nombre", required=True)
    c.add_argument("--rol", required=True, choices=ROLES)
    c.add_argument("--entidad")
    c.add_argument("--unidad")
    c.add_argument("--clave-stdin", action="store_true", help="lee la contraseña de stdin")
    for orden in ("desactivar", "desbloquear"):
        sub.add_parser(orden).add_argument("usuario")
    sub.add_parser("listar")
    args = parser.parse_args(argv)
    if db is None:
        from gateway.ajustes import AjustesGateway

        # Only the store is used here: the internal token the settings require is not needed.
        ajustes = AjustesGateway(token_interno="sin-uso-en-esta-orden")  # type: ignore[arg-type]
        db = ajustes.almacen("gateway")
    if args.orden == "crear":
        if args.clave_stdin:
            clave = sys.stdin.readline().rstrip("\r\n")
        else:
            clave = getpass.getpass("Contraseña: ")
            if getpass.getpass("Repita la contraseña: ") != clave:
                print("error: las contraseñas no coinciden", file=sys.stderr)
                return 2
        try:
            cuenta = crear(
                db, args.usuario, args.nombre, args.rol, clave, args.entidad, args.unidad
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"creada: {cuenta.usuario} ({cuenta.rol})")
        return 0
    if args.orden == "listar":
        for d in listar(db):
            alcance = "/".join(x for x in (d.get("entidad"), d.get("unidad")) if x) or "-"
            estado = "activa" if d.get("activa") else "inactiva"
            print(f"{d['_id']}\t{d['nombre']}\t{d['rol']}\t{alcance}\t{estado}")
        return 0
    hecho = (desactivar if args.orden == "desactivar" else desbloquear)(db, args.usuario)
    print(f"{args.orden}: {'hecho' if hecho else 'no había nada que hacer'}")
    return 0 if hecho or args.orden == "desbloquear" else 1


if __name__ == "__main__":
    raise SystemExit(main())
