# Set-up and everyday commands. `make test` and `make run` are the README's two commands.

VENV := .venv
PY := $(VENV)/bin/python
# A Python that nnabla has wheels for (3.8 to 3.10): pyenv's (via .python-version), then PATH.
FIND_PYTHON := for p in python python3.10 python3.9 python3.8; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 10))' 2>/dev/null && { echo $$p; break; }; \
	done

.PHONY: test test-fast run run-pnas run-mpi docs wheel clean venv bench bench-mpi

$(VENV)/.installed: pyproject.toml
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then echo "error: no Python 3.8-3.10 found (nnabla has no wheels for others); install python3.10 (e.g. 'pyenv install 3.10') and retry" >&2; exit 1; fi; \
	echo "using $$py ($$($$py --version 2>&1))"; \
	[ -x $(PY) ] || $$py -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,export,mpi]'
	$(PY) -m pip install -q --no-deps 'nnabla-converter==1.39.0'  # its TensorFlow dependency is not needed for ONNX
	touch $@

venv: $(VENV)/.installed

# Both cores (pytest-xdist); a test file stays on one worker, so its module-scoped
# fixtures (often whole main.py runs) are built once.
PYTEST := $(PY) -m pytest -q -n 2 --dist loadfile

test: venv
	$(PYTEST) tests

test-fast: venv
	$(PYTEST) tests -m "not slow"

# The quickstart: DARTS search on the bundled digits, retrain of the found cell, test accuracy.
run: venv
	$(PY) main.py -a DartsSearcher -f examples/quickstart/digits_search.json -o log/quickstart/search
	$(PY) main.py -a Trainer -f examples/quickstart/digits_train.json -o log/quickstart/train
	@echo "genotype: log/quickstart/search/arch.json; cells: log/quickstart/search/normal.png, reduce.png"
	@echo "retrained: log/quickstart/train (results.json, curves.png, model.nnp)"
	$(PY) main.py export log/quickstart/train --format onnx --evaluate

# The ProxylessNAS quickstart: sampled search on digits under a memory budget, then retrain.
run-pnas: venv
	$(PY) main.py -a ProxylessNasSearcher -f examples/quickstart/digits_pnas_search.json -o log/quickstart/pnas_search
	$(PY) main.py -a Trainer -f examples/quickstart/digits_pnas_train.json -o log/quickstart/pnas_train
	@echo "architecture: log/quickstart/pnas_search/arch.json (arch.h5, normal.png, reduce.png)"

# The quickstart on 2 processes (data parallelism, docs/distributed.rst): the same
# configs, global batch sizes split over the ranks; rank 0 writes log/quickstart_mpi/.
# Open MPI runs as root only when told so; the shared-memory transport starts fastest.
MPIEXEC := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 $(VENV)/bin/mpiexec \
	--mca btl self,vader --mca pml ob1 --oversubscribe
NP ?= 2
run-mpi: venv
	$(MPIEXEC) -n $(NP) $(PY) main.py -a DartsSearcher -f examples/quickstart/digits_search.json -o log/quickstart_mpi/search
	$(MPIEXEC) -n $(NP) $(PY) main.py -a Trainer -f examples/quickstart/digits_mpi_train.json -o log/quickstart_mpi/train
	@echo "genotype: log/quickstart_mpi/search/arch.json; retrained: log/quickstart_mpi/train (results.json)"

# Samples per second of 1 process against 2 (DARTS, ProxylessNAS, training; docs/benchmarks.md).
bench-mpi: venv
	$(PY) bench/parallel.py $(BENCH_ARGS)

docs: venv
	$(PY) -m sphinx -W -q -b html docs docs/_build/html

wheel: venv
	$(PY) -m pip wheel --no-deps -w dist .

# The old NNablaNAS 0.9.0 against ours, side by side (about 6 minutes; docs/benchmarks.md).
# Options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick --workloads 1,2".
bench: venv
	$(PY) bench/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build
