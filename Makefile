# Shipment Sync: the commands that do everything on a fresh machine.
#   make test   - pure tests always; contract tests when CONTRACTS_DIR holds the partner
#                 artifacts; Odoo tests when Odoo 18 is found (ODOO_PATH or importable)
#   make demo   - Odoo with the suite and demo data on http://localhost:8069 (admin/admin)
PYTHON ?= python3
ADDONS = shipment_sync shipment_sync_portal shipment_sync_carrier shipment_sync_wms shipment_sync_monitor \
         shipment_sync_channel shipment_sync_tms
# The partners' published artifacts (recorded traffic, webhook vectors, OpenAPI documents),
# read by the contract tests; relative paths are taken from the repository root.
CONTRACTS_DIR ?= ../shared/contracts
export CONTRACTS_DIR

.PHONY: help test test-pure test-odoo contracts demo bench-ingest bench-dispatch lint

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test:  ## pure tests + contract tests + Odoo tests of the addons in a throwaway database
	$(PYTHON) tools/run_tests.py

test-pure:  ## only the pure shipsync tests (no database)
	$(PYTHON) tools/run_tests.py --pure-only

contracts:  ## only the contract tests: adapters vs the partners' recorded traffic, SDKs, OpenAPI
	$(PYTHON) tools/run_tests.py --contracts-only

test-odoo:  ## only the Odoo tests (TAGS=/shipment_sync to narrow)
	$(PYTHON) tools/run_tests.py --odoo-only $(if $(TAGS),--tags $(TAGS))

demo:  ## serve Odoo with the suite and demo data on http://localhost:8069 (admin/admin); Ctrl-C stops it
	$(PYTHON) tools/demo.py

.PHONY: screenshots
screenshots:  ## the README's screenshots from the demo with headless Chromium (docs/screenshots/)
	$(PYTHON) tools/screenshots.py

.PHONY: demo-stop
demo-stop:  ## stop a demo running in the background (Odoo and the sandboxes with it)
	$(PYTHON) tools/demo.py --stop

bench-ingest:  ## webhook ingest vs a trivial Odoo JSON route, median of 3 same-run pairs (BENCH_N=2000; BATCH=100: envelopes of 100 events; PROFILE=1: py-spy)
	$(PYTHON) tools/bench_ingest.py $(if $(BATCH),--batch $(BATCH)) $(if $(PROFILE),--profile)

.PHONY: bench-dispatch
bench-dispatch:  ## outbox dispatch vs OCA queue_job, 4 partners (BENCH_N=1000, LATENCY_MS=0, WORKERS=1,2, CRASH=1: kill -9 drain)
	LATENCY_MS=$(or $(LATENCY_MS),0) python3 tools/bench_dispatch.py $(if $(CRASH),--crash) $(if $(WORKERS),--workers $(WORKERS))

.PHONY: bench-dashboard
bench-dashboard:  ## KPI tile times vs a plain read_group on 200k pickings / 1M events / 300k jobs (SCALE=10: and 10x, growth)
	$(PYTHON) tools/bench_dashboard.py $(if $(SCALE),--scale $(SCALE))

.PHONY: bench-wms
bench-wms:  ## WMS ship confirmations (10 lines) vs plain button_validate (BENCH_N=2000)
	$(PYTHON) tools/bench_wms.py

.PHONY: label-spend
label-spend:  ## an async EasyPost booking whose buy answer is lost, attempts in fresh Odoo processes: one label paid
	$(PYTHON) tools/label_spend.py

.PHONY: bench-poll
bench-poll:  ## tracking polls of 10,000 shipments: batched + pooled vs one request each (BENCH_N=10000)
	$(PYTHON) tools/bench_poll.py

.PHONY: backtest-eta
backtest-eta:  ## ETA lane model vs carrier-average baseline on past deliveries (ARGS="-d DB --generate N")
	$(PYTHON) tools/backtest_eta.py $(ARGS)

.PHONY: readme
readme:  ## regenerate each addon's README.rst and static/description/index.html from readme/*.md
	$(PYTHON) tools/gen_addon_readme.py

.PHONY: lint
lint:  ## ruff, pylint-odoo's mandatory checks and the generated addon readmes (what CI checks)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pylint --rcfile=.pylintrc-mandatory --output-format=text $(ADDONS)
	$(PYTHON) tools/gen_addon_readme.py --check

.PHONY: check-wheels
check-wheels:  ## build the engine's and each addon's wheel, install them in a fresh venv, check contents
	$(PYTHON) tools/check_wheels.py

.PHONY: check-uninstall
check-uninstall:  ## install, uninstall (reverse dependency order) and reinstall the suite with demo: no residue
	$(PYTHON) tools/check_uninstall.py

.PHONY: pot
pot:  ## regenerate every addon's i18n/<addon>.pot from a fresh database without demo data
	$(PYTHON) tools/export_pot.py

.PHONY: check-wms-only
check-wms-only:  ## install shipment_sync + shipment_sync_wms without demo: no Sales, no delivery carriers
	$(PYTHON) tools/check_wms_only.py

.PHONY: mutation
mutation:  ## mutation score per policy module (slow; MODULES="retry breaker" to narrow, MUTATION_ARGS="--sample 3 --timeout 30")
	$(PYTHON) tools/mutation.py $(MUTATION_ARGS) $(MODULES)

mutation-%:  ## one module's mutation score: make mutation-pii (mutation-retry, -breaker, -outbox, ...)
	$(PYTHON) tools/mutation.py $(MUTATION_ARGS) $*

.PHONY: fuzz
fuzz:  ## the webhook fuzz suite, longer (FUZZ_EXAMPLES=2000 per strategy; make test runs 60)
	SHIPSYNC_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),2000) $(PYTHON) tools/run_tests.py --odoo-only --addons shipment_sync --tags /shipment_sync:TestWebhookFuzz
