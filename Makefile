# cpas-compare — `make help` lists the targets. Each target mirrors a CLI subcommand
# (python -m pipeline <subcommand> --help).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CORPUS ?= corpus
OUTPUT ?= outputs
ARGS   ?=
PEERS  ?=
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install analyze show trace evaluate evaluate-trace fit-trace peers profile import-qdpx demo benchmark test lint clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  Variables: CORPUS=$(CORPUS) OUTPUT=$(OUTPUT) DOC=<doc_id> PEERS=<groupe> ARGS='<extra CLI options>'"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies (done by every target)

analyze: $(STAMP) ## Analyse CORPUS into OUTPUT (python -m pipeline analyze)
	$(PY) -m pipeline analyze $(CORPUS) --out $(OUTPUT) $(ARGS)

NEED_DOC = @test -n "$(DOC)" || { echo "indiquez la déclaration : make $@ DOC=trooz-dps-2019 (identifiant ou nom de commune, entre guillemets s'il contient des espaces : DOC=\"Beyne-Heusay\")" >&2; exit 3; }

show: $(STAMP) ## Print the tree of one declaration: make show DOC=trooz-dps-2019
	$(NEED_DOC)
	$(PY) -m pipeline show "$(DOC)" --out $(OUTPUT) $(ARGS)

trace: $(STAMP) ## One CPAS's promises and the plan actions that carry them out: make trace DOC=Corvallon
	$(NEED_DOC)
	$(PY) -m pipeline trace "$(DOC)" --out $(OUTPUT) $(ARGS)

evaluate: $(STAMP) ## Leave-one-document-out evaluation of the theme classifier
	$(PY) -m pipeline evaluate $(CORPUS) --out $(OUTPUT) $(ARGS)

TRACE_TUNE    ?= $(addprefix tests/data/trace/tune-,a b c d e f g h i k l m n o)
TRACE_HELDOUT ?= $(addprefix tests/data/trace/heldout-,j p q r s t u v)
TRACE_DEMO    ?= tests/data/trace/tune-a tests/data/trace/tune-b
evaluate-trace: $(STAMP) ## Score declaration → plan links against the held-out gold links
	$(PY) -m pipeline evaluate-trace $(TRACE_HELDOUT) --out outputs-suivi $(ARGS)

fit-trace: $(STAMP) ## Refit the tracing weights on the tuning folders (cross-validated per CPAS); ARGS=--write saves them
	$(PY) -m pipeline evaluate-trace $(TRACE_TUNE) --fit --out outputs-reglage $(ARGS)

peers: $(STAMP) ## One CPAS against its peers: make peers DOC=trooz-dps-2019
	$(NEED_DOC)
	$(PY) -m pipeline peers "$(DOC)" --out $(OUTPUT) $(ARGS)

profile: $(STAMP) ## Printable profile (HTML + PDF) of one CPAS: make profile DOC=Trooz PEERS=province=Liège
	$(NEED_DOC)
	$(PY) -m pipeline profile "$(DOC)" --out $(OUTPUT) --peers "$(PEERS)" $(ARGS)

import-qdpx: $(STAMP) ## Reviewed QDA project back into CORPUS/annotations.csv: make import-qdpx FILE=revu.qdpx
	@test -n "$(FILE)" || { echo "indiquez le projet relu : make import-qdpx FILE=outputs/cpas-compare.qdpx" >&2; exit 3; }
	$(PY) -m pipeline import-qdpx "$(FILE)" --into $(CORPUS)/annotations.csv $(ARGS)

DEMO := build/demo-corpus
demo: $(STAMP) ## Seed corpus + 6 synthetic CPAS with their plans (PST) analysed into outputs-demo
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	cp corpus/*.txt corpus/annotations.csv $(DEMO)/
	for d in $(TRACE_DEMO); do cp $$d/*.txt $$d/*.pdf $$d/*.docx $(DEMO)/ 2>/dev/null || true; done
	$(PY) -c "import sys, pandas as pd; pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in sys.argv[2:]]).fillna('').to_csv(sys.argv[1], index=False)" $(DEMO)/metadata.csv corpus/metadata.csv $(addsuffix /metadata.csv,$(TRACE_DEMO))
	$(PY) -m pipeline analyze $(DEMO) --out outputs-demo $(ARGS)

benchmark: $(STAMP) ## Speed/memory benchmark on a synthetic corpus of 300 declarations
	$(PY) -m benchmarks --out $(OUTPUT) $(ARGS)

test: $(STAMP) ## Run the test suite
	$(PY) -m pytest $(ARGS)

lint: $(STAMP) ## Check the code with ruff
	$(PY) -m ruff check pipeline tests benchmarks

clean: ## Remove the outputs and their cache (only in a folder the tool owns; keeps .venv, README.md)
	@test -f $(OUTPUT)/.cpas-compare || { echo "$(OUTPUT) n'est pas un dossier de sortie de cpas-compare (pas de marqueur .cpas-compare) : rien n'est supprimé" >&2; exit 3; }
	find $(OUTPUT) -mindepth 1 -maxdepth 1 ! -name README.md ! -name .cpas-compare -exec rm -rf {} +
