"""Round-trip data through every compiled-in crush plugin; built by tests/test_frozen.py.

PyInstaller freezes this with no hidden imports, collect flags, hooks or
metadata copies: crush's literal imports must be enough. Prints one
``<name> ok`` line per plugin, then ``plugins: <names>``.
"""

import sys

import crush

DATA = b"".join(b"%d: the quick brown fox jumps over the lazy dog\n" % i for i in range(4000))


def main() -> None:
    """Compress and decompress DATA with each plugin, exiting non-zero on any mismatch."""
    print("frozen:", bool(getattr(sys, "frozen", False)), "crush:", crush.__file__)
    names = [plugin.name for plugin in crush.list_plugins()]
    for name in names:
        blob = crush.compress(DATA, plugin=name, block_size=1 << 14)
        report = crush.inspect(blob)
        # The store plugin keeps every block raw; a codec that did so here
        # would mean it fell back or failed to load.
        stored = any(f.raw_blocks for f in report.frames) and name != "store"
        if report.plugin != name or stored:
            sys.exit(f"{name}: frame made by {report.plugin!r} or stored raw")
        if crush.decompress(blob) != DATA:
            sys.exit(f"{name}: round trip mismatch")
        print(name, "ok")
    print("plugins:", " ".join(names))


if __name__ == "__main__":
    main()
