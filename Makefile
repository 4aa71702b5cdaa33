# Two commands set everything up on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install serve bench sample clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11（$(PYTHON)）"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/orgreg nightly
	$(VENV)/bin/orgreg export .orgreg/export
	@echo "结果：.orgreg/export/（数据合同的四个 CSV，以及已停用的 ID、主办单位链接和缺失单位），运行报告见上方路径；orgreg serve 启动查询服务。"

test: install
	$(PY) -m pytest

serve: install
	$(VENV)/bin/orgreg serve

bench: install
	$(PY) bench/accuracy.py

sample: install
	$(PY) bench/make_data.py data/sample --units 3000 --seed 11

clean:
	rm -rf .orgreg .pytest_cache .hypothesis
