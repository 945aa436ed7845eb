"""The plugin registry: which plugins a call may use, by name and by wire id.

The default registry is built from the generated ``crush/_registry.py``
(rendered from ``plugins.toml`` by ``python -m codegen``). Applications and
tests may build their own :class:`Registry` from plugin objects they imported
themselves and pass it as ``registry=`` to any API call. Nothing here imports
by name, scans paths or reads entry points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from typing import Literal
from typing import final

from . import _registry as _generated
from .contract import Plugin
from .contract import PluginMetadata
from .errors import ConfigError
from .errors import PluginNotFoundError

Isolation = Literal["thread", "process"]

KNOWN_IDS: Final[Mapping[int, tuple[str, str]]] = MappingProxyType(
    {
        0x00: ("deflate", "built in; always available"),
        0x01: ("zstd", "pip install zstandard"),
        0x02: ("lz4", "pip install lz4"),
        0x03: ("brotli", "pip install brotli"),
        0x04: ("lzma", "built in (Python's lzma module)"),
        0x05: ("bz2", "built in (Python's bz2 module)"),
        0x06: ("store", "built in"),
    }
)
"""Every plugin id crush has assigned, with its name and install hint (see docs/PLUGINS.md)."""

REGISTERED_IDS: Final[Mapping[int, tuple[str, str, str]]] = MappingProxyType(
    {
        0x80: ("snappy", "pip install crush-snappy", "crush_snappy.plugin:SnappyPlugin"),
    }
)
"""Third-party ids recorded in docs/PLUGINS.md: name, install hint and class, for error messages."""

_MODULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "deflate": "crush.plugins.deflate:DeflatePlugin",
        "zstd": "crush.plugins.zstd:ZstdPlugin",
        "lz4": "crush.plugins.lz4:Lz4Plugin",
        "brotli": "crush.plugins.brotli:BrotliPlugin",
        "lzma": "crush.plugins.lzma:LzmaPlugin",
        "bz2": "crush.plugins.bz2:Bz2Plugin",
    }
)


_UNREADABLE: Final = object()


def _read(obj: object, attr: str, problems: list[str]) -> object:
    # A property may raise anything; that is a broken plugin, not a crash.
    try:
        return getattr(obj, attr, None)
    except Exception as exc:
        problems.append(f"{attr} raised {type(exc).__name__}: {exc}")
        return _UNREADABLE


def contract_problems(obj: object) -> list[str]:
    """Return what keeps *obj* from satisfying the plugin contract (empty when it does).

    Each problem starts with the attribute it is about (``name``,
    ``plugin_id``, ``metadata``, a method); nothing *obj* does raises here.
    """
    problems: list[str] = []
    name = _read(obj, "name", problems)
    if name is not _UNREADABLE and (
        not isinstance(name, str) or not name or name != name.strip().lower()
    ):
        problems.append(f"name must be a non-empty lower-case str, got {name!r}")
    plugin_id = _read(obj, "plugin_id", problems)
    if plugin_id is not _UNREADABLE and (
        not isinstance(plugin_id, int) or isinstance(plugin_id, bool) or not 0 <= plugin_id <= 255
    ):
        problems.append(f"plugin_id must be an int in 0-255, got {plugin_id!r}")
    metadata = _read(obj, "metadata", problems)
    if metadata is _UNREADABLE:
        pass
    elif not isinstance(metadata, PluginMetadata):
        problems.append(f"metadata must be a crush.PluginMetadata, got {type(metadata).__name__}")
    else:
        problems += _metadata_problems(metadata)
    for method in ("compress", "decompress", "detect"):
        found = _read(obj, method, problems)
        if found is not _UNREADABLE and not callable(found):
            problems.append(f"{method}() is missing or not callable")
    return problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metadata_type_problems(m: PluginMetadata) -> list[str]:
    # PluginMetadata is a NamedTuple: nothing checked the field types yet.
    problems = []
    for label in ("version", "description"):
        value = getattr(m, label)
        if not isinstance(value, str):
            problems.append(f"metadata {label} must be a str, got {value!r}")
    for label in ("throughput", "ratio"):
        value = getattr(m, label)
        if not _is_number(value):
            problems.append(f"metadata {label} must be a number, got {value!r}")
    for label in ("min_level", "max_level", "default_level", "fast", "balanced", "best"):
        value = getattr(m, label)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"metadata {label} must be an int, got {value!r}")
    if not isinstance(m.formats, tuple) or not all(isinstance(f, str) for f in m.formats):
        problems.append(f"metadata formats must be a tuple of str, got {m.formats!r}")
    return problems


def _metadata_problems(m: PluginMetadata) -> list[str]:
    problems = _metadata_type_problems(m)
    if problems:  # the value checks below would compare mistyped values
        return problems
    if not m.min_level <= m.max_level:
        problems.append(f"metadata level range {m.min_level}..{m.max_level} is empty")
    for label, level in (
        ("default_level", m.default_level),
        ("fast", m.fast),
        ("balanced", m.balanced),
        ("best", m.best),
    ):
        if not m.min_level <= level <= m.max_level:
            problems.append(f"metadata {label}={level} is outside {m.min_level}..{m.max_level}")
    if not (m.throughput > 0 and math.isfinite(m.throughput)):
        problems.append(f"metadata throughput must be a positive MB/s figure, got {m.throughput}")
    if not 0 < m.ratio <= 1.5:
        problems.append(f"metadata ratio must be compressed/original in (0, 1.5], got {m.ratio}")
    return problems


def _describe(plugin: object) -> str:
    """Name a plugin in a message even when its name attribute is broken."""
    name = _read(plugin, "name", [])
    cls = type(plugin).__name__
    return f"plugin {name!r} ({cls})" if isinstance(name, str) and name else cls


def _check_mappings(**options: object) -> None:
    for label, mapping in options.items():
        if mapping is not None and not isinstance(mapping, Mapping):
            raise ConfigError(f"{label} must be a mapping of plugin names, got "
                              f"{type(mapping).__name__}")


def _check_timeout(label: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
            or math.isnan(value):
        raise ConfigError(f"{label} must be a number of seconds >= 0 (0 disables), got {value!r}")
    return float(value)


@final
class Registry:
    """An immutable set of plugins with a default, timeouts and install hints.

    ``Registry(plugins, default="deflate", timeouts={"zstd": 10})`` validates
    everything first — every object satisfies the contract, names and ids
    are unique, the default and every timeout name a plugin in the set — and
    raises :class:`crush.ConfigError` naming the problem, so a bad call never
    leaves a half-built registry. ``default`` defaults to the first plugin.
    ``timeouts`` are seconds per plugin (0 disables the deadline);
    ``default_timeout`` applies to plugins without one (``None``: defer to
    ``CRUSH_TIMEOUT`` and then 30 s). ``isolation`` maps plugin names to
    ``"thread"`` or ``"process"``. ``measured`` maps plugin names to
    calibrated ``(throughput MB/s, ratio)`` figures that override the
    class's guesses (see :meth:`metadata_for`). Thread-safe: it never
    changes after construction.
    """

    __slots__ = (
        "_by_id",
        "_by_name",
        "_default",
        "_default_timeout",
        "_hints",
        "_isolation",
        "_metadata",
        "_plugins",
        "_timeouts",
    )

    def __init__(
        self,
        plugins: Iterable[Plugin],
        /,
        *,
        default: str | None = None,
        timeouts: Mapping[str, float] | None = None,
        default_timeout: float | None = None,
        install_hints: Mapping[str, str] | None = None,
        isolation: Mapping[str, Isolation] | None = None,
        measured: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        plugins = tuple(plugins)
        _check_mappings(timeouts=timeouts, install_hints=install_hints, isolation=isolation,
                        measured=measured)
        by_name: dict[str, Plugin] = {}
        by_id: dict[int, Plugin] = {}
        for plugin in plugins:
            problems = contract_problems(plugin)
            if problems:
                raise ConfigError(
                    f"{_describe(plugin)} does not satisfy the crush plugin contract: "
                    + "; ".join(problems)
                )
            if plugin.name in by_name:
                raise ConfigError(
                    f"two plugins are named {plugin.name!r}; names must be unique — rename one"
                )
            if plugin.plugin_id in by_id:
                other = by_id[plugin.plugin_id].name
                raise ConfigError(
                    f"plugins {other!r} and {plugin.name!r} share id 0x{plugin.plugin_id:02x}; "
                    "give each its own id (see docs/PLUGINS.md)"
                )
            by_name[plugin.name] = plugin
            by_id[plugin.plugin_id] = plugin
        if not plugins:
            raise ConfigError("a registry needs at least one plugin")
        default = plugins[0].name if default is None else default
        if default not in by_name:
            raise ConfigError(
                f"default plugin {default!r} is not in the registry; choose one of "
                f"{', '.join(sorted(by_name))}"
            )
        checked: dict[str, float] = {}
        for name, seconds in (timeouts or {}).items():
            self._known(by_name, name, "timeouts")
            value = _check_timeout(f"timeout for {name!r}", seconds)
            if value is None:
                raise ConfigError(
                    f"timeout for {name!r} must be a number of seconds >= 0 (0 disables), "
                    "got None; leave the plugin out of timeouts to use the default"
                )
            checked[name] = value
        for name in install_hints or {}:
            self._known(by_name, name, "install_hints")
        for name, mode in (isolation or {}).items():
            self._known(by_name, name, "isolation")
            if mode not in ("thread", "process"):
                raise ConfigError(f"isolation for {name!r} must be 'thread' or 'process', "
                                  f"got {mode!r}")
        self._metadata = self._measured(by_name, measured or {})
        self._plugins = plugins
        self._by_name: Mapping[str, Plugin] = MappingProxyType(by_name)
        self._by_id: Mapping[int, Plugin] = MappingProxyType(by_id)
        self._default = by_name[default]
        self._timeouts: Mapping[str, float] = MappingProxyType(checked)
        self._default_timeout = _check_timeout("default_timeout", default_timeout)
        self._hints: Mapping[str, str] = MappingProxyType(dict(install_hints or {}))
        self._isolation: Mapping[str, Isolation] = MappingProxyType(dict(isolation or {}))

    @classmethod
    def _measured(
        cls, by_name: Mapping[str, Plugin], measured: Mapping[str, tuple[float, float]]
    ) -> Mapping[str, PluginMetadata]:
        metadata: dict[str, PluginMetadata] = {}
        for name, figures in measured.items():
            cls._known(by_name, name, "measured")
            if not isinstance(figures, tuple | list) or len(figures) != 2:
                raise ConfigError(f"measured figures for {name!r} must be (throughput MB/s, "
                                  f"ratio), got {figures!r}")
            throughput, ratio = figures
            better = by_name[name].metadata._replace(throughput=throughput, ratio=ratio)
            problems = _metadata_problems(better)
            if problems:
                raise ConfigError(f"measured figures for {name!r} are invalid: "
                                  + "; ".join(problems))
            metadata[name] = better
        return MappingProxyType(metadata)

    @staticmethod
    def _known(by_name: Mapping[str, Plugin], name: str, what: str) -> None:
        if name not in by_name:
            raise ConfigError(
                f"{what} names {name!r}, which is not in the registry; known plugins: "
                f"{', '.join(sorted(by_name))}"
            )

    @property
    def plugins(self) -> tuple[Plugin, ...]:
        """Every plugin, in registration order."""
        return self._plugins

    @property
    def default(self) -> Plugin:
        """The plugin used when the caller names none."""
        return self._default

    @property
    def default_timeout(self) -> float | None:
        """Seconds for plugins without their own timeout (None: CRUSH_TIMEOUT, then 30)."""
        return self._default_timeout

    def names(self) -> tuple[str, ...]:
        """Return the plugin names in registration order."""
        return tuple(self._by_name)

    def get(self, name: str) -> Plugin:
        """Return the plugin called *name* or raise PluginNotFoundError listing the known names."""
        plugin = self._by_name.get(name)
        if plugin is None:
            hint = self.install_hint(name)
            raise PluginNotFoundError(
                f"no plugin named {name!r} is compiled in; available: "
                f"{', '.join(self._by_name)}.{hint}",
                plugin=name,
            )
        return plugin

    def by_id(self, plugin_id: int) -> Plugin:
        """Return the plugin with wire id *plugin_id*, or raise PluginNotFoundError.

        The message names the plugin when the id is one crush assigned and
        says how to compile it in.
        """
        plugin = self._by_id.get(plugin_id)
        if plugin is not None:
            return plugin
        known = KNOWN_IDS.get(plugin_id)
        registered = REGISTERED_IDS.get(plugin_id)
        if known is None and registered is not None:
            name, install, target = registered
            raise PluginNotFoundError(
                f"the data was made by plugin id 0x{plugin_id:02x} ({name!r}, a third-party "
                f"plugin), which is not compiled in; install it ({install}), add "
                f'[[plugin]] name = "{name}" class = "{target}" to plugins.toml and rebuild '
                "(pip install .)",
                plugin=name,
                plugin_id=plugin_id,
            )
        if known is None:
            raise PluginNotFoundError(
                f"the data was made by plugin id 0x{plugin_id:02x}, which is not compiled in "
                "and not a crush built-in; add the third-party plugin that owns this id to "
                "plugins.toml and rebuild (pip install .)",
                plugin_id=plugin_id,
            )
        name, install = known
        target = _MODULES.get(name, f"<module>:<Class> of the {name} plugin")
        raise PluginNotFoundError(
            f"the data was made by the {name!r} plugin (id 0x{plugin_id:02x}), which is not "
            f"compiled into this crush; install its codec ({install}), add "
            f'[[plugin]] name = "{name}" class = "{target}" to plugins.toml and rebuild '
            "(python -m codegen, or pip install .)",
            plugin=name,
            plugin_id=plugin_id,
        )

    def find_name(self, name: str) -> Plugin | None:
        """Return the plugin called *name*, or None."""
        return self._by_name.get(name)

    def find_id(self, plugin_id: int) -> Plugin | None:
        """Return the plugin with wire id *plugin_id*, or None."""
        return self._by_id.get(plugin_id)

    def metadata_for(self, name: str) -> PluginMetadata:
        """Return plugin *name*'s metadata with its measured throughput and ratio.

        ``tools/calibrate`` measures the figures and writes them into
        plugins.toml; codegen bakes them in. Plugins never calibrated keep
        the guesses their class declares.
        """
        found = self._metadata.get(name)
        return found if found is not None else self.get(name).metadata

    def is_measured(self, name: str) -> bool:
        """Return True when :meth:`metadata_for` gives measured figures for *name*, not guesses."""
        return name in self._metadata

    def timeout_for(self, name: str) -> float | None:
        """Return the plugin's own timeout in seconds, or None when it has none."""
        return self._timeouts.get(name)

    def isolation_for(self, name: str) -> Isolation:
        """Return how the plugin's blocks run: in threads (default) or processes."""
        return self._isolation.get(name, "thread")

    def install_hint(self, name: str) -> str:
        """Return a sentence saying how to get plugin *name*, or ''."""
        hint = self._hints.get(name)
        if hint:
            return f" To use {name!r}: {hint}."
        for known, install in KNOWN_IDS.values():
            if known == name and name not in self._by_name:
                return (
                    f" {name!r} is a crush built-in that this build leaves out: {install}, "
                    "add it to plugins.toml and rebuild."
                )
        return ""

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._plugins)

    def __repr__(self) -> str:
        return f"Registry({', '.join(self._by_name)}; default={self._default.name!r})"


