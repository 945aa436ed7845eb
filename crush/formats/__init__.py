"""Standard container formats: the second kind of statically registered plugin.

A *codec* plugin (:mod:`crush.plugins`) compresses one block; a *format*
owns a container's bytes: its magic, where its units (gzip members, zstd
frames, xz/bz2 streams) begin and end, their checks, and the index it can
write or read. One small pure module per format (``gzip``, ``bgzf``,
``zstd``, ``xz``, ``bz2``, ``lz4``) describes that; :mod:`.decode` and
:mod:`.encode` run every format the same way (independent units on the
worker pool, in order; anything else as one bounded stream), and
:mod:`.detect` picks a format by magic bytes only, from the formats
``plugins.toml`` compiles in (``crush._registry.formats()``). The crush frame
itself is always compiled in and stays in :mod:`crush.frame`.
"""
