# The two commands of the README:
#   make demo   the whole pipeline on the local three-node cluster
#   make test   every check: lints, unit tests, the molecule scenario on three nodes
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
PYTHON_SOURCES := roles/artifact_cache/files roles/kafka/library roles/kafka/module_utils tests app bench

.PHONY: demo test bootstrap cluster artifacts converge streams access lint unit molecule down

demo: bootstrap cluster converge streams access

test: bootstrap lint unit molecule

bootstrap:
	scripts/bootstrap-controller.sh

cluster:
	local-cluster/cluster up

artifacts:
	ansible-playbook playbooks/artifacts.yml

converge:
	ansible-playbook site.yml

# The demo streams the three seeds (served by the local mirror).
streams:
	ansible-playbook playbooks/streams.yml -e '{"streams_add": ["https://gbif.org", "https://obis.org", "https://idigbio.org"]}'

# Ends the demo with what a person needs next: the dashboard's URL with its token, a
# curl line that was just answered, how to trust the certificate (the newest file
# playbooks/api_access.yml wrote).
access:
	ansible-playbook playbooks/api_access.yml
	@echo; cat "$$(ls -t "$${ZOOTOPIA_CACHE_DIR:-$$HOME/.cache/zootopia}"/api/*-access.txt | head -1)"

lint:
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .
	# Two runs: each test tree has its own conftest and helper modules on its path.
	MYPYPATH=app/tests:tests:bench mypy $(PYTHON_SOURCES)
	MYPYPATH=molecule/default/tests:tests mypy molecule/default/tests

unit:
	pytest tests app/tests

# Replaces any cluster of `make demo`: both use the nodes of inventory/local.
# CI keeps only the end of the log: after molecule's destroy, repeat pytest's short summary, then
# the names of the failed checks alone (a failure's message can hold a journal's worth of lines).
molecule:
	local-cluster/cluster engine
	mkdir -p .cache
	molecule test 2>&1 | tee .cache/molecule-test.log || { \
	  sed 's/\x1b\[[0-9;]*m//g' .cache/molecule-test.log > .cache/molecule-test.txt; \
	  sed -n '/short test summary/,/[0-9] \(passed\|failed\)/p' .cache/molecule-test.txt \
	    > .cache/molecule-summary.txt; \
	  cat .cache/molecule-summary.txt; \
	  grep -E -A2 '│ (FAILED|ERROR)( |$$)' .cache/molecule-summary.txt | grep -v -- '^--' | cut -c1-160; exit 1; }

down:
	local-cluster/cluster down
