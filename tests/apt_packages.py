"""Install the Debian packages some tests need: CI machines start without them."""

from __future__ import annotations

import os
import shutil
import subprocess


def install(*packages: str) -> None:
    """Run ``apt-get install`` for *packages*; refresh the package lists once if it fails.

    A fresh machine has no package lists, so the first install fails there
    until ``apt-get update`` ran. Does nothing without apt-get; the caller
    checks for the programs afterwards and skips, saying apt could not.
    """
    if not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]

    def run(args: list[str]) -> int:
        return subprocess.run(args, capture_output=True, check=False, timeout=900,
                              env=env).returncode

    if run(command):
        run(["apt-get", "update"])
        run(command)
