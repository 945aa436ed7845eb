"""crush benchmark suite: ``python -m tools.bench [--quick] [--json OUT] [--only NAME ...]``.

Each benchmark lives in its own module and exposes a
:class:`~tools.bench.common.Benchmark` (name, title, goal, ``run(ctx)``
returning rows); ``tools/bench/__main__.py`` lists them in
:data:`~tools.bench.__main__.BENCHMARKS`. A run prints one Markdown table
per benchmark and can write every figure, with the machine it ran on, to
a JSON file. Benchmarks report whether each goal is met; they never fail
on speed.

To add a benchmark: write ``tools/bench/<name>.py`` with a ``run(ctx:
Context) -> list[Row]`` function and a module-level ``BENCHMARK``, then
append it to ``BENCHMARKS``.
"""
