"""Integrations with the libraries Python data people already use.

One module per host library, each importing its host only when it is
imported itself, and none imported by ``import crush``:

- :mod:`crush.integrations.fsspec` -- ``compression="crush"`` for
  ``fsspec.open`` (so pandas and Dask), and the ``crush::`` filesystem that
  exposes the decompressed content with its true size and cheap seeks, so
  Dask splits one ``.crush`` file into many partitions;
- :mod:`crush.integrations.numcodecs` -- the ``crush`` numcodecs codec;
- :mod:`crush.integrations.zarr` -- the ``crush`` Zarr v3 bytes-to-bytes codec;
- :mod:`crush.integrations.dask` -- a distributed ``WorkerPlugin`` that
  registers all of the above on every worker and sets crush's threads there.

Hosts discover these through their own entry points (declared in
``pyproject.toml``). Every entry point has an explicit ``register()``
beside it, for frozen or vendored applications where entry points are not
installed: call it once at start-up. crush's own codec plugins stay
statically registered; nothing here changes that.
"""
