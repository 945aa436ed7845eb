"""The build step: ``python -m codegen`` validates plugins.toml and renders crush/_registry.py.

codegen runs as a subprocess of this interpreter, from the repository root or
a temporary directory, exactly as a developer or CI runs it. Custom
configurations and third-party plugin packages live in ``tmp_path``; nothing
here writes into the source tree (every write goes to ``--output`` in
``tmp_path``).
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "crush" / "_registry.py"

Run = Callable[..., subprocess.CompletedProcess[str]]

PLUGIN_MODULE = """from __future__ import annotations

from typing import Final

from crush.contract import Buffer
from crush.contract import CancelToken
from crush.contract import PluginMetadata
"""

PLUGIN_SOURCE = '''

class {cls}:
    """A test plugin that stores blocks as they are."""

    name: Final = "{name}"
    plugin_id: Final = {plugin_id}
    metadata: Final = PluginMetadata(
        version="1",
        description="test plugin",
        throughput=100.0,
        ratio=1.0,
        min_level=0,
        max_level=1,
        default_level=0,
        fast=0,
        balanced=0,
        best=1,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return *data* unchanged."""
        return bytes(data)

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return *data* unchanged."""
        return bytes(data)
{detect}'''

DETECT = '''
    def detect(self, header: bytes) -> bool:
        """Accept any input."""
        return True
'''

DEFLATE = '[[plugin]]\nname = "deflate"\nclass = "crush.plugins.deflate:DeflatePlugin"\n'
LZ4 = (
    '[[plugin]]\nname = "lz4"\nclass = "crush.plugins.lz4:Lz4Plugin"\ninstall = "pip install lz4"\n'
)


def plugin_entry(name: str, target: str, extra: str = "") -> str:
    """Return a [[plugin]] table for *name* implemented by *target* ("module:Class")."""
    return f'[[plugin]]\nname = "{name}"\nclass = "{target}"\n{extra}'


def config_text(*entries: str, default: str = "deflate", crush: str = "") -> str:
    """Return a plugins.toml with a [crush] table and *entries*."""
    return f'[crush]\ndefault = "{default}"\n{crush}\n' + "\n".join(entries)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Return a directory for third-party plugin packages (put on PYTHONPATH by ``run``)."""
    path = tmp_path / "site"
    path.mkdir()
    return path


@pytest.fixture
def make_plugin(site: Path) -> Callable[..., str]:
    """Return ``make(package, cls, name, plugin_id, detect=True)`` -> "package.plug:cls".

    Writes a third-party plugin package into ``site``.
    """

    def make(
        package: str, cls: str, name: str, plugin_id: int, *, detect: str | bool = True
    ) -> str:
        parts = package.split(".")
        for depth in range(1, len(parts) + 1):
            directory = site.joinpath(*parts[:depth])
            directory.mkdir(exist_ok=True)
            (directory / "__init__.py").touch()
        pkg = site.joinpath(*parts)
        body = DETECT if detect is True else detect or ""
        source = PLUGIN_SOURCE.format(cls=cls, name=name, plugin_id=hex(plugin_id), detect=body)
        module = pkg / "plug.py"
        if not module.exists():
            module.write_text(PLUGIN_MODULE, encoding="utf-8")
        with module.open("a", encoding="utf-8") as f:
            f.write(source)
        return f"{package}.plug:{cls}"

    return make


@pytest.fixture
def run(tmp_path: Path, site: Path) -> Run:
    """Return ``run(*args, cwd=REPO, env=None)``: ``python -m codegen`` as a subprocess.

    The repository and ``site`` are on PYTHONPATH, CRUSH_PLUGINS_TOML is
    unset unless *env* sets it, and mypy caches into ``tmp_path``.
    """

    def run_codegen(
        *args: str | Path, cwd: Path = REPO, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if k != "CRUSH_PLUGINS_TOML"}
        environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(site)])
        environ["PYTHONDONTWRITEBYTECODE"] = "1"
        environ["MYPY_CACHE_DIR"] = str(tmp_path / "mypy-cache")
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "codegen", *map(str, args)],
            cwd=cwd,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run_codegen


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Return ``write(text)`` -> path of a new ``plugins-N.toml`` in tmp_path holding *text*."""
    counter = iter(range(1000))

    def write_config(text: str) -> Path:
        path = tmp_path / f"plugins-{next(counter)}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write_config


def render(run: Run, config: Path, output: Path) -> str:
    """Render *config* into *output* and return the text; fail with codegen's stderr."""
    proc = run("--config", config, "--output", output)
    assert proc.returncode == 0, proc.stderr
    return output.read_text(encoding="utf-8")


