"""Import each configured plugin class and check it against the contract.

This is the one place in crush's build that imports code by name: the
runtime ``crush`` package never does (the generated registry imports every
plugin with a literal statement). Checks, all reported together: the class
imports and instantiates with no arguments, the instance satisfies
``crush.registry.contract_problems``, its ``name`` equals the entry's
``name``, its ``plugin_id`` lies in the range for its namespace (0x00-0x7F for
classes in ``crush.plugins``, 0x80-0xFF for everyone else) and no two plugins
share an id.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final
from typing import cast
from typing import final

from .config import Config
from .config import PluginEntry
from .errors import CodegenError
from .errors import Problem

if TYPE_CHECKING:
    from crush.contract import Plugin

BUILTIN_PACKAGE: Final = "crush.plugins"
"""Plugin classes in this package are crush's own and take ids 0x00-0x7F."""

_Contract = Callable[[object], list[str]]

_CONTRACT_FIX: Final = (
    "make {cls} provide what crush.contract.Plugin describes (docs/PLUGINS.md): "
    "name, plugin_id, metadata, compress(), decompress() and detect()"
)


@final
@dataclass(frozen=True, slots=True)
class ResolvedPlugin:
    """A configured plugin whose class imported and passed every check.

    ``plugin_id`` is the id its instance reports; ``module_file`` the source
    file of its module (``None`` for modules without one), used by
    ``--verify`` to type-check it.
    """

    entry: PluginEntry
    plugin_id: int
    module_file: Path | None

    @property
    def builtin(self) -> bool:
        """True for crush's own plugins (classes in ``crush.plugins``)."""
        return is_builtin(self.entry.module)


def is_builtin(module: str) -> bool:
    """Return True when *module* is in the ``crush.plugins`` package."""
    return module == BUILTIN_PACKAGE or module.startswith(BUILTIN_PACKAGE + ".")


def resolve_plugins(config: Config, *, root: Path) -> tuple[ResolvedPlugin, ...]:
    """Import every plugin class *config* lists; raise CodegenError listing all problems.

    *root* is the project whose ``crush`` package the registry is generated
    for; importing ``crush`` from anywhere else is refused, so an installed
    copy cannot stand in for the sources being built.
    """
    contract_problems, id_ranges = _load_crush(config, root)
    problems: list[Problem] = []
    resolved: list[ResolvedPlugin] = []
    owners: dict[int, PluginEntry] = {}
    for entry in config.plugins:
        found = _resolve(config.label, entry, contract_problems, id_ranges, problems)
        if found is None:
            continue
        other = owners.get(found.plugin_id)
        if other is not None:
            problems.append(
                Problem(
                    config.label,
                    entry.label,
                    f"{entry.class_name}.plugin_id 0x{found.plugin_id:02X} is already used by "
                    f"{other.label} ({other.target})",
                    "an id is written into every frame and is never shared: give one of the "
                    "two plugins an unused id (see the id table in docs/PLUGINS.md), or list "
                    "only one of them",
                )
            )
            continue
        owners[found.plugin_id] = entry
        resolved.append(found)
    if problems:
        raise CodegenError(problems)
    return tuple(resolved)


def _load_crush(config: Config, root: Path) -> tuple[_Contract, tuple[range, range]]:
    try:
        import crush
        from crush.contract import BUILTIN_IDS
        from crush.contract import THIRD_PARTY_IDS
        from crush.registry import contract_problems
    except Exception as exc:  # whatever breaks `import crush` is reported, not raised
        raise CodegenError(
            [
                Problem(
                    "crush",
                    "import crush",
                    f"the crush package does not import ({type(exc).__name__}: {exc})",
                    "repair it first; a damaged crush/_registry.py can be restored with "
                    "`git checkout crush/_registry.py` and then regenerated",
                )
            ]
        ) from None
    imported = Path(crush.__file__ or "").resolve().parent
    expected = (root / "crush").resolve()
    if imported != expected:
        raise CodegenError(
            [
                Problem(
                    config.label,
                    "import crush",
                    f"crush was imported from {imported}, not from the project at {root}",
                    f"run python -m codegen from {root} (or put it first on PYTHONPATH)",
                )
            ]
        )
    return contract_problems, (BUILTIN_IDS, THIRD_PARTY_IDS)


