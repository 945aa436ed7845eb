"""Calibrate the plugins' metadata: measured throughput and ratio into plugins.toml.

``python -m tools.calibrate [--config plugins.toml] [--check] [--runs N]
[--size BYTES] [--budget SECONDS]`` measures every plugin the configuration
lists on the sample corpus (:mod:`tools.corpus`) — how, and on which data,
is described in :mod:`tools.calibrate.measure` — and writes ``throughput``
and ``ratio`` into each ``[[plugin]]`` table (:mod:`tools.calibrate.tomledit`).
``python -m codegen`` then bakes them into ``crush/_registry.py``, where
:meth:`crush.Registry.metadata_for` prefers them to the hand-written guesses
in the plugin classes. ``--check`` measures, writes nothing and exits 1 when
a stored figure is more than 30 % off (:mod:`tools.calibrate.cli`).
"""

from .cli import main
from .measure import CalibrationError
from .measure import Measurement
from .measure import measure
from .tomledit import Figures
from .tomledit import round3
from .tomledit import update_figures

__all__ = [
    "CalibrationError",
    "Figures",
    "Measurement",
    "main",
    "measure",
    "round3",
    "update_figures",
]
