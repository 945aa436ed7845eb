"""Problems found in ``plugins.toml``, each naming the file, the entry and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import final


@final
@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the plugin configuration.

    ``file`` is the configuration file as the user named it, ``entry`` the
    place inside it (``[crush] default``, ``[[plugin]] #3 (name = "zstd")``),
    ``message`` what is wrong and ``fix`` what to do about it.
    """

    file: str
    entry: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}" if self.entry else self.file
        return f"{where}: {self.message}\n  fix: {self.fix}"


class CodegenError(Exception):
    """The configuration cannot be rendered; ``problems`` lists every reason found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
