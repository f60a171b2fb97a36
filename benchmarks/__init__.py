"""connect-chat benchmarks: each figure is measured next to a baseline in the same run.

Run them all with ``python -m benchmarks`` (``--quick`` for a short smoke run, ``--only``
to pick some). The table goes to stdout, the figures to ``benchmarks/results/*.json``.
See docs/performance.md for what each benchmark does and the latest figures.
"""
