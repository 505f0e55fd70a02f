"""Phase-field electrodeposition (fem/physics/phase_field.py, Hong & Viswanathan 2018): the stationary
1-D profile against its closed form (second-order convergence), the planar front against
Faraday's law and the ion balance, the step control's failure mode, the noise's independence of
mesh and partition (1 vs 2 ranks through the CLI), and the CLI's refusal of bad options."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from conftest import read_summary, run_cli
from mpi4py import MPI

from dendrite_fem.numerics.solver import ConvergenceError
from dendrite_fem.physics.phase_field import (
    HongViswanathan2018,
    draw_noise,
    equilibrium_profile,
    order_parameter,
    phase_field_problem,
    run_phase_field,
    with_parameters,
)

PARAMS = HongViswanathan2018()
EPS = PARAMS.interface_width


def interval(length: float, dx: float):
    return dolfinx.mesh.create_interval(MPI.COMM_SELF, int(round(length / dx)), [0.0, length])


def test_published_interface_width():
    # the published initial profile is 0.5 (1 - tanh(2 (x - 20))): the same width as sqrt(2 kappa / B)
    assert EPS == pytest.approx(0.5, rel=1e-12)


def test_stationary_profile_converges_at_second_order():
    """Without reaction (L_eta = 0) and noise, a front started twice too wide relaxes to
    ξ = (1 − tanh((x − x0)/ε))/2 with ε = √(2κ/B): nodal error O(h²), centre unmoved."""
    p = with_parameters(PARAMS, noise=0.0, L_eta=0.0)
    errors = []
    for n in (2, 4, 8):
        problem = phase_field_problem(interval(20.0, EPS / n), p, 0.0, 10.0, initial_width=2 * EPS)
        history = run_phase_field(problem, 20.0, dt_max=5.0)
        xi = order_parameter(problem)
        x = xi.function_space.tabulate_dof_coordinates()[:, 0]
        errors.append(float(np.abs(xi.x.array - equilibrium_profile(x, 10.0, p)).max()))
        assert history.tip[-1] == pytest.approx(10.0, abs=1e-9)
        # relaxed: the step control grew the step past 1 (the last is cut at t_end)
        assert history.dt[-2] >= 1.0
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(rates > 1.9), (errors, rates)
    assert errors[-1] < 2e-4, errors


@pytest.fixture(scope="module")
def planar_front():
    p = with_parameters(PARAMS, noise=0.0)
    problem = phase_field_problem(interval(60.0, EPS / 4), p, -0.45, 20.0)
    history = run_phase_field(problem, 1.5)
    return p, history.arrays()


def test_planar_front_deposits_at_the_faraday_rate(planar_front):
    """Charge: f_2 ∂ξ/∂t = ∇·(σ∇φ), so the metal deposited in a step, f_2 Δ∫ξ, equals the
    charge that entered through both faces, Δt ∮ σ∇φ·n (consistent fluxes: a check of the
    bookkeeping), and — the independent check — the ξ = 1/2 front, located on the mesh edges
    and not from ∫ξ, moves at v = I / f_2."""
    p, a = planar_front
    dt = np.diff(a["time"])
    current = a["charge_electrode"] + a["charge_reservoir"]
    charge = dt * current[1:]
    deposited = p.f_2 * np.diff(a["deposit"])
    assert np.max(np.abs(deposited - charge)) < 1e-6 * np.max(np.abs(charge))
    assert a["tip"][-1] - a["tip"][0] > 2.5  # it really grew: over five interface widths
    window = a["time"] >= 0.5
    t, tip = a["time"][window], a["tip"][window]
    tip_displacement = tip[-1] - tip[0]
    charge_window = np.sum(charge[window[1:]][1:])  # the steps that end inside the window, after its first
    assert tip_displacement == pytest.approx(charge_window / p.f_2, rel=5e-3)
    velocity = np.polyfit(t, tip, 1)[0]
    assert velocity == pytest.approx(np.mean(current[window]) / p.f_2, rel=5e-3)


def test_planar_front_conserves_the_ions(planar_front):
    """Ion content ∫ c dx (electrolyte and metal) grows by exactly the flux in from the reservoir."""
    _, a = planar_front
    dt = np.diff(a["time"])
    influx = dt * a["ion_reservoir"][1:]
    # conservative time derivative: exact up to the Newton tolerance (the published
    # χ Δw + f_t Δξ form loses 5 % here by t = 5)
    assert np.max(np.abs(np.diff(a["content"]) - influx)) < 1e-6 * np.max(np.abs(influx))
    assert np.all(a["ion_reservoir"][1:] > 0)


def test_published_grid_fails_loudly_not_silently():
    """On the published grid (Δx = 2ε) the P1 solution overshoots until Newton fails: an error,
    never a returned state."""
    p = with_parameters(PARAMS, noise=0.0)
    problem = phase_field_problem(interval(60.0, 1.0), p, -0.45, 20.0)
    with pytest.raises(ConvergenceError, match="did not converge"):
        run_phase_field(problem, 2.0)


def test_noise_depends_on_position_not_on_the_mesh():
    p = with_parameters(PARAMS, noise=0.04)
    values = []
    for n in (8, 20):
        mesh = dolfinx.mesh.create_rectangle(
            MPI.COMM_SELF, [[0, 0], [4, 2]], [n, n // 2], dolfinx.mesh.CellType.quadrilateral
        )
        problem = phase_field_problem(mesh, p, -0.45, 2.0, seed=3)
        draw_noise(problem, 7)
        cell = dolfinx.geometry.compute_colliding_cells(
            mesh,
            dolfinx.geometry.compute_collisions_points(
                dolfinx.geometry.bb_tree(mesh, 2), np.array([[2.3, 1.7, 0.0]])
            ),
            np.array([[2.3, 1.7, 0.0]]),
        ).links(0)[0]
        values.append(problem.noise.x.array[problem.noise.function_space.dofmap.list[cell, 0]])
        assert np.all(np.abs(problem.noise.x.array) <= 0.04)
    assert values[0] == values[1] != 0.0


def _history(out):
    return np.genfromtxt(out / "phi_0.450_history.csv", delimiter=",", names=True)


@pytest.mark.slow
def test_cli_one_and_two_ranks_agree(tmp_path):
    """The same noisy 2-D run on 1 and 2 ranks: same steps; time, tip, deposit and ion content
    to 1e-6, 100x the Newton tolerance (snes_rtol 1e-8) that bounds where each step stops."""
    args = [
        "phase-field",
        "--potential",
        "-0.45",
        "--length",
        "10",
        "--height",
        "4",
        "--front",
        "3",
        "--stop-tip",
        "6",
        "--t-end",
        "0.08",
        "--quiet",
    ]
    hist = []
    for ranks in (1, 2):
        r = run_cli(*args, "--out", str(tmp_path / f"np{ranks}"), np=ranks)
        assert r.returncode == 0, r.stderr
        hist.append(_history(tmp_path / f"np{ranks}"))
        for name in ("phase_field.png", "summary.json", "phi_0.450_fields.xdmf", "phi_0.450_fields.h5"):
            assert (tmp_path / f"np{ranks}" / name).exists()
    assert len(hist[0]) == len(hist[1]) > 5
    for key in ("time", "tip", "deposit", "content"):
        assert np.allclose(hist[0][key], hist[1][key], rtol=1e-6, atol=1e-10), key


@pytest.mark.slow
def test_cli_resumes_after_a_finished_potential(tmp_path, monkeypatch):
    """Killed after the first potential: the same command reuses it and runs the second; the
    result equals an uninterrupted run's."""
    args = [
        "phase-field",
        "--potential",
        "-0.45",
        "--potential",
        "-0.3",
        "--length",
        "8",
        "--height",
        "2",
        "--front",
        "3",
        "--stop-tip",
        "5",
        "--t-end",
        "0.05",
        "--quiet",
    ]
    out = tmp_path / "res"
    monkeypatch.setenv("DENDRITE_FEM_FAULT", "finished:phi_0.450=kill")
    r = run_cli(*args, "--out", str(out))
    assert r.returncode != 0 and not out.exists()
    monkeypatch.delenv("DENDRITE_FEM_FAULT")
    r = run_cli(*args, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert read_summary(out)["run"]["resumed_from"] == ["phi_0.450"]
    assert (out / "phase_field.png").exists()
    r = run_cli(*args, "--out", str(tmp_path / "whole"))
    assert r.returncode == 0, r.stderr
    for name in ("phi_0.450", "phi_0.300"):
        a = np.genfromtxt(out / f"{name}_history.csv", delimiter=",", names=True)
        b = np.genfromtxt(tmp_path / "whole" / f"{name}_history.csv", delimiter=",", names=True)
        assert np.array_equal(a["tip"], b["tip"]) and np.array_equal(a["content"], b["content"])


@pytest.mark.parametrize(
    "args, field",
    [
        (["--dx", "1"], "--dx"),
        (["--potential", "0.2"], "--potential"),
        (["--stop-tip", "70"], "--stop-tip"),
        (["--length", "50.1"], "--length"),
    ],
)
def test_cli_refuses_bad_options(tmp_path, args, field):
    out = tmp_path / "out"
    r = run_cli("phase-field", *args, "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert field in r.stderr
    assert not out.exists()
