# The two commands a newcomer needs: `make serve` (the service on embedded defaults) and `make test`.
# Everything is installed here from pyproject.toml into .venv; nothing is assumed to be installed by hand.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# What serving needs and nothing more (no test tools): `make serve` on a fresh clone installs only this.
SERVE_STAMP := $(VENV)/.installed-serve
PORT ?= 8000
PO_FILES := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: install locales extract test serve bench wheel clean pdf-system-deps

install: pdf-system-deps $(STAMP) $(MO_FILES)

# Printed letters (the `pdf` extra, in `test`): WeasyPrint loads Pango and sets every letter in Noto Sans CJK SC
# (Simplified and Traditional), both from the system. Installed with apt-get when missing and we are root on
# Debian; otherwise a message says what to install (the PDF tests fail without them, they are never skipped).
PDF_SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk
pdf-system-deps:
	@if fc-list 2>/dev/null | grep -q "Noto Sans CJK SC" \
	    && $(PYTHON) -c "import ctypes.util, sys; sys.exit(not ctypes.util.find_library('pangoft2-1.0'))"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's $(PDF_SYSTEM_PACKAGES) for printed letters"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(PDF_SYSTEM_PACKAGES); \
	else \
	    echo "Printed letters need Pango and the Noto CJK fonts: sudo apt-get install $(PDF_SYSTEM_PACKAGES)" \
	         "(or your system's packages of them); the PDF tests fail without them." >&2; \
	fi

# Everything the tests need (the `test` extra: test tools, XGBoost, LightGBM, PostgreSQL driver, batch).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(SERVE_STAMP) $(STAMP)

# (A virtualenv that `make test` already filled has all of it: nothing to install then.)
$(SERVE_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then :; else $(PY) -m pip install --quiet -e . ; fi
	touch $(SERVE_STAMP)

# Compiled catalogs are build products: made from the committed .po files, never committed themselves.
locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(SERVE_STAMP)
	$(VENV)/bin/pybabel compile -d locales -D messages -l $* --statistics

locales: $(MO_FILES)

# After changing templates or the toolkit's Python strings: re-extract the message ids into
# locales/messages.pot, merge them into the .po files (no fuzzy matching: a new sentence starts empty),
# translate what is new, then `make locales`. A lender's phrases are not here: `explain phrases update`.
extract: $(STAMP)
	PYTHONPATH=. $(VENV)/bin/pybabel extract -F babel.cfg -o locales/messages.pot --sort-by-file -w 120 \
	    --project limit-explain --version 0.1.0 --copyright-holder "limit-explain authors" --msgid-bugs-address "" .
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales -D messages -w 120 --ignore-obsolete --no-fuzzy-matching

# One pytest process per logical CPU, a test file each at a time (a file's module fixtures are built once):
# the tests are CPU-bound, so this is what keeps the suite inside ten minutes on a 2-core machine (at most 4:
# each process holds the demo models, ~1.5 GB).
test: install
	$(PY) -m pytest -n logical --maxprocesses 4 --dist loadfile

# `make serve PORT=9000` (or PORT in the environment) for another port.
serve: $(SERVE_STAMP) $(MO_FILES)
	$(VENV)/bin/explain serve-demo --port $(PORT)

# A wheel in dist/ (templates and compiled catalogs inside): `pip install dist/limit_explain-*.whl` anywhere.
wheel: $(SERVE_STAMP) $(MO_FILES)
	$(PY) -m pip wheel --quiet --no-deps -w dist .

bench: install
	$(PY) bench/attribution.py
	$(PY) bench/api.py
	$(PY) bench/batch.py
	$(PY) bench/notice.py
	$(PY) bench/pdf.py

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name '*.mo' -path './locales/*' -delete
