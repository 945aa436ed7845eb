"""Shared fixtures: registries built per test, never by editing module globals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import crush
from crush.plugins.deflate import DeflatePlugin


@pytest.fixture
def make_registry() -> Callable[..., crush.Registry]:
    """Return ``make(*plugins, default="deflate", **options)``: deflate plus *plugins*."""

    def make(*plugins: Any, default: str = "deflate", **options: Any) -> crush.Registry:
        return crush.Registry([DeflatePlugin(), *plugins], default=default, **options)

    return make