def _resolve(
    label: str,
    entry: PluginEntry,
    contract_problems: _Contract,
    id_ranges: tuple[range, range],
    problems: list[Problem],
) -> ResolvedPlugin | None:
    def problem(message: str, fix: str) -> None:
        problems.append(Problem(label, entry.label, message, fix))

    imported = _instantiate(entry, problem)
    if imported is None:
        return None
    instance, module_file = imported
    cls = entry.class_name
    broken = contract_problems(instance)
    for message in broken:
        problem(
            f"{cls} does not satisfy the crush plugin contract: {message}",
            _contract_fix(cls, message, entry, id_ranges),
        )
    if broken:
        return None
    # contract_problems() just checked the attributes the Protocol promises.
    plugin = cast("Plugin", instance)
    name, plugin_id = plugin.name, plugin.plugin_id
    if name != entry.name:
        problem(
            f'name = "{entry.name}" but {cls}.name is "{name}"',
            f'write name = "{name}": the name is the plugin\'s own, plugins.toml only selects it',
        )
        return None
    allowed = _allowed_ids(entry, id_ranges)
    if plugin_id not in allowed:
        problem(
            f"{cls}.plugin_id is 0x{plugin_id:02X}, outside {_range_text(allowed)}, the range for "
            f"{_namespace(entry)}",
            _id_fix(cls, entry, id_ranges),
        )
        return None
    return ResolvedPlugin(entry, plugin_id, module_file)


def _instantiate(
    entry: PluginEntry, problem: Callable[[str, str], None]
) -> tuple[object, Path | None] | None:
    """Import the entry's class and call it; return the instance and its module's file."""
    cls = entry.class_name
    try:
        module = importlib.import_module(entry.module)
    except Exception as exc:  # whatever the plugin module raises is reported
        how = f"install it ({entry.install}), or " if entry.install else "install the package "
        problem(
            f'class = "{entry.target}" does not import ({type(exc).__name__}: {exc})',
            f"{how}correct the module path before the colon; the module must be importable "
            "where codegen runs (for a package build, in the build environment)",
        )
        return None
    obj = getattr(module, cls, None)
    if obj is None:
        problem(
            f"module {entry.module!r} has no attribute {cls!r}",
            f'correct the class name after the colon in class = "{entry.target}"',
        )
        return None
    if not isinstance(obj, type):
        problem(
            f"{entry.target} is a {type(obj).__name__}, not a class",
            "point class at the plugin class itself; the registry instantiates it with no "
            "arguments",
        )
        return None
    try:
        instance: object = obj()
    except Exception as exc:  # whatever the constructor raises is reported
        problem(
            f"{cls}() raised {type(exc).__name__}: {exc}",
            f"make {cls} constructible with no arguments; import codecs and set up state at "
            "first use instead",
        )
        return None
    file = getattr(module, "__file__", None)
    return instance, Path(file).resolve() if file else None


def _allowed_ids(entry: PluginEntry, id_ranges: tuple[range, range]) -> range:
    builtin_ids, third_party_ids = id_ranges
    return builtin_ids if is_builtin(entry.module) else third_party_ids


def _range_text(ids: range) -> str:
    return f"0x{ids.start:02X}-0x{ids.stop - 1:02X}"


def _namespace(entry: PluginEntry) -> str:
    if is_builtin(entry.module):
        return f"crush's built-in plugins (classes in {BUILTIN_PACKAGE})"
    return f"third-party plugins (classes outside {BUILTIN_PACKAGE})"


def _id_fix(cls: str, entry: PluginEntry, id_ranges: tuple[range, range]) -> str:
    ids = _range_text(_allowed_ids(entry, id_ranges))
    return (
        f"give {cls} an unused plugin_id in {ids} ({_namespace(entry)}) and record it in the "
        "id table in docs/PLUGINS.md; an id never changes once files were written with it"
    )


def _contract_fix(
    cls: str, message: str, entry: PluginEntry, id_ranges: tuple[range, range]
) -> str:
    # contract_problems words each problem as "<attribute> must ..."; the attribute
    # decides which fix applies.
    if message.startswith("plugin_id"):
        return _id_fix(cls, entry, id_ranges)
    if message.startswith("name"):
        return f'give {cls} a lower-case name attribute (e.g. name = "{entry.name}")'
    return _CONTRACT_FIX.format(cls=cls)
