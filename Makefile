# Everyday commands. `make setup` once, then `make test`.
.PHONY: setup test lint fmt demo examples golden

setup:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]'

test:
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .

demo:
	.venv/bin/flowc demo

examples:
	for t in local datafusion; do .venv/bin/python tests/check_examples.py .venv/bin/flowc $$t; done

golden:
	FLOWC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests -k golden
