# The two commands of the README:
#   make demo   the whole pipeline on the local three-node cluster
#   make test   every check: lints, unit tests, the molecule scenario on three nodes
# `make` alone prints the targets (make help). Each target's text is the comment after `##`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
PYTHON_SOURCES := roles/artifact_cache/files roles/zootopia/files roles/kafka/library roles/kafka/module_utils tests app bench scripts
.DEFAULT_GOAL := help

.PHONY: help demo test preflight bootstrap cluster artifacts converge streams access docs lock lint unit matrix molecule down

help: ## list the targets
	@echo "Zootopia: make TARGET (README.md says more)"
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)$$/  \1\t\2/p' $(MAKEFILE_LIST) | expand -t 14

demo: preflight bootstrap cluster converge streams access ## the whole pipeline on a local three-node cluster, with the three seeds streaming

test: preflight bootstrap lint unit matrix molecule ## every check: lint, unit, matrix, molecule (replaces a demo cluster)

preflight: ## check in seconds that this machine can run the local cluster (data, memory, disk, kernel)
	scripts/preflight.sh

bootstrap: ## install the controller's tools: Maven, .venv, and the local cluster's (Docker, Chromium, Java 11)
	scripts/bootstrap-controller.sh --local

cluster: ## start the three local nodes (Docker containers)
	local-cluster/cluster up

artifacts: ## fetch and check the artifacts into the controller's cache
	ansible-playbook playbooks/artifacts.yml

converge: ## run site.yml on the local cluster
	ansible-playbook site.yml

# The demo streams the three seeds (served by the local mirror).
streams: ## stream the three seeds (served by the local mirror)
	ansible-playbook playbooks/streams.yml -e '{"streams_add": ["https://gbif.org", "https://obis.org", "https://idigbio.org"]}'

# Ends the demo with what a person needs next: the dashboard's URL with its token, a
# curl line that was just answered, how to trust the certificate (the newest file
# playbooks/api_access.yml wrote).
access: ## print the dashboard's URL and a curl line for the API again
	ansible-playbook playbooks/api_access.yml
	@echo; cat "$$(ls -t "$${ZOOTOPIA_CACHE_DIR:-$$HOME/.cache/zootopia}"/api/*-access.txt | head -1)"

lint: ## yamllint, ansible-lint, ruff, mypy, the variable reference's freshness
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .
	# Two runs: each test tree has its own conftest and helper modules on its path.
	MYPYPATH=app/tests:tests:bench mypy $(PYTHON_SOURCES)
	MYPYPATH=molecule/default/tests:tests mypy molecule/default/tests

unit: ## the controller's and the app's unit tests (pytest)
	pytest tests app/tests --ignore=tests/spark

matrix: ## the app's unit tests and two consumer windows on local Spark, on Python 3.9 to 3.12
	scripts/python-matrix.sh

# Replaces any cluster of `make demo`: both use the nodes of inventory/local.
# CI keeps only the end of the log: after molecule's destroy, repeat pytest's short summary, then
# the names of the failed checks alone (a failure's message can hold a journal's worth of lines).
molecule: ## the molecule scenario: three nodes, converge, idempotence, every check
	local-cluster/cluster engine
	mkdir -p .cache
	molecule test 2>&1 | tee .cache/molecule-test.log || { \
	  sed 's/\x1b\[[0-9;]*m//g' .cache/molecule-test.log > .cache/molecule-test.txt; \
	  sed -n '/short test summary/,/[0-9] \(passed\|failed\)/p' .cache/molecule-test.txt \
	    > .cache/molecule-summary.txt; \
	  cat .cache/molecule-summary.txt; \
	  grep -E -A2 '│ (FAILED|ERROR)( |$$)' .cache/molecule-summary.txt | grep -v -- '^--' | cut -c1-160; exit 1; }

down: ## remove the local nodes
	local-cluster/cluster down

# uv keeps every pin a lock already has (add --upgrade-package NAME to move one); pip installs them with
# --require-hashes: the nodes' set (built into the wheelhouse), the controller's .venv.
lock: ## re-resolve the pinned sets with their hashes after a change of pyproject.toml or requirements.txt
	uv pip compile --quiet --universal --generate-hashes --custom-compile-command 'make lock' \
	  --python-version 3.9 app/pyproject.toml -o app/requirements.lock
	uv pip compile --quiet --universal --generate-hashes --custom-compile-command 'make lock' \
	  --python-version 3.11 requirements.txt app/pyproject.toml -o requirements.lock

docs: ## regenerate docs/variables.md from the roles' argument specs
	python scripts/variables_reference.py
