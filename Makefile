# Two entry points: `make run` (embedded default: PostgreSQL from Python, no services to install)
# and `make test`. Both create .venv and install the exact pins of requirements.txt first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

BROWSER_TESTS := tests/browser
CLIENT_TESTS := tests/clients

.PHONY: install browser-tools test-tools run serve worker test lock clients-lock bench

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	touch $@

install: $(VENV)/.installed

# axe-core for the browser tests, at the version pinned in tests/browser/package-lock.json. Chromium
# comes from Debian (`apt-get install chromium`, done by .ci/run): Playwright cannot download its own here.
$(BROWSER_TESTS)/node_modules/.package-lock.json: $(BROWSER_TESTS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install it with 'apt-get install npm'"; exit 1; }
	cd $(BROWSER_TESTS) && npm ci --no-audit --no-fund
	touch $@

browser-tools: $(BROWSER_TESTS)/node_modules/.package-lock.json

# The Node clients tests/clients drives against Optera (openai, the Vercel AI SDK), pinned by its lockfile.
$(CLIENT_TESTS)/node_modules/.package-lock.json: $(CLIENT_TESTS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install it with 'apt-get install npm'"; exit 1; }
	cd $(CLIENT_TESTS) && npm ci --no-audit --no-fund
	touch $@

# The Python frameworks tests/clients drives (LangChain, LlamaIndex, anthropic) in their own virtualenv,
# as in a user's application: LlamaIndex pins openai<3, Optera's own openai is newer.
CLIENT_VENV := var/clients
$(CLIENT_VENV)/.installed: $(CLIENT_TESTS)/requirements.txt
	test -x $(CLIENT_VENV)/bin/python || $(PYTHON) -m venv $(CLIENT_VENV)
	$(CLIENT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $<
	touch $@

test-tools: browser-tools $(CLIENT_TESTS)/node_modules/.package-lock.json $(CLIENT_VENV)/.installed

# Migrate, print a demo workspace and key, then run the ASGI server and the Celery worker (with beat) together.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_workspace --port $(PORT)
	$(BIN)/celery -A optera worker -B --loglevel=INFO & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/daphne -b $(HOST) -p $(PORT) optera.asgi:application

test: install test-tools
	$(BIN)/python -m pytest

# pip-tools lives in its own virtualenv under var/: it compiles the lock, it is not a dependency.
lock:
	test -x var/pip-tools/bin/pip-compile || ($(PYTHON) -m venv var/pip-tools && var/pip-tools/bin/pip install --quiet pip-tools)
	var/pip-tools/bin/pip-compile --quiet --generate-hashes --strip-extras -o requirements.txt requirements.in

clients-lock:
	test -x var/pip-tools/bin/pip-compile || ($(PYTHON) -m venv var/pip-tools && var/pip-tools/bin/pip install --quiet pip-tools)
	var/pip-tools/bin/pip-compile --quiet --allow-unsafe --generate-hashes --strip-extras \
		-o $(CLIENT_TESTS)/requirements.txt $(CLIENT_TESTS)/requirements.in

bench: install
	$(BIN)/python bench/proxy_overhead.py
