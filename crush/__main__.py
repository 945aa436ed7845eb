"""``python -m crush``: the same as the ``crush`` command."""

from .cli import run

if __name__ == "__main__":
    run()
