"""Fixtures shared by the integration tests of the bus."""

from __future__ import annotations

import pytest

from comun.bus import Topologia


@pytest.fixture
def topo(bus_nombre) -> Topologia:
    # Short retry delay: the tests wait for retries, they do not measure them.
    return Topologia(bus_nombre, retraso_reintento_ms=200)