def ruff(*args: str, text: str) -> subprocess.CompletedProcess[str]:
    """Run ruff on *text* as if it were crush/_registry.py (so the project config applies)."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", "crush/_registry.py", "-"],
        input=text,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- the committed registry ------------------------------------------------------


def test_check_passes_on_the_repository(run: Run) -> None:
    proc = run("--check")
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout


def test_committed_registry_header_names_source_and_hash() -> None:
    digest = hashlib.sha256((REPO / "plugins.toml").read_bytes()).hexdigest()
    lines = REGISTRY.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Generated from plugins.toml by codegen — do not edit."
    assert lines[1] == f"# Source: plugins.toml (sha256 {digest})"
    assert lines[2] == "# Regenerate: python -m codegen"


def test_committed_registry_passes_ruff() -> None:
    text = REGISTRY.read_text(encoding="utf-8")
    assert ruff("check", text=text).returncode == 0
    assert ruff("format", "--check", text=text).returncode == 0


def test_generated_names_match_what_the_runtime_reads() -> None:
    import crush
    from crush import _registry

    names = [p.name for p in _registry.PLUGINS]
    assert names == [p.name for p in crush.list_plugins()]
    assert list(_registry.BY_NAME) == names
    assert {i: p.name for i, p in _registry.BY_ID.items()} == {
        p.plugin_id: p.name for p in _registry.PLUGINS
    }
    assert _registry.DEFAULT in names
    import codegen

    config = codegen.load_config(REPO / "plugins.toml")
    assert dict(_registry.THROUGHPUT) == {
        e.name: e.throughput for e in config.plugins if e.throughput is not None
    }
    assert dict(_registry.RATIO) == {e.name: e.ratio for e in config.plugins if e.ratio is not None}


# --- --check -------------------------------------------------------------------


def test_check_fails_when_the_output_differs(run: Run, tmp_path: Path) -> None:
    stale = tmp_path / "_registry.py"
    stale.write_text(REGISTRY.read_text(encoding="utf-8").replace("30.0", "31.0"))
    proc = run("--check", "--output", stale)
    assert proc.returncode == 1
    assert "out of date" in proc.stderr
    assert f"python -m codegen --output {stale}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "31.0" in stale.read_text(encoding="utf-8"), "--check must not write"


def test_check_fails_when_the_output_is_missing(run: Run, tmp_path: Path) -> None:
    proc = run("--check", "--output", tmp_path / "missing.py")
    assert proc.returncode == 1
    assert "is missing" in proc.stderr
    assert "python -m codegen" in proc.stderr
    assert not (tmp_path / "missing.py").exists()


def test_check_names_the_environment_variable_in_the_fix(
    run: Run, write: Callable[[str], Path], tmp_path: Path
) -> None:
    config = write(config_text(DEFLATE))
    proc = run("--check", "--output", tmp_path / "out.py", env={"CRUSH_PLUGINS_TOML": str(config)})
    assert proc.returncode == 1
    assert f"CRUSH_PLUGINS_TOML={config} python -m codegen --output" in proc.stderr


def test_write_then_check(run: Run, write: Callable[[str], Path], tmp_path: Path) -> None:
    config = write(config_text(DEFLATE, LZ4))
    output = tmp_path / "out" / "_registry.py"
    render(run, config, output)
    assert not list(output.parent.glob("*.partial"))
    proc = run("--check", "--config", config, "--output", output)
    assert proc.returncode == 0, proc.stderr
    again = run("--config", config, "--output", output)
    assert "up to date" in again.stdout


# --- rendering -------------------------------------------------------------------


def test_output_is_deterministic(run: Run, write: Callable[[str], Path], tmp_path: Path) -> None:
    config = write(config_text(DEFLATE, LZ4, crush="timeout = 0"))
    first = render(run, config, tmp_path / "a.py")
    second = render(run, config, tmp_path / "b.py")
    assert first.encode() == second.encode()
    default_a = render(run, REPO / "plugins.toml", tmp_path / "c.py")
    assert default_a.encode() == REGISTRY.read_bytes()


def test_output_does_not_depend_on_where_the_config_lives(run: Run, tmp_path: Path) -> None:
    text = config_text(DEFLATE)
    for sub in ("one", "two/deeper"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "minimal.toml").write_text(text)
    one = render(run, tmp_path / "one" / "minimal.toml", tmp_path / "one.py")
    two = render(run, tmp_path / "two" / "deeper" / "minimal.toml", tmp_path / "two.py")
    assert one == two
    assert str(tmp_path) not in one
    assert str(REPO) not in one
    assert one.startswith("# Generated from minimal.toml by codegen — do not edit.\n")
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert f"# Source: minimal.toml (sha256 {digest})" in one
    assert "# Regenerate: python -m codegen --config minimal.toml" in one


def test_builtin_plugins_import_relatively_and_third_party_absolutely(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str], tmp_path: Path
) -> None:
    acme = make_plugin("acme_crush", "AcmePlugin", "acme", 0x80)
    text = render(run, write(config_text(DEFLATE, plugin_entry("acme", acme))), tmp_path / "out.py")
    assert "\nfrom .plugins.deflate import DeflatePlugin\n" in text
    assert "\nfrom acme_crush.plug import AcmePlugin\n" in text
    assert "from crush" not in text
    assert (
        "PLUGINS: Final[tuple[Plugin, ...]] = (\n    DeflatePlugin(),\n    AcmePlugin(),\n)" in text
    )
    assert '"acme": PLUGINS[1]' in text
    assert "0x80: PLUGINS[1]" in text


def test_crush_plugins_toml_selects_the_config(
    run: Run, tmp_path: Path, write: Callable[[str], Path]
) -> None:
    (tmp_path / "minimal.toml").write_text(config_text(DEFLATE, LZ4))
    output = tmp_path / "out.py"
    # A relative path is taken from the working directory.
    proc = run("--output", output, cwd=tmp_path, env={"CRUSH_PLUGINS_TOML": "minimal.toml"})
    assert proc.returncode == 0, proc.stderr
    text = output.read_text()
    assert "from .plugins.lz4 import Lz4Plugin" in text
    assert "ZstdPlugin" not in text
    assert text.startswith("# Generated from minimal.toml")
    # --config wins over the environment variable.
    other = write(config_text(DEFLATE))
    proc = run(
        "--config", other, "--output", output, env={"CRUSH_PLUGINS_TOML": "does-not-exist.toml"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "Lz4Plugin" not in output.read_text()


def test_settings_are_rendered(run: Run, write: Callable[[str], Path], tmp_path: Path) -> None:
    lzma = plugin_entry(
        "lzma",
        "crush.plugins.lzma:LzmaPlugin",
        'timeout = 0\nisolation = "process"\nthroughput = 12\nratio = 0.25\n',
    )
    text = render(
        run,
        write(config_text(DEFLATE, lzma, default="lzma", crush="timeout = 2.5")),
        tmp_path / "out.py",
    )
    assert 'DEFAULT: Final[str] = "lzma"' in text
    assert "DEFAULT_TIMEOUT: Final[float | None] = 2.5" in text
    assert '        "lzma": 0.0,\n' in text
    assert '        "lzma": "process",\n' in text
    assert '        "lzma": 12.0,\n' in text
    assert '        "lzma": 0.25,\n' in text
    no_timeout = render(run, write(config_text(DEFLATE)), tmp_path / "none.py")
    assert "DEFAULT_TIMEOUT: Final[float | None] = None" in no_timeout
    assert "PLUGINS: Final[tuple[Plugin, ...]] = (DeflatePlugin(),)" in no_timeout


def test_awkward_configurations_still_pass_ruff(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str], tmp_path: Path
) -> None:
    """Name clashes, natural sort order, long lines and odd strings stay ruff-clean."""
    long_package = "acme_crush_with_a_rather_long_distribution_name.compression_plugins"
    entries = [
        DEFLATE,
        plugin_entry("nine", make_plugin("acme9", "Plugin", "nine", 0x90)),
        plugin_entry("ten", make_plugin("acme10", "Plugin", "ten", 0x91)),
        plugin_entry("upper", make_plugin("Acme_a", "APlugin", "upper", 0x92)),
        plugin_entry("lower", make_plugin("acme_a", "a_plugin", "lower", 0x93)),
        plugin_entry("const", make_plugin("acme_a", "CONST", "const", 0x94)),
        plugin_entry(
            "long",
            make_plugin(long_package, "AnExtremelyLongPluginClassNameForTesting", "long", 0x95),
            'install = "pip install ' + "very-long-requirement " * 6 + '"\n',
        ),
        plugin_entry(
            "quotes",
            make_plugin("acme_q", "Q", "quotes", 0x96),
            'install = "say \\"pip install q\\" or it\'s over"\n',
        ),
        plugin_entry("bz2", "crush.plugins.bz2:Bz2Plugin", 'install = "tab\\there ünïcode"\n'),
    ]
    text = render(run, write(config_text(*entries)), tmp_path / "out.py")
    check = ruff("check", text=text)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = ruff("format", "--check", "--diff", text=text)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    assert "import Plugin as Plugin2" in text
    assert "import Plugin as Plugin3" in text
    compile(text, "_registry.py", "exec")


def test_crush_never_imports_codegen_or_jinja2() -> None:
    for path in sorted((REPO / "crush").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                assert top not in {"codegen", "jinja2"}, f"{path}:{node.lineno} imports {module}"


# --- validation: every problem names the file, the entry and the fix -------------

CASES: dict[str, tuple[str, str, str, str]] = {
    # id: (toml, entry, message, fix)
    "unknown top-level table": (
        config_text(DEFLATE) + "\n[extra]\nx = 1\n",
        "[extra]",
        "unknown table or key 'extra'",
        "remove or rename it",
    ),
    "unknown [crush] key": (
        config_text(DEFLATE, crush="timout = 3"),
        "[crush]",
        "unknown key 'timout'",
        "did you mean 'timeout'?",
    ),
    "unknown [[plugin]] key": (
        config_text(DEFLATE.replace("\nclass", '\nisolaton = "thread"\nclass')),
        '[[plugin]] #1 (name = "deflate")',
        "unknown key 'isolaton'",
        "did you mean 'isolation'?",
    ),
    "missing [crush]": (DEFLATE, "[crush]", "table is missing", 'default = "deflate"'),
    "missing default": (
        "[crush]\ntimeout = 1\n" + DEFLATE,
        "[crush]",
        "no default plugin is set",
        'add default = "deflate"',
    ),
    "unknown default": (
        config_text(DEFLATE, LZ4, default="zstd"),
        "[crush]",
        'default = "zstd" names no [[plugin]] entry',
        "set default to one of deflate, lz4",
    ),
    "default not a string": (
        "[crush]\ndefault = 1\n" + DEFLATE,
        "[crush]",
        "default must be a plugin name",
        'write default = "deflate"',
    ),
    "negative [crush] timeout": (
        config_text(DEFLATE, crush="timeout = -1"),
        "[crush]",
        "timeout must be a number of seconds >= 0, got -1",
        "0 disables the deadline",
    ),
    "infinite [crush] timeout": (
        config_text(DEFLATE, crush="timeout = inf"),
        "[crush]",
        "timeout must be a number of seconds >= 0, got inf",
        "0 disables the deadline",
    ),
    "boolean plugin timeout": (
        config_text(DEFLATE + "timeout = true\n"),
        '[[plugin]] #1 (name = "deflate")',
        "timeout must be a number of seconds >= 0, got True",
        "e.g. timeout = 30.0",
    ),
    "string plugin timeout": (
        config_text(DEFLATE, LZ4 + 'timeout = "slow"\n'),
        '[[plugin]] #2 (name = "lz4")',
        "got 'slow'",
        "e.g. timeout = 30.0",
    ),
    "bad isolation": (
        config_text(DEFLATE + 'isolation = "fork"\n'),
        '[[plugin]] #1 (name = "deflate")',
        "isolation must be 'thread' or 'process', got 'fork'",
        'isolation = "process"',
    ),
    "bad throughput": (
        config_text(DEFLATE + "throughput = 0\n"),
        '[[plugin]] #1 (name = "deflate")',
        "throughput must be MB/s > 0, got 0",
        "throughput = 250.0",
    ),
    "bad ratio": (
        config_text(DEFLATE + "ratio = 1.6\n"),
        '[[plugin]] #1 (name = "deflate")',
        "ratio must be compressed/original size in (0, 1.5], got 1.6",
        "ratio = 0.35",
    ),
    "empty install hint": (
        config_text(DEFLATE + 'install = " "\n'),
        '[[plugin]] #1 (name = "deflate")',
        "install must be a non-empty hint",
        'install = "pip install zstandard"',
    ),
    "missing name": (
        config_text('[[plugin]]\nclass = "crush.plugins.deflate:DeflatePlugin"\n'),
        "[[plugin]] #1",
        "name must be the plugin's non-empty lower-case name, got None",
        'add name = "<plugin name>"',
    ),
    "bad class syntax": (
        config_text(plugin_entry("deflate", "crush.plugins.deflate.DeflatePlugin")),
        '[[plugin]] #1 (name = "deflate")',
        "class must be \"module:Class\", got 'crush.plugins.deflate.DeflatePlugin'",
        'class = "acme_crush.plug:AcmePlugin"',
    ),
    "duplicate name": (
        config_text(DEFLATE, LZ4, DEFLATE),
        '[[plugin]] #3 (name = "deflate")',
        'the name "deflate" is already used by [[plugin]] #1',
        "remove one of the two entries",
    ),
    "no plugins": ('[crush]\ndefault = "deflate"\n', "[[plugin]]", "no plugins", "[[plugin]]"),
    "plugin is not an array of tables": (
        'plugin = "deflate"\n[crush]\ndefault = "deflate"\n',
        "[[plugin]]",
        "plugin must be an array of tables",
        "double brackets",
    ),
    "TOML syntax error": (
        '[crush]\ndefault = "deflate"\n\n[plugin\n',
        "line 4, column 8",
        "is not valid TOML: Expected ']' at the end of a table declaration",
        "correct the syntax at that line",
    ),
    "module does not import": (
        config_text(
            DEFLATE,
            plugin_entry(
                "acme", "acme_missing.plug:AcmePlugin", 'install = "pip install acme-crush"\n'
            ),
        ),
        '[[plugin]] #2 (name = "acme")',
        'class = "acme_missing.plug:AcmePlugin" does not import (ModuleNotFoundError',
        "install it (pip install acme-crush)",
    ),
    "class missing from module": (
        config_text(plugin_entry("deflate", "crush.plugins.deflate:DeflatePlug")),
        '[[plugin]] #1 (name = "deflate")',
        "module 'crush.plugins.deflate' has no attribute 'DeflatePlug'",
        "correct the class name after the colon",
    ),
    "not a class": (
        config_text(plugin_entry("deflate", "crush.plugins.deflate:threading")),
        '[[plugin]] #1 (name = "deflate")',
        "crush.plugins.deflate:threading is a module, not a class",
        "point class at the plugin class itself",
    ),
    "constructor needs arguments": (
        config_text(DEFLATE, plugin_entry("gz", "gzip:GzipFile")),
        '[[plugin]] #2 (name = "gz")',
        "GzipFile() raised TypeError",
        "make GzipFile constructible with no arguments",
    ),
    "name differs from the class": (
        config_text(plugin_entry("lz4x", "crush.plugins.lz4:Lz4Plugin"), default="lz4x"),
        '[[plugin]] #1 (name = "lz4x")',
        'name = "lz4x" but Lz4Plugin.name is "lz4"',
        'write name = "lz4"',
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_problem_names_file_entry_and_fix(
    case: tuple[str, str, str, str], run: Run, write: Callable[[str], Path], tmp_path: Path
) -> None:
    toml, entry, message, fix = case
    config = write(toml)
    output = tmp_path / "out.py"
    proc = run("--config", config, "--output", output)
    assert_problem(proc, f"{config}: {entry}" if entry else f"{config}: ", message, fix)
    assert not output.exists()


def assert_problem(
    proc: subprocess.CompletedProcess[str], where: str, message: str, fix: str
) -> None:
    """Assert codegen failed cleanly with one problem naming *where*, *message* and *fix*."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith(f"codegen: {where}")]
    assert heads, f"no problem for {where!r}:\n{proc.stderr}"
    found = [(lines[i], lines[i + 1]) for i in heads if message in lines[i]]
    assert found, f"no problem says {message!r}:\n{proc.stderr}"
    _, fix_line = found[0]
    assert fix_line.startswith("  fix: ") and fix in fix_line, proc.stderr


