# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED ?= ../shared/data

.PHONY: demo test install bench bench-maps qgis-plugin clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gridplan demo --out out/demo --map maps/demo.html
	@if [ -d "$(SHARED)/nanjing_xinjiekou_osm" ]; then \
	  $(BIN)/gridplan demo --source $(SHARED)/nanjing_xinjiekou_osm/nanjing_xinjiekou.osm \
	    --out out/nanjing --map maps/nanjing.html; \
	fi

# Chromium and PostgreSQL/PostGIS come from Debian's packages (needs root); GRIDPLAN_TEST_PG, if set, is used as is.
test: $(STAMP)
	@if [ -z "$$GRIDPLAN_TEST_PG" ]; then services=$$(bash scripts/test-services.sh) || exit 1; eval "$$services"; fi; \
	$(BIN)/python -m pytest -q

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
