# dendrite-fem on Debian: Debian's Python, then the README's own install route (make venv).
#   docker build -t dendrite-fem .
#   docker run --rm --shm-size=1g --user "$(id -u):$(id -g)" -v "$PWD/results:/results" dendrite-fem
# `make image-test` builds this image and runs the default job, a sweep with its report and
# `dendrite-fem verify --quick` in it (docs/cluster.md).  To build on the official DOLFINx image
# instead, see docs/cluster.md ("Docker").
FROM debian:trixie-slim

# python3 + venv + dev headers: the virtual environment and DOLFINx's JIT (cffi) need them;
# make: the README's commands; gcc: FFCx compiles the forms; the X/GL libraries are what the
# gmsh and VTK (PyVista) wheels link against, even off screen.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-dev make gcc libc6-dev ca-certificates \
      libglu1-mesa libgl1 libegl1 libxrender1 libxcursor1 libxft2 libxinerama1 libxext6 libx11-6 \
      libfontconfig1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/dendrite-fem
COPY . .
# The form cache lives in the image, readable by any user, so that containers run with
# --user (files on the host owned by the caller) start warm: XDG_CACHE_HOME is where
# DOLFINx/FFCx keep the compiled forms.
ENV XDG_CACHE_HOME=/opt/dendrite-fem/.cache \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib
RUN make venv PYTHON=python3 \
 # compile the forms of the default case once (1 and 2 ranks use the same forms)
 && .venv/bin/dendrite-fem run cases/nas_vs_nps_protrusion.toml --out /tmp/warmup --quiet \
 && rm -rf /tmp/warmup results \
 # a user other than root may add forms of other cases to the cache
 && chmod -R a+rwX "$XDG_CACHE_HOME"

ENV PATH=/opt/dendrite-fem/.venv/bin:$PATH \
    NP=2 \
    HOME=/tmp
WORKDIR /results
CMD ["sh", "-c", "mpiexec -n ${NP} dendrite-fem run /opt/dendrite-fem/cases/nas_vs_nps_protrusion.toml --out /results/nas_vs_nps_protrusion"]