def test_missing_file_is_named(run: Run, tmp_path: Path) -> None:
    proc = run("--output", tmp_path / "out.py", env={"CRUSH_PLUGINS_TOML": "nope.toml"})
    assert_problem(proc, "nope.toml: ", "cannot read the file", "CRUSH_PLUGINS_TOML")


def test_every_problem_is_reported_at_once(run: Run, write: Callable[[str], Path]) -> None:
    config = write(
        config_text(DEFLATE + "ratio = 9\n", LZ4 + 'isolation = "x"\n', crush="timeout = -2")
    )
    proc = run("--config", config, "--output", config.with_suffix(".py"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n  fix: ") == 3
    assert "3 problem(s)" in proc.stderr


# --- validation of the plugin classes themselves ---------------------------------


def test_duplicate_ids(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str]
) -> None:
    one = make_plugin("acme_one", "OnePlugin", "one", 0x80)
    two = make_plugin("acme_two", "TwoPlugin", "two", 0x80)
    config = write(config_text(DEFLATE, plugin_entry("one", one), plugin_entry("two", two)))
    proc = run("--config", config, "--output", config.with_suffix(".py"))
    assert_problem(
        proc,
        f'{config}: [[plugin]] #3 (name = "two")',
        'TwoPlugin.plugin_id 0x80 is already used by [[plugin]] #2 (name = "one")',
        "give one of the two plugins an unused id",
    )


def test_id_out_of_range(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str]
) -> None:
    big = make_plugin("acme_big", "BigPlugin", "big", 0x100)
    config = write(config_text(DEFLATE, plugin_entry("big", big)))
    proc = run("--config", config, "--output", config.with_suffix(".py"))
    assert_problem(
        proc,
        f'{config}: [[plugin]] #2 (name = "big")',
        "plugin_id must be an int in 0-255, got 256",
        "give BigPlugin an unused plugin_id in 0x80-0xFF",
    )


