#!/usr/bin/env bash
# make image-test: build the Docker image, run in it what the README's Docker section runs, and
# check the outputs on the host.
#
#   1. build the image (Dockerfile: debian:trixie-slim, Debian's python3, `make venv`);
#   2. the default job on 2 ranks into a mounted /results (the image's CMD), as the caller's user;
#   3. a small sweep (cases/sweep_small.toml, 12 runs) and its report;
#   4. dendrite-fem verify --quick;
#   5. on the host: every file owned by the caller, the default job's metrics equal to a host run
#      of the same job on 2 ranks to 1e-10, 12 x 2 sweep rows, the report, every check within
#      tolerance (tests/image_check.py).
#
# The engine: $CONTAINER if set (docker, podman, or a wrapper script with the interface
# `WRAPPER build TAG` / `WRAPPER run OPTIONS IMAGE CMD`, as on machines without a Docker
# engine), else docker, else podman.  IMAGE names the tag (default dendrite-fem).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
image=${IMAGE:-dendrite-fem}
engine=${CONTAINER:-$(command -v docker || command -v podman || true)}
[ -n "$engine" ] || { echo "image-test: no container engine: install Docker or Podman, or set CONTAINER" >&2; exit 2; }
case "$(basename "$engine")" in
  docker|podman)
    build() { "$engine" build -t "$image" .; }
    docker_run() { "$engine" run --rm --shm-size=1g "$@"; } ;;
  *)
    build() { "$engine" build "$image"; }
    docker_run() { "$engine" run "$@"; } ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/dendrite-fem-image-test.XXXXXX")
echo "== image-test in $work (engine: $engine)"
start=$(date +%s)
echo "== 1. build $image"
build
echo "== host reference: the default job on 2 ranks"
"$root/.venv/bin/mpiexec" -n 2 "$root/.venv/bin/dendrite-fem" run cases/nas_vs_nps_protrusion.toml \
  --out "$work/host" --quiet >/dev/null

cd "$work"
mkdir -p results
# --- the README's Docker commands, word for word (docker run --rm --shm-size=1g = docker_run) ---
echo "== 2. default job on 2 ranks"
docker_run --user "$(id -u):$(id -g)" -v "$PWD/results:/results" "$image"
echo "== 3. sweep and report"
docker_run --user "$(id -u):$(id -g)" -v "$PWD/results:/results" "$image" \
    dendrite-fem sweep /opt/dendrite-fem/cases/sweep_small.toml --out /results/sweep --jobs 2
docker_run --user "$(id -u):$(id -g)" -v "$PWD/results:/results" "$image" dendrite-fem report /results/sweep
echo "== 4. verify --quick"
docker_run --user "$(id -u):$(id -g)" -v "$PWD/results:/results" "$image" \
    dendrite-fem verify --quick --out /results/verify --doc ''
# --- end of the README's commands ---

echo "== 5. checks on the host"
"$root/.venv/bin/python" "$root/tests/image_check.py" "$work/results" "$work/host"
echo "image-test passed in $(( $(date +%s) - start )) s; outputs in $work/results"
