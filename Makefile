# qsnn-pynq: every target installs what it needs first (into .venv), so a fresh clone works.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_PACKAGES := dataset-fashion-mnist iverilog yosys verilator clang-format tcl8.6 postgresql ccache
RUN ?= runs/demo
MODEL ?= $(RUN)
BOARD ?= Pynq-Z2
NAME ?= $(notdir $(MODEL))
BACKEND ?= hls
# FINN's finn-hlslib for C-simulating FINN's own HLS nodes: a folder holding finn-hlslib/ (`finn deps update`
# fetches one; these machines have a copy in ../shared/finn-deps). Empty: those nodes run in Python, named so.
FINN_DEPS ?= $(wildcard ../shared/finn-deps)
DEPS_FLAG := $(if $(FINN_DEPS),--finn-deps $(FINN_DEPS),)
OUT_NAME := $(NAME)$(if $(filter rtl,$(BACKEND)),-rtl,)

.PHONY: install system-deps demo test test-fast lint format csim cosim rtlsim bitstream bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/pins.txt requirements/nodeps.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements/pins.txt
	$(BIN)/pip install -q --no-deps -r requirements/nodeps.txt
	$(BIN)/pip install -q --no-deps -e .
	@$(MAKE) --no-print-directory system-deps
	@touch $(STAMP)

# Debian packages (Fashion-MNIST files, RTL simulators, clang-format). Optional: without root or
# apt-get the project still installs, and what needs them says so (tests skip with the reason).
system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "Debian packages present: $(DEB_PACKAGES)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages: $$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || echo "warning: apt-get could not install $$missing; features that need them will say so"; \
	else echo "warning: not root or no apt-get; missing Debian packages: $$missing"; fi

demo: install
	$(BIN)/qsnn train --dataset digits --weight-bits 4 --membrane-bits 16 --epochs 20 --out $(RUN) --force
	$(BIN)/qsnn eval $(RUN) --integer
	$(BIN)/qsnn build $(RUN) --board Pynq-Z2 --out build/demo --until csim --target-cycles 64 $(DEPS_FLAG)

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check toolchain tests board
	$(BIN)/ruff format --check toolchain tests board
	@if command -v clang-format >/dev/null; then \
	  find hls_templates -name '*.hpp' -o -name '*.cpp' -o -name '*.h' | xargs -r clang-format --dry-run --Werror; \
	else echo "clang-format not found: skipped the C++ format check ('make system-deps' installs it)"; fi

format: install
	$(BIN)/ruff format toolchain tests board
	$(BIN)/ruff check --fix toolchain tests board

clean:
	rm -rf runs build .pytest_cache

# LIF kernel C-simulation over every mode x membrane width, against the golden model (g++, here).
csim: install
	$(BIN)/python -m toolchain.hls.matrix

# The demo network through the RTL backend: Verilator simulation (0 mismatches expected) and Yosys counts (here).
rtlsim: install
	test -f $(RUN)/golden.npz || $(MAKE) --no-print-directory demo
	$(BIN)/qsnn build $(RUN) --board Pynq-Z2 --out build/demo-rtl --backend rtl --until synth --target-cycles 64

# Vitis HLS csim, csynth and C/RTL co-simulation of every HLS node of the demo network (FINN's MVAU and width
# converters with finn-hlslib, the LIF kernels), each against its testbench; needs Vitis HLS (VIVADO=DIR, else
# XILINX_VIVADO, else PATH) and checks for it before building anything.
cosim: install
	$(BIN)/qsnn cosim --check $(if $(VIVADO),--vivado $(VIVADO),)
	test -f $(RUN)/golden.npz || $(MAKE) --no-print-directory demo
	$(BIN)/qsnn build $(RUN) --board Pynq-Z2 --out build/cosim --until hls --target-cycles 64 $(DEPS_FLAG)
	$(BIN)/qsnn cosim build/cosim $(if $(VIVADO),--vivado $(VIVADO),)

# The full flow to a bitstream for a PYNQ board; without Vivado it does all it can and says what is missing.
bitstream: install
	@test -f $(MODEL)/golden.npz || { echo "error: $(MODEL) is not a trained run; 'make demo' or MODEL=RUN_DIR" >&2; exit 2; }
	$(BIN)/qsnn build $(MODEL) --board $(BOARD) --backend $(BACKEND) --out build/$(BOARD)/$(OUT_NAME) \
		--until bitstream --name $(NAME)

bench: install
	$(BIN)/python -m toolchain.bench $(DEPS_FLAG) $(if $(DATA_PATH),--data-path $(DATA_PATH),)