def test_third_party_plugin_may_not_take_a_builtin_id(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str]
) -> None:
    sneaky = make_plugin("acme_sneaky", "SneakyPlugin", "sneaky", 0x07)
    config = write(config_text(DEFLATE, plugin_entry("sneaky", sneaky)))
    proc = run("--config", config, "--output", config.with_suffix(".py"))
    assert_problem(
        proc,
        f'{config}: [[plugin]] #2 (name = "sneaky")',
        "SneakyPlugin.plugin_id is 0x07, outside 0x80-0xFF, the range for third-party plugins",
        "give SneakyPlugin an unused plugin_id in 0x80-0xFF",
    )


@pytest.fixture
def fake_builtin(make_plugin: Callable[..., str], site: Path) -> Iterator[str]:
    """Make ``crush.plugins.fake_builtin`` importable in this process; yield its class path.

    The module is registered in sys.modules under that name (and removed
    afterwards) instead of being written into crush/plugins/, so the test
    never touches the source tree.
    """
    import importlib.util

    make_plugin("fake", "HighPlugin", "high", 0x81)
    spec = importlib.util.spec_from_file_location(
        "crush.plugins.fake_builtin", site / "fake" / "plug.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield "crush.plugins.fake_builtin:HighPlugin"
    finally:
        del sys.modules[spec.name]


def test_builtin_plugin_must_take_a_builtin_id(
    fake_builtin: str, write: Callable[[str], Path]
) -> None:
    from codegen import CodegenError
    from codegen import generate

    config = write(config_text(DEFLATE, plugin_entry("high", fake_builtin)))
    with pytest.raises(CodegenError) as caught:
        generate(config)
    (problem,) = caught.value.problems
    assert problem.file == str(config)
    assert problem.entry == '[[plugin]] #2 (name = "high")'
    assert "HighPlugin.plugin_id is 0x81, outside 0x00-0x7F" in problem.message
    assert "crush's built-in plugins" in problem.message
    assert "0x00-0x7F" in problem.fix


def test_contract_violation_is_reported(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str]
) -> None:
    broken = make_plugin("acme_broken", "BrokenPlugin", "broken", 0x80, detect=False)
    config = write(config_text(DEFLATE, plugin_entry("broken", broken)))
    proc = run("--config", config, "--output", config.with_suffix(".py"))
    assert_problem(
        proc,
        f'{config}: [[plugin]] #2 (name = "broken")',
        "BrokenPlugin does not satisfy the crush plugin contract: detect() is missing",
        "crush.contract.Plugin",
    )