DEFAULT_REGISTRY: Final = Registry(
    _generated.PLUGINS,
    default=_generated.DEFAULT,
    timeouts=_generated.TIMEOUTS,
    default_timeout=_generated.DEFAULT_TIMEOUT,
    install_hints=_generated.INSTALL_HINTS,
    isolation=_generated.ISOLATION,
    measured={
        plugin.name: (
            _generated.THROUGHPUT.get(plugin.name, plugin.metadata.throughput),
            _generated.RATIO.get(plugin.name, plugin.metadata.ratio),
        )
        for plugin in _generated.PLUGINS
        if plugin.name in _generated.THROUGHPUT or plugin.name in _generated.RATIO
    },
)
"""The registry generated from plugins.toml; used whenever ``registry=`` is not given."""


def list_plugins(*, registry: Registry | None = None) -> tuple[Plugin, ...]:
    """Return every compiled-in plugin (each has ``name``, ``plugin_id``, ``metadata``)."""
    return (registry or DEFAULT_REGISTRY).plugins


def get_plugin(name: str, /, *, registry: Registry | None = None) -> Plugin:
    """Return the plugin called *name*; unknown names raise PluginNotFoundError."""
    return (registry or DEFAULT_REGISTRY).get(name)


def plugin_for_id(plugin_id: int, /, *, registry: Registry | None = None) -> Plugin:
    """Return the plugin whose wire id is *plugin_id*; unknown ids raise PluginNotFoundError."""
    return (registry or DEFAULT_REGISTRY).by_id(plugin_id)
