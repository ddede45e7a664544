"""Reglas puras del registro: el código del reclamo (sin E/S).

El código es lo único que el ciudadano conserva. Debe ser:

- único y **no enumerable**: 12 símbolos elegidos con ``secrets`` (CSPRNG) sobre un alfabeto de
  29 símbolos, unos 58 bits de azar; conocer un código no dice nada sobre otro;
- **legible por teléfono**: sin caracteres que se confunden al leer o al dictar en castellano
  (``0``/``O``, ``1``/``I``/``L``, ``U``/``V`` y ``B``/``V`` —"be" y "ve" suenan igual—), agrupado
  de 4 en 4: ``R-7KQ2-M9XD-4HTP``.

La unicidad final la garantiza el almacén (índice único); con 58 bits una colisión es
improbabilísima, pero quien inserta debe reintentar con un código nuevo si ocurre.
"""

from __future__ import annotations

import re
import secrets

PREFIJO = "R"
#: Sin 0, O, 1, I, L, U ni V (B y V se pronuncian igual en castellano).
ALFABETO = "23456789ABCDEFGHJKMNPQRSTWXYZ"
GRUPOS = 3
LARGO_GRUPO = 4
SIMBOLOS = GRUPOS * LARGO_GRUPO

_PATRON = re.compile(rf"{PREFIJO}(?:-[{ALFABETO}]{{{LARGO_GRUPO}}}){{{GRUPOS}}}")
# Separadores que un ciudadano puede escribir o dictar entre los grupos.
_SEPARADORES = re.compile(r"[\s\-_.]+")


def _formatear(simbolos: str) -> str:
    grupos = [simbolos[i : i + LARGO_GRUPO] for i in range(0, SIMBOLOS, LARGO_GRUPO)]
    return "-".join([PREFIJO, *grupos])


def nuevo_codigo() -> str:
    """Genera un código de reclamo nuevo, p. ej. ``R-7KQ2-M9XD-4HTP``."""
    return _formatear("".join(secrets.choice(ALFABETO) for _ in range(SIMBOLOS)))


def codigo_valido(codigo: str) -> bool:
    """``True`` si ``codigo`` tiene la forma canónica (use antes :func:`normalizar_codigo`)."""
    return isinstance(codigo, str) and _PATRON.fullmatch(codigo) is not None


def normalizar_codigo(codigo: str) -> str:
    """Lleva lo que escribió o dictó el ciudadano a la forma canónica.

    Pasa a mayúsculas, quita espacios y admite guiones ausentes o mal puestos, y también el
    prefijo ``R`` ausente: ``" r 7kq2m9xd 4htp "`` → ``"R-7KQ2-M9XD-4HTP"``. Si el texto no
    tiene el largo de un código, se devuelve limpio pero sin formatear, de modo que
    :func:`codigo_valido` lo rechace.
    """
    limpio = _SEPARADORES.sub("", codigo).upper()
    if len(limpio) == SIMBOLOS + len(PREFIJO) and limpio.startswith(PREFIJO):
        limpio = limpio[len(PREFIJO) :]
    elif len(limpio) != SIMBOLOS:
        return limpio
    return _formatear(limpio)


# --- Lo que el ciudadano puede hacer según el estado ---------------------------------------------

#: Estados en los que la vida del reclamo terminó.
TERMINALES = frozenset({"cerrado", "archivado", "desistido"})
#: Con la respuesta dada, el reclamo ya siguió su curso: no cabe desistir.
NO_DESISTIBLES = frozenset({"respondido", *TERMINALES})


def puede_subsanar(estado: str) -> bool:
    """Solo se subsana lo que la entidad observó."""
    return estado == "observado"


def puede_desistir(estado: str) -> bool:
    """El ciudadano puede desistir en cualquier momento antes de la respuesta."""
    return estado not in NO_DESISTIBLES


def puede_adjuntar(estado: str) -> bool:
    """Se adjuntan archivos mientras la entidad no haya respondido ni el reclamo terminado."""
    return estado not in NO_DESISTIBLES