# --- --verify --------------------------------------------------------------------


def test_verify_passes_on_the_repository(run: Run) -> None:
    proc = run("--check", "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mypy --strict passed" in proc.stdout


def test_verify_passes_with_a_third_party_plugin(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str]
) -> None:
    acme = make_plugin("acme_good", "GoodPlugin", "good", 0x80)
    proc = run("--verify", "--config", write(config_text(DEFLATE, plugin_entry("good", acme))))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_verify_fails_for_a_plugin_missing_detect(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str]
) -> None:
    broken = make_plugin("acme_nodetect", "NoDetectPlugin", "nodetect", 0x80, detect=False)
    proc = run(
        "--verify", "--config", write(config_text(DEFLATE, plugin_entry("nodetect", broken)))
    )
    assert proc.returncode == 1
    assert "detect() is missing" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verify_fails_when_only_mypy_can_tell(
    run: Run, write: Callable[[str], Path], make_plugin: Callable[..., str], tmp_path: Path
) -> None:
    """A wrong signature passes the run-time contract check; mypy --strict catches it."""
    wrong = textwrap.indent(
        textwrap.dedent(
            '''
            def detect(self, header: bytes) -> str:
                """Return a string where the protocol wants a bool."""
                return "yes"
            '''
        ),
        "    ",
    )
    target = make_plugin("acme_wrong", "WrongPlugin", "wrong", 0x80, detect=wrong)
    config = write(config_text(DEFLATE, plugin_entry("wrong", target)))
    plain = run("--config", config, "--output", tmp_path / "out.py")
    assert plain.returncode == 0, plain.stderr
    proc = run("--verify", "--config", config)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "crush/_registry.py" in proc.stderr
    assert re.search(r'plugin_contract\.py:\d+: error: .*"WrongPlugin"', proc.stderr)
    assert 'note: Following member(s) of "WrongPlugin" have conflicts' in proc.stderr
    assert "def detect(self, header: bytes) -> str" in proc.stderr
    assert "fix: make each plugin class satisfy crush.contract.Plugin" in proc.stderr
    assert REGISTRY.read_text(encoding="utf-8").count("WrongPlugin") == 0
