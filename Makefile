# Shortcuts for developers; every target works from a fresh clone with python3.
PY := .venv/bin/python

.PHONY: demo test bench bench-quick calibrate golden

demo:            ## the main job on the sample corpus
	python3 tools/dev.py demo

test:            ## codegen --check, mypy, ruff, pytest: what CI runs
	python3 tools/dev.py test

bench:           ## every benchmark; Markdown on stdout, JSON in bench-results/
	python3 tools/dev.py bench

bench-quick:     ## the same with smaller inputs (about 2 minutes)
	python3 tools/dev.py bench --quick

calibrate:       ## measure plugin throughput/ratio into plugins.toml, then regenerate
	$(PY) -m tools.calibrate && $(PY) -m codegen

golden:          ## regenerate tests/golden (only when the format changes on purpose)
	$(PY) tools/make_golden.py
