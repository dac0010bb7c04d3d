# Two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export FLASK_APP := webapp

.PHONY: run test install test-install chromium migrate lint bench worker clean mail-sink stripe-fake \
	translations compile-translations pseudo-locales

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(BIN)/.mail-sink-installed: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[mail-sink]'
	touch $@

$(BIN)/.stripe-fake-installed: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[stripe-fake]'
	touch $@

install: $(BIN)/.installed

test-install: $(BIN)/.test-installed chromium

# Debian's chromium for Playwright (never `playwright install`: it downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y chromium)

migrate: install
	$(BIN)/alembic upgrade head

# The embedded default: SQLite file in instance/, jobs in-process, mail on the console.
run: migrate compile-translations
	$(BIN)/flask seed-demo --if-empty
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.embedded start

# The words in other languages (README, "Languages"): `make translations` extracts every marked
# text into messages.pot (locations kept, sorted by file), updates the de, fr and es catalogs
# (creating a missing one), writes the pseudo-locales en_XA and ar_XB (webapp/i18n_tools.py)
# and compiles. The .pot and .po files are committed; the compiled .mo files are not, so
# `make run` and `make test` compile them first. The -k options are i18n_tools.KEYWORDS.
TRANSLATIONS_DIR := webapp/translations
LANGUAGES := de fr es
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -k lazy_ngettext:1,2 \
		--sort-by-file --add-comments=Translators: --project="Customer Portal" \
		--version=$(VERSION) -o $(TRANSLATIONS_DIR)/messages.pot .
	for lang in $(LANGUAGES); do \
		$(BIN)/pybabel update --init-missing --ignore-obsolete -i $(TRANSLATIONS_DIR)/messages.pot \
			-d $(TRANSLATIONS_DIR) -l $$lang || exit 1; \
	done
	$(BIN)/python -m webapp.i18n_tools pseudo
	$(MAKE) compile-translations pseudo-locales

# The real languages only: a business's customers are never offered a pseudo-locale, which
# only exists once compiled (`make pseudo-locales`; `make test` and `make translations` do it).
compile-translations: install
	for lang in $(LANGUAGES); do \
		$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS_DIR) -l $$lang || exit 1; \
	done

PSEUDO_LOCALES := en_XA ar_XB
pseudo-locales: install
	for lang in $(PSEUDO_LOCALES); do \
		$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS_DIR) -l $$lang || exit 1; \
	done

# A local SMTP sink that prints every message it receives (README: watch a message arrive);
# point the portal at it with SMTP_HOST=127.0.0.1 SMTP_PORT=8025.
MAIL_SINK_PORT ?= 8025
mail-sink: $(BIN)/.mail-sink-installed
	$(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(MAIL_SINK_PORT)

# localstripe, a fake Stripe server and Stripe.js, on loopback and starting empty (README, "Stripe").
STRIPE_FAKE_PORT ?= 8420
stripe-fake: $(BIN)/.stripe-fake-installed
	$(BIN)/python -m tests.stripe_fake $(STRIPE_FAKE_PORT)

# Two workers (the machine has two cores); a file's tests stay together on one worker, so its
# module fixtures (a gunicorn for the browser tests, a worker database) start once.
PYTEST_ARGS ?= -n 2 --dist loadfile

test: test-install compile-translations pseudo-locales
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: test-install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: test-install
	@command -v wrk >/dev/null 2>&1 || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
