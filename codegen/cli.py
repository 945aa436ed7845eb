"""``python -m codegen``: write, check or verify ``crush/_registry.py``.

* ``python -m codegen`` renders the registry from ``plugins.toml`` and
  writes it (only when the text changed).
* ``--check`` renders in memory and exits 1, naming the command that fixes
  it, when the file on disk differs.
* ``--verify`` renders in memory and runs ``mypy --strict`` over the result
  and the plugin modules, so a plugin that does not satisfy
  ``crush.contract.Plugin`` fails. It can be combined with ``--check``.

``--config PATH`` (or ``CRUSH_PLUGINS_TOML=PATH``) selects another
configuration file and ``--output PATH`` another output file; relative paths
are taken from the working directory. Problems are printed to stderr, one
per entry with the fix, and the exit status is 1.

``python -m codegen new-plugin NAME --id 0x80 [--dir DIR]`` writes a new
third-party plugin package instead (:mod:`codegen.scaffold`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import CodegenError
from .generate import DEFAULT_OUTPUT
from .generate import ENV_VAR
from .generate import PROJECT_ROOT
from .generate import Generated
from .generate import generate
from .generate import selected_config
from .verify import verify


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 problems found)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["new-plugin"]:
        from .scaffold import main as new_plugin

        return new_plugin(words[1:])
    args = _parser().parse_args(words)
    config_file = selected_config(args.config)
    output = Path(args.output) if args.output else PROJECT_ROOT / DEFAULT_OUTPUT
    try:
        generated = generate(config_file)
    except CodegenError as exc:
        for problem in exc.problems:
            print(f"codegen: {problem}", file=sys.stderr)
        label = exc.problems[0].file if exc.problems else "the configuration"
        print(
            f"codegen: {len(exc.problems)} problem(s) in {label}; {_shown(output)} was not written",
            file=sys.stderr,
        )
        return 1
    if not (args.check or args.verify):
        return _write(generated, output)
    status = 0
    if args.check:
        status |= _check(generated, output, _fix_command(args))
    if args.verify:
        status |= _verify(generated)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Render crush/_registry.py from plugins.toml.",
        epilog="python -m codegen new-plugin NAME --id 0x80 [--dir DIR] writes a new "
        "third-party plugin package instead (see docs/PLUGINS.md).",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"the plugin configuration (default: ${ENV_VAR}, else plugins.toml)",
    )
    parser.add_argument(
        "--output",
        metavar="PATH",
        help=f"where the registry goes (default: {DEFAULT_OUTPUT.as_posix()})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the output file is not what would be generated",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="write nothing; type-check the rendered registry and plugins with mypy --strict",
    )
    return parser


def _write(generated: Generated, output: Path) -> int:
    text = generated.text
    if output.is_file() and output.read_text(encoding="utf-8") == text:
        print(f"codegen: {_shown(output)} is up to date with {generated.config.label}")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so an interrupted run never leaves
    # a half-written registry that crush would fail to import.
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8", newline="\n")
    os.replace(partial, output)
    print(f"codegen: wrote {_shown(output)} from {generated.config.label}")
    return 0


def _check(generated: Generated, output: Path, fix: str) -> int:
    try:
        current = output.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current == generated.text:
        print(f"codegen: {_shown(output)} is up to date with {generated.config.label}")
        return 0
    what = "is missing" if current is None else "is out of date"
    print(
        f"codegen: {_shown(output)} {what}: it is not what {generated.config.label} "
        f"generates\n  fix: run `{fix}` and commit the result",
        file=sys.stderr,
    )
    return 1


def _verify(generated: Generated) -> int:
    result = verify(generated)
    if result.ok:
        print(f"codegen: mypy --strict passed for the registry and {len(result.files)} module(s)")
        return 0
    sys.stderr.write(result.output)
    if not result.output.endswith("\n"):
        sys.stderr.write("\n")
    print(
        f"codegen: {generated.config.label}: mypy --strict rejects the registry or a plugin\n"
        f"  fix: {result.fix}",
        file=sys.stderr,
    )
    return 1


def _fix_command(args: argparse.Namespace) -> str:
    words = ["python", "-m", "codegen"]
    if args.config:
        words += ["--config", args.config]
    if args.output:
        words += ["--output", args.output]
    command = shlex.join(words)
    env = os.environ.get(ENV_VAR)
    if env and not args.config:
        command = f"{ENV_VAR}={shlex.quote(env)} {command}"
    return command


def _shown(path: Path) -> str:
    """Return *path* relative to the working directory when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
