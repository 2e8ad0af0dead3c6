"""Performance benchmarks: ``python -m tests.benchmarks.run`` (not part of the normal test run).

One module per benchmark (``bench_*.py``), each with ``NAME``, ``TITLE`` and
``async def run(scale) -> list[Figure]``; :mod:`tests.benchmarks.run` runs them, prints the table
of figure, target and verdict, and writes ``tests/benchmarks/results.json``.
"""
