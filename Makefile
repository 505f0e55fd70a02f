# The two commands of the README:
#   make demo   – create/reuse .venv, run the default case (NAS vs NPS at a defect)
#   make test   – create/reuse .venv, run the test suite (the long studies are in test-slow)
# and beside them:
#   make test-slow   – the long-study tests (marker "slow": two-rank growth, 3-D partitions,
#                      interrupted sweeps, the Slurm job array where a cluster answers)
#   make image-test  – build the Docker image and run the default job, a sweep with its report
#                      and `verify --quick` in it; checks the outputs on the host
# NP=2 runs the demo on two MPI ranks.

PYTHON ?= python3
VENV   ?= .venv
NP     ?= 1
CASE   ?= cases/nas_vs_nps_protrusion.toml
OUT    ?= results/nas_vs_nps_protrusion
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-slow image-test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is required; set PYTHON=python3.12")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[wheel,test]'
	# the editable install's bytecode, written now: where Python may not write it (PYTHONDONTWRITEBYTECODE,
	# a container run as another user) every run would compile the package again (0.06 s of a small run)
	$(BIN)/python -m compileall -q fem meshes > /dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mpiexec -n $(NP) $(BIN)/dendrite-fem run $(CASE) --out $(OUT)

# one pytest worker per core; a test module stays on one worker (its module-scoped fixtures
# are computed once)
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n auto --dist loadfile

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow -n auto --dist loadfile

image-test: $(STAMP)
	tests/image-test.sh

clean:
	rm -rf results .pytest_cache
