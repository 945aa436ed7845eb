"""Checks shared by the built-in plugins."""

from __future__ import annotations


def check_size(name: str, out: bytes, size: int) -> bytes:
    """Return *out* if it holds exactly *size* bytes, else raise ValueError.

    Decoders are asked for at most ``size`` bytes, so a short result means the
    block is damaged; crush wraps the error in a PluginError.
    """
    if len(out) != size:
        raise ValueError(f"{name} block decoded to {len(out)} bytes, the frame declares {size}")
    return out
