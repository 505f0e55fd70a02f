# dendrite-fem: the same install as the README (make venv), then the default case on 2 MPI ranks.
#   docker build -t dendrite-fem .
#   docker run --rm --shm-size=1g -v "$PWD/results:/results" dendrite-fem
FROM python:3.12-slim-bookworm

# make: the README's commands; gcc: DOLFINx JIT-compiles forms; the X/GL libraries are
# what the gmsh and VTK (PyVista) wheels link against, even off screen.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      make gcc libc6-dev \
      libglu1-mesa libgl1 libxrender1 libxcursor1 libxft2 libxinerama1 libxext6 libx11-6 libfontconfig1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/dendrite-fem
COPY . .
RUN make venv PYTHON=python3.12 \
 # compile the forms of the default case once, so containers start warm
 && .venv/bin/dendrite-fem run cases/nas_vs_nps_protrusion.toml --out /tmp/warmup --quiet \
 && rm -rf /tmp/warmup

ENV PATH=/opt/dendrite-fem/.venv/bin:$PATH \
    NP=2 \
    MPLBACKEND=Agg
WORKDIR /results
CMD ["sh", "-c", "mpiexec -n ${NP} dendrite-fem run /opt/dendrite-fem/cases/nas_vs_nps_protrusion.toml --out /results/nas_vs_nps_protrusion"]
