"""crush.registry: validating, immutable plugin sets and lookups that say how to fix a miss."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from faulty import METADATA
from faulty import CompressRaises
from faulty import DecompressRaises
from faulty import FaultyPlugin

import crush
from crush.plugins.deflate import DeflatePlugin
from crush.plugins.lz4 import Lz4Plugin
from crush.plugins.zstd import ZstdPlugin
from crush.registry import DEFAULT_REGISTRY
from crush.registry import KNOWN_IDS
from crush.registry import contract_problems

MakeRegistry = Callable[..., crush.Registry]


# -- validation -------------------------------------------------------------


def test_empty_registry_is_refused() -> None:
    with pytest.raises(crush.ConfigError, match="at least one plugin"):
        crush.Registry([])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(crush.ConfigError, match=r"'deflate'.*rename") as info:
        crush.Registry([DeflatePlugin(), DeflatePlugin()])
    assert "unique" in str(info.value)


def test_duplicate_ids_are_refused() -> None:
    clash = FaultyPlugin("clash", 0x00)
    with pytest.raises(crush.ConfigError, match="share id 0x00") as info:
        crush.Registry([DeflatePlugin(), clash])
    message = str(info.value)
    assert "'deflate'" in message
    assert "'clash'" in message
    assert "docs/PLUGINS.md" in message


def test_default_must_be_in_the_registry() -> None:
    with pytest.raises(crush.ConfigError, match=r"default plugin 'zstd'.*choose one of deflate"):
        crush.Registry([DeflatePlugin()], default="zstd")


@pytest.mark.parametrize("option", ["timeouts", "install_hints", "isolation"])
def test_options_naming_unknown_plugins_are_refused(option: str) -> None:
    value = {"timeouts": 5.0, "install_hints": "pip install it", "isolation": "thread"}[option]
    with pytest.raises(crush.ConfigError, match=rf"{option} names 'nope'.*known plugins: deflate"):
        crush.Registry([DeflatePlugin()], **{option: {"nope": value}})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), "10", True])
def test_bad_timeouts_are_refused(bad: object) -> None:
    with pytest.raises(crush.ConfigError, match=r"timeout for 'deflate' must be .*seconds >= 0"):
        crush.Registry([DeflatePlugin()], timeouts={"deflate": bad})  # type: ignore[dict-item]


def test_none_timeout_for_a_plugin_is_refused() -> None:
    with pytest.raises(crush.ConfigError, match=r"timeout for 'deflate'"):
        crush.Registry([DeflatePlugin()], timeouts={"deflate": None})  # type: ignore[dict-item]


@pytest.mark.parametrize("bad", [-1, float("nan"), "10", False])
def test_bad_default_timeout_is_refused(bad: object) -> None:
    with pytest.raises(crush.ConfigError, match=r"default_timeout must be a number of seconds"):
        crush.Registry([DeflatePlugin()], default_timeout=bad)  # type: ignore[arg-type]


def test_bad_isolation_mode_is_refused() -> None:
    with pytest.raises(crush.ConfigError, match=r"'thread' or 'process'"):
        crush.Registry([DeflatePlugin()], isolation={"deflate": "fork"})  # type: ignore[dict-item]


class _NoDecompress:
    name = "half"
    plugin_id = 0x90
    metadata = METADATA

    def compress(self, data: bytes, level: int, cancel: crush.CancelToken) -> bytes:
        return bytes(data)

    def detect(self, header: bytes) -> bool:
        return True


def _with(**changes: object) -> FaultyPlugin:
    plugin = FaultyPlugin("odd", 0x91)
    for key, value in changes.items():
        setattr(plugin, key, value)
    return plugin


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        (object(), "name must be a non-empty lower-case str"),
        (_NoDecompress(), "decompress() is missing"),
        (_with(name="Loud"), "lower-case"),
        (_with(name=""), "non-empty"),
        (_with(plugin_id=256), "plugin_id must be an int in 0-255"),
        (_with(plugin_id=-1), "plugin_id must be an int in 0-255"),
        (_with(plugin_id=True), "plugin_id must be an int in 0-255"),
        (_with(metadata={"min_level": 0}), "metadata must be a crush.PluginMetadata"),
        (_with(metadata=METADATA._replace(best=99)), "best=99 is outside 0..9"),
        (_with(metadata=METADATA._replace(min_level=5, max_level=1)), "is empty"),
        (_with(metadata=METADATA._replace(throughput=0.0)), "throughput"),
        (_with(metadata=METADATA._replace(ratio=2.0)), "ratio"),
        (_with(detect=None), "detect() is missing"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_objects_breaking_the_contract_are_refused(obj: object, problem: str) -> None:
    assert any(problem in p for p in contract_problems(obj)), contract_problems(obj)
    with pytest.raises(crush.ConfigError, match="does not satisfy the crush plugin contract") \
            as info:
        crush.Registry([DeflatePlugin(), obj])  # type: ignore[list-item]
    assert problem in str(info.value)
    assert type(obj).__name__ in str(info.value)


# Every metadata field with values of the wrong type: each must be a
# ConfigError naming the plugin and the field, never a TypeError from a
# comparison.
WRONG_TYPES: dict[str, list[object]] = {
    "version": [None, 1, b"1.0"],
    "description": [None, 3.5],
    "throughput": [None, "fast", b"1", [100.0], True, complex(1, 0)],
    "ratio": [None, "0.5", False, (0.5,)],
    "min_level": [None, 0.0, "0", True],
    "max_level": [None, 9.5, "9"],
    "default_level": [None, 6.0, "6"],
    "fast": [None, "fast", 1.0],
    "balanced": [None, "balanced"],
    "best": [None, "best", 9.0],
    "formats": [None, "gzip", ["gzip"], (b"gzip",), (1,)],
}


@pytest.mark.parametrize(
    ("field", "value"),
    [(field, value) for field, values in WRONG_TYPES.items() for value in values],
)
def test_wrongly_typed_metadata_is_a_config_error(field: str, value: object) -> None:
    plugin = _with(metadata=METADATA._replace(**{field: value}))
    with pytest.raises(crush.ConfigError) as info:
        crush.Registry([DeflatePlugin(), plugin])
    message = str(info.value)
    assert "'odd'" in message, "names the plugin"
    assert f"metadata {field} must be" in message, "names the field"
    assert any(field in p for p in contract_problems(plugin))


class _Raises:
    """A property whose getter raises (assignments, as in __init__, are ignored)."""

    def __get__(self, obj: object, owner: type | None = None) -> object:
        raise RuntimeError("property boom")

    def __set__(self, obj: object, value: object) -> None:
        pass


@pytest.mark.parametrize(
    "attr", ["name", "plugin_id", "metadata", "compress", "decompress", "detect"]
)
def test_a_property_that_raises_is_a_config_error(attr: str) -> None:
    broken = type("Broken", (FaultyPlugin,), {attr: _Raises()})("broken-prop", 0x93)
    with pytest.raises(crush.ConfigError, match=rf"{attr} raised RuntimeError: property boom"):
        crush.Registry([DeflatePlugin(), broken])
    assert any(p.startswith(attr) for p in contract_problems(broken))


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("measured", {"deflate": None}, r"measured figures for 'deflate' must be"),
        ("measured", {"deflate": (None, 0.5)}, r"metadata throughput must be a number"),
        ("measured", {"deflate": (100.0, "0.5")}, r"metadata ratio must be a number"),
        ("measured", {"deflate": (1.0, 2.0, 3.0)}, r"must be \(throughput MB/s, ratio\)"),
        ("measured", [("deflate", (1.0, 0.5))], r"measured must be a mapping"),
        ("timeouts", [("deflate", 1.0)], r"timeouts must be a mapping"),
        ("install_hints", "pip install", r"install_hints must be a mapping"),
        ("isolation", 5, r"isolation must be a mapping"),
    ],
)
def test_wrongly_typed_registry_options_are_config_errors(
    option: str, value: object, match: str
) -> None:
    with pytest.raises(crush.ConfigError, match=match):
        crush.Registry([DeflatePlugin()], **{option: value})  # type: ignore[arg-type]


def test_validation_happens_before_anything_is_built() -> None:
    # A bad entry late in the list must fail the whole call, whatever came before.
    plugins = [DeflatePlugin(), ZstdPlugin(), FaultyPlugin("Bad", 0x92)]
    with pytest.raises(crush.ConfigError):
        crush.Registry(plugins)


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        crush.Registry([])


# -- immutability -----------------------------------------------------------


def test_registry_is_immutable() -> None:
    plugins = [DeflatePlugin(), ZstdPlugin()]
    timeouts = {"zstd": 5.0}
    hints = {"zstd": "pip install zstandard"}
    registry = crush.Registry(plugins, timeouts=timeouts, install_hints=hints)
    plugins.append(Lz4Plugin())
    timeouts["deflate"] = 1.0
    hints["deflate"] = "nothing"
    assert registry.names() == ("deflate", "zstd")
    assert registry.timeout_for("deflate") is None
    assert "nothing" not in registry.install_hint("deflate")
    assert isinstance(registry.plugins, tuple)
    with pytest.raises(AttributeError):
        registry.plugins = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        registry.default = plugins[1]  # type: ignore[misc]
    with pytest.raises(AttributeError):
        registry.extra = 1  # type: ignore[attr-defined]


# -- lookups ----------------------------------------------------------------


def test_lookups(make_registry: MakeRegistry) -> None:
    faulty = CompressRaises()
    registry = make_registry(ZstdPlugin(), faulty, default="zstd", timeouts={"zstd": 7},
                             default_timeout=3)
    assert registry.names() == ("deflate", "zstd", "raises-compress")
    assert len(registry) == 3
    assert "zstd" in registry
    assert "lz4" not in registry
    assert 0x01 not in registry  # names, not ids
    assert registry.default.name == "zstd"
    assert registry.get("raises-compress") is faulty
    assert registry.by_id(0x80) is faulty
    assert registry.find_id(0x01) is registry.get("zstd")
    assert registry.find_id(0x02) is None
    assert registry.timeout_for("zstd") == 7.0
    assert registry.timeout_for("deflate") is None
    assert registry.default_timeout == 3.0
    assert registry.isolation_for("zstd") == "thread"
    assert "zstd" in repr(registry)


def test_default_is_the_first_plugin_unless_named() -> None:
    assert crush.Registry([ZstdPlugin(), DeflatePlugin()]).default.name == "zstd"


def test_get_unknown_name_lists_known_plugins(make_registry: MakeRegistry) -> None:
    registry = make_registry(ZstdPlugin())
    with pytest.raises(crush.PluginNotFoundError, match=r"'snappy'.*available: deflate, zstd") \
            as info:
        registry.get("snappy")
    assert info.value.plugin == "snappy"
    assert isinstance(info.value, LookupError)


def test_get_builtin_left_out_says_how_to_add_it(make_registry: MakeRegistry) -> None:
    with pytest.raises(crush.PluginNotFoundError) as info:
        make_registry().get("lz4")
    message = str(info.value)
    assert "pip install lz4" in message
    assert "plugins.toml" in message


@pytest.mark.parametrize(("plugin_id", "name", "install"), [
    (0x01, "zstd", "pip install zstandard"),
    (0x02, "lz4", "pip install lz4"),
    (0x05, "bz2", "bz2 module"),
])
def test_by_id_for_a_builtin_left_out_names_it_and_plugins_toml(
    make_registry: MakeRegistry, plugin_id: int, name: str, install: str
) -> None:
    with pytest.raises(crush.PluginNotFoundError) as info:
        make_registry().by_id(plugin_id)
    message = str(info.value)
    assert repr(name) in message
    assert f"0x{plugin_id:02x}" in message
    assert install in message
    assert "plugins.toml" in message
    assert "rebuild" in message
    assert info.value.plugin == name
    assert info.value.plugin_id == plugin_id


def test_by_id_for_an_unknown_id_points_at_third_party_plugins(
    make_registry: MakeRegistry,
) -> None:
    with pytest.raises(crush.PluginNotFoundError, match=r"0xc3.*third-party.*plugins.toml") \
            as info:
        make_registry().by_id(0xC3)
    assert info.value.plugin is None
    assert info.value.plugin_id == 0xC3


def test_install_hints(make_registry: MakeRegistry) -> None:
    registry = make_registry(DecompressRaises(), install_hints={"raises-decompress": "pip x"})
    assert registry.install_hint("raises-decompress") == " To use 'raises-decompress': pip x."
    assert "pip install zstandard" in registry.install_hint("zstd")
    assert "plugins.toml" in registry.install_hint("zstd")
    assert registry.install_hint("snappy") == ""


def test_install_hint_for_a_compiled_in_plugin_is_empty(make_registry: MakeRegistry) -> None:
    assert make_registry(ZstdPlugin()).install_hint("zstd") == ""


def test_known_ids_cover_the_builtins() -> None:
    names = [name for name, _ in KNOWN_IDS.values()]
    assert len(set(names)) == len(names)
    assert all(0 <= plugin_id < 0x80 for plugin_id in KNOWN_IDS)


# -- the default registry and module functions -----------------------------


def test_default_registry_matches_module_functions() -> None:
    assert crush.list_plugins() == DEFAULT_REGISTRY.plugins
    assert DEFAULT_REGISTRY.default.name == "deflate"
    assert crush.get_plugin("brotli").name == "brotli"
    assert crush.plugin_for_id(0x03) is crush.get_plugin("brotli")
    with pytest.raises(crush.PluginNotFoundError):
        crush.get_plugin("snappy")


def test_module_functions_take_a_registry(make_registry: MakeRegistry) -> None:
    faulty = DecompressRaises()
    registry = make_registry(faulty)
    assert crush.list_plugins(registry=registry) == registry.plugins
    assert crush.get_plugin("raises-decompress", registry=registry) is faulty
    assert crush.plugin_for_id(0x82, registry=registry) is faulty
    with pytest.raises(crush.PluginNotFoundError):
        crush.get_plugin("zstd", registry=registry)
    with pytest.raises(crush.PluginNotFoundError):
        crush.plugin_for_id(0x01, registry=registry)
