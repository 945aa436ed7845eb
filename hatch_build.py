"""Hatchling build hook: put a freshly generated ``crush/_registry.py`` into the wheel.

Every standard wheel build (``pip install .``, ``python -m build``) runs
codegen on ``plugins.toml`` — or on the file ``CRUSH_PLUGINS_TOML`` names, so
CI can choose the plugin set at build time — and ships the result as
``crush/_registry.py``. The registry is rendered into a temporary file and
mapped into the wheel with ``force_include``, which takes precedence over
the committed copy, so the wheel holds exactly one registry and the source
tree is never written to. Editable installs run the sources in place and use
the committed registry, so they skip the hook.

A relative ``CRUSH_PLUGINS_TOML`` is resolved against the project root: the
build backend runs there, not in the directory ``pip`` was started from. The
plugin classes the file lists must be importable in the build environment
(for third-party plugins: add them to the build requirements or build with
``--no-build-isolation``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from typing import NoReturn

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ENV_VAR = "CRUSH_PLUGINS_TOML"
TARGET = "crush/_registry.py"


class RegistryBuildHook(BuildHookInterface[BuilderConfig]):
    """Render the plugin registry into each standard wheel build.

    Not thread-safe: hatchling runs hooks one build at a time. ``finalize``
    removes the temporary directory ``initialize`` made.
    """

    PLUGIN_NAME = "crush-registry"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tmp: str | None = None

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Render the registry and map it to ``crush/_registry.py`` in the wheel."""
        if version != "standard":
            if os.environ.get(ENV_VAR):
                self.app.display_warning(
                    f"{ENV_VAR} is ignored for {version} installs: they use the committed "
                    f"{TARGET}; run `python -m codegen` to regenerate it in place"
                )
            return
        text, source = self._render()
        committed = Path(self.root) / TARGET
        current = committed.read_text(encoding="utf-8") if committed.is_file() else None
        if source == "plugins.toml" and current != text:
            self.app.display_warning(
                f"{TARGET} is out of date with plugins.toml; the wheel gets a fresh one, but "
                "a checkout or vendored copy would not: run `python -m codegen` and commit it"
            )
        self._tmp = tempfile.mkdtemp(prefix="crush-registry-")
        rendered = Path(self._tmp) / "_registry.py"
        rendered.write_text(text, encoding="utf-8", newline="\n")
        build_data["force_include"][str(rendered)] = TARGET
        self.app.display_info(f"crush: generated {TARGET} from {source}")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the temporary registry once the wheel is written."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _render(self) -> tuple[str, str]:
        root = Path(self.root).resolve()
        config = os.environ.get(ENV_VAR) or None
        if config is not None and not (root / config).is_file():
            self._abort(
                f"{ENV_VAR}={config}: no such file (a relative path is resolved against "
                f"the project root, {root}, during a build); point it at an existing file, "
                "using an absolute path"
            )
        # codegen lives beside this file and is not installed; import it from the
        # project root. Bytecode would land in the source tree, so none is written.
        saved_path, saved_bytecode = list(sys.path), sys.dont_write_bytecode
        sys.path.insert(0, str(root))
        sys.dont_write_bytecode = True
        try:
            from codegen import CodegenError
            from codegen import generate

            try:
                generated = generate(config, root=root, base=root)
            except CodegenError as exc:
                self._abort(str(exc))
        finally:
            sys.path[:] = saved_path
            sys.dont_write_bytecode = saved_bytecode
        return generated.text, generated.source

    def _abort(self, message: str) -> NoReturn:
        self.app.display_error(f"crush: cannot generate {TARGET}:\n{message}")
        raise SystemExit(1)
