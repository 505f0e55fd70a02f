"""Command line: ``dendrite-fem run|check|materials``.

Exit codes: 0 success, 2 invalid input (case file, geometry, material, output
directory), 3 the solver did not converge, 1 anything else.  Under MPI an
unexpected error on one rank aborts all ranks, so nothing hangs.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

EXIT_INPUT, EXIT_SOLVER, EXIT_OTHER = 2, 3, 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dendrite-fem",
        description="Na+ current focusing at defects and pores of SE/Na-anode interfaces (DOLFINx).",
    )
    p.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error (for a bug report)"
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="solve a case and write fields, profile, summary and figures")
    run.add_argument("case", help="case file (TOML)")
    run.add_argument("--out", help="result directory (default: results/<case name>)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a case field, e.g. --set operation.current_density='1 mA/cm2' "
        "or --set electrolytes.0.material=NTOC (repeatable)",
    )
    run.add_argument("--quiet", action="store_true", help="print only the final table")
    run.add_argument(
        "--force",
        action="store_true",
        help="recompute from scratch, even if --out already holds this case's result "
        "or an interrupted run of it left finished electrolytes",
    )
    run.add_argument(
        "--time-poisson-floor",
        action="store_true",
        help="also time one linear Poisson solve on the same mesh (the cost floor) and "
        "record newton_over_poisson_floor in summary.json (benchmarks/performance.py)",
    )
    run.add_argument(
        "--mesh-cache",
        metavar="DIR",
        help="keep the Gmsh mesh in DIR and reuse it in later runs of the same geometry "
        "(skips the meshing on rank 0; keyed by geometry, sizes, order, Gmsh and builder source)",
    )
    grw = sub.add_parser(
        "grow", help="grow the deposit in time from the case's defect (sharp interface; [growth])"
    )
    grw.add_argument("case", help="case file (TOML) with a [growth] table")
    grw.add_argument("--out", help="result directory (default: results/<case name>-growth)")
    grw.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    grw.add_argument("--quiet", action="store_true", help="print only the final lines")
    grw.add_argument("--force", action="store_true", help="start again from t = 0, ignoring any checkpoint")
    pf = sub.add_parser(
        "phase-field",
        help="phase-field electrodeposition (Hong & Viswanathan 2018) per applied "
        "potential: morphology, tip position, ParaView series (nondimensional; docs/phase-field.md)",
    )
    pf.add_argument(
        "--potential",
        type=float,
        action="append",
        metavar="PHI",
        help="applied electrode potential, nondimensional (repeatable; default -0.45 and -0.25)",
    )
    for flag, what in (
        ("--length", "domain length along the growth direction (default 50)"),
        ("--height", "domain height (default 25)"),
        ("--dx", "mesh spacing, at most half the front width (default 0.25)"),
        ("--front", "initial flat front position (default 10)"),
        ("--t-end", "end time, model units (default 40)"),
        ("--stop-tip", "stop when the tip reaches this x (default 40)"),
        ("--noise", "noise amplitude (default: the published 0.04)"),
    ):
        pf.add_argument(flag, type=float, help=what)
    pf.add_argument("--seed", type=int, help="noise seed (default 0)")
    pf.add_argument(
        "--out", default="results/phase-field", help="result directory (default results/phase-field)"
    )
    pf.add_argument("--quiet", action="store_true", help="print only the final lines")
    pf.add_argument("--force", action="store_true", help="recompute, even if --out holds this result")
    chk = sub.add_parser("check", help="validate a case and build its mesh without solving")
    chk.add_argument("case")
    chk.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sub.add_parser("materials", help="list the electrolyte and interlayer libraries with sources")
    swp = sub.add_parser(
        "sweep", help="run every combination of a sweep file, here or as a Slurm job array; resumable"
    )
    swp.add_argument("sweep", nargs="?", help="case file with a [sweep] table")
    swp.add_argument("--out", help="sweep directory (default: results/<case name>-sweep)")
    swp.add_argument(
        "--jobs", type=int, default=0, help="runs at a time on this machine (default: cores / --np)"
    )
    swp.add_argument("--np", type=int, default=1, help="MPI ranks per run")
    swp.add_argument("--force", action="store_true", help="recompute finished runs")
    swp.add_argument(
        "--scheduler",
        choices=("local", "slurm"),
        default="local",
        help="local: run here (default); slurm: submit one job array, a task per unfinished run, "
        "and a dependent job that collects sweep.csv and the report (docs/cluster.md)",
    )
    swp.add_argument("--partition", help="Slurm partition (default: the cluster's default)")
    swp.add_argument("--time-limit", default="1:00:00", help="Slurm time limit per run (default 1:00:00)")
    swp.add_argument("--max-concurrent", type=int, default=0, help="Slurm: runs at once (default: no limit)")
    swp.add_argument(
        "--srun-mpi",
        default="pmi2",
        help="srun --mpi plugin the MPI library speaks (default pmi2, for MPICH; pmix for Open MPI)",
    )
    swp.add_argument(
        "--sbatch-option",
        action="append",
        default=[],
        metavar="--OPT=VALUE",
        help="a further sbatch option for every job, e.g. --sbatch-option=--account=proj (repeatable)",
    )
    swp.add_argument(
        "--status",
        metavar="DIR",
        help="show the runs of a submitted sweep: finished, running, queued, failed, not submitted",
    )
    swp.add_argument(
        "--collect", metavar="DIR", help="write DIR/sweep.csv and the report from the runs on disk"
    )
    tsk = sub.add_parser("sweep-task", help="run one run of a sweep directory (what a Slurm array task runs)")
    tsk.add_argument("dir", help="the sweep directory (with sweep.json)")
    tsk.add_argument("index", type=int, help="the run's number (run-NNNN)")
    tsk.add_argument("--force", action="store_true", help="recompute a finished run")
    rep = sub.add_parser("report", help="Markdown report of a sweep or of a run directory")
    rep.add_argument(
        "results", help="a sweep directory (with sweep.csv) or a run directory (with summary.json)"
    )
    rep.add_argument("--out", help="report directory (default: RESULTS/report)")
    sub.add_parser("paraview-script", help="print the path of the pvpython script that opens a result")
    ver = sub.add_parser("verify", help="run the verification suite (closed forms, MMS rates, symmetry)")
    ver.add_argument("--quick", action="store_true", help="the small meshes the test suite uses")
    ver.add_argument("--out", default="docs/verification", help="directory for results.md/json and plots")
    ver.add_argument(
        "--doc",
        default="docs/verification.md",
        help="Markdown file whose 'verify' block receives the table ('' for none)",
    )
    return p


def _print_table(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from dendrite_fem.units import TO_MA_PER_CM2, TO_MS_PER_CM, TO_MV, TO_UM

    t = Table(title=f"{summary['case']['name']}: plating current along the anode interface")
    for col in (
        "electrolyte",
        "σ [mS/cm]",
        "ℓ_W [µm]",
        "Wa",
        "max/mean",
        "min/mean",
        "CV",
        ">2×mean",
        "tip/rim [mA/cm²]",
        "V_cell [mV]",
        "η̄ [mV]",
        "ohmic [mV]",
        "balance err",
        "Newton",
    ):
        t.add_column(col, justify="right")
    for name, r in summary["electrolytes"].items():
        m = r["metrics"]
        tip = m["features"][0]["plating_current_A_per_m2"] * TO_MA_PER_CM2 if m["features"] else float("nan")
        t.add_row(
            name,
            f"{r['conductivity'] * TO_MS_PER_CM:.3g}",
            f"{r['wagner_length'] * TO_UM:.1f}",
            f"{r['wagner_number']:.3g}",
            f"{m['max_over_mean']:.4f}",
            f"{m['min_over_mean']:.4f}",
            f"{m['coefficient_of_variation']:.4f}",
            f"{m['share_above_twice_mean']:.3f}",
            f"{tip:.4g}",
            f"{m['counter_potential'] * TO_MV:.3f}",
            f"{m['mean_overpotential'] * TO_MV:.3f}",
            f"{m['ohmic_drop'] * TO_MV:.3f}",
            f"{m['charge_balance_error']:.1e}",
            str(r["solver"]["newton_iterations"]),
        )
    Console(width=200).print(t)


def _sweep(args, comm) -> int:
    """``dendrite-fem sweep``: run here, submit to Slurm, show the status or collect."""
    from dendrite_fem.app import slurm
    from dendrite_fem.app.sweep import load_sweep, run_sweep
    from dendrite_fem.config.errors import CaseError

    if comm.size > 1:
        raise CaseError("run 'dendrite-fem sweep' without mpiexec; use --np for MPI ranks per run")
    if args.status or args.collect:
        if args.sweep:
            raise CaseError("--status and --collect take the sweep directory; give no sweep file with them")
        if args.status:
            states, lines = slurm.status(Path(args.status))
            print("\n".join(lines))
            return EXIT_OTHER if any(s.state == "failed" for s in states) else 0
        table, rows = slurm.collect_now(Path(args.collect))
        return _sweep_table(table, rows)
    if not args.sweep:
        raise CaseError("dendrite-fem sweep: give a sweep file (or --status DIR / --collect DIR)")
    if args.np < 1 or args.jobs < 0:
        raise CaseError(
            f"--np {args.np} --jobs {args.jobs}: --np needs at least 1 rank per run; --jobs is 0 "
            "(one run per --np cores) or a positive number of runs at a time"
        )
    path, runs = load_sweep(args.sweep)
    import tomllib

    name = tomllib.loads(path.read_text())["case"]["name"]
    out = Path(args.out or Path("results") / f"{name}-sweep")
    if args.scheduler == "slurm":
        options = slurm.SlurmOptions(
            args.partition,
            args.time_limit,
            args.np,
            args.max_concurrent,
            args.srun_mpi,
            tuple(args.sbatch_option),
        )
        slurm.submit(path, out, options, args.force)
        print(f"follow it with: dendrite-fem sweep --status {out}")
        return 0
    print(f"{len(runs)} runs into {out}/ ({args.jobs or 'auto'} at a time, {args.np} rank(s) each)")
    table, rows = run_sweep(path, out, args.jobs, args.np, args.force, progress=sys.stderr.isatty())
    return _sweep_table(table, rows)


def _sweep_table(table: Path, rows: list[dict]) -> int:
    failed = sorted({r["run"] for r in rows if r.get("status") != "ok"})
    print(f"{table}: {len(rows)} rows" + (f"; FAILED runs: {', '.join(failed)}" if failed else ""))
    return EXIT_OTHER if failed else 0


def _check_launcher(comm) -> None:
    """srun without a PMI plugin starts N independent one-rank runs that overwrite each other's
    results: refuse that (each copy says so) before anything is written."""
    import os

    from dendrite_fem.config.errors import CaseError

    tasks = os.environ.get("SLURM_STEP_NUM_TASKS", "1")
    if comm.size == 1 and tasks.isdigit() and int(tasks) > 1:
        raise CaseError(
            f"srun started {tasks} tasks but MPI sees one rank in each: launch with "
            "'srun --mpi=pmi2' (MPICH, as in the dolfinx-solver-real wheel) or your site's PMI plugin"
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from dendrite_fem.app import form_cache, interrupts

    interrupts.install()  # before PETSc starts: its own handler would print an abort trace
    import warnings

    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    form_cache.prepare()  # before DOLFINx reads where its cache is
    # imported here so that --help works without MPI/DOLFINx start-up
    from mpi4py import MPI

    import dendrite_fem  # noqa: F401  (orders the DOLFINx wheel's MPI first)

    if args.command in ("run", "grow", "verify", "phase-field"):  # the commands that compile forms
        form_cache.record_own_compiles()
    from dendrite_fem.config.errors import CaseError
    from dendrite_fem.config.load import load_case
    from dendrite_fem.physics.materials import INTERLAYERS, LIBRARY
    from dendrite_fem.units import TO_MS_PER_CM, TO_OHM_CM2, TO_PER_UM, TO_UM

    comm = MPI.COMM_WORLD
    root = comm.rank == 0
    try:
        _check_launcher(comm)
        if args.command == "materials":
            if root:
                for e in LIBRARY.values():
                    ea = "" if e.activation_energy is None else f", Ea = {e.activation_energy:.3f} eV"
                    print(
                        f"{e.name:13s} {e.formula:26s} {e.conductivity_ref * TO_MS_PER_CM:6.3g} mS/cm at "
                        f"{e.temperature_ref:.2f} K{ea}\n{'':13s} source: {e.source}"
                    )
                print("\ninterlayers (electrolytes.N.interlayer; docs/interlayers.md):")
                for il in INTERLAYERS.values():
                    mixed = (
                        f", electronic {il.electronic_conductivity * TO_MS_PER_CM:.3g} mS/cm, "
                        f"a_v = {il.specific_area * TO_PER_UM:g} /um"
                        if il.electronic_conductivity
                        else ""
                    )
                    print(
                        f"{il.name:16s} {il.conductivity * TO_MS_PER_CM:6.3g} mS/cm, {il.typical_thickness * TO_UM:g} um, "
                        f"R_f = {il.area_resistance() * TO_OHM_CM2:.3g} ohm cm2{mixed}: {il.composition}\n"
                        f"{'':16s} source: {il.source}"
                    )
            return 0
        if args.command == "paraview-script":
            if root:
                print(Path(__file__).with_name("paraview_show.py"))
            return 0
        if args.command == "sweep":
            return _sweep(args, comm)
        if args.command == "sweep-task":
            from dendrite_fem.app.slurm import task_arguments

            return main(task_arguments(Path(args.dir), args.index, args.force))
        if args.command == "report":
            from dendrite_fem.app.report import write_report

            path = write_report(Path(args.results), Path(args.out) if args.out else None)
            print(f"report: {path}")
            return 0
        if args.command == "verify":
            from dendrite_fem.verification import report
            from dendrite_fem.verification.suite import run_suite

            results = run_suite(quick=args.quick, log=print if root else (lambda *a: None))
            if root:
                report.write(results, Path(args.out), Path(args.doc) if args.doc else None, args.quick)
                failed = [r for r in results["rows"] if not r.passed]
                print(report.markdown(results, args.quick))
                print(
                    f"{len(failed)} check(s) outside tolerance" if failed else "all checks within tolerance"
                )
            return 1 if comm.bcast(any(not r.passed for r in results["rows"]), root=0) else 0
        if args.command == "phase-field":
            from dendrite_fem.app.phase_field_study import PhaseFieldStudy, phase_field_study

            given = {
                "potentials": tuple(args.potential) if args.potential else None,
                "length": args.length,
                "height": args.height,
                "dx": args.dx,
                "front": args.front,
                "t_end": args.t_end,
                "stop_tip": args.stop_tip,
                "seed": args.seed,
                "noise": args.noise,
            }
            study = PhaseFieldStudy(
                **{k: v for k, v in given.items() if v is not None}
            )  # the rest: its defaults
            log = (lambda *a, **k: None) if args.quiet else (lambda *a, **k: print(*a, **k, flush=True))
            summary = phase_field_study(study, Path(args.out), comm, log=log, force=args.force)
            if root:
                for name, r in summary["potentials"].items():
                    print(
                        f"{name}: {r['stop_reason']} at t = {r['final_time']:.4g}; tip advance {r['tip_advance']:.3f}, "
                        f"mean advance {r['mean_advance']:.3f} (tip/mean {r['tip_over_mean_advance'] or 0:.2f})"
                    )
                print(f"results in {args.out}/")
            return 0
        case, digest = load_case(args.case, args.overrides)
        if args.command == "check":
            from dendrite_fem.geometry.distribute import build_mesh

            window = case.window  # resolved: geometry and materials are checked
            m = build_mesh(window, comm, geometry_order=case.geometry_order)
            if root:
                print(
                    f"{args.case}: valid. {window.dim}D mesh with {m.num_cells} cells; groups {m.group_sizes}"
                )
            return 0
        if args.command == "grow":
            from dendrite_fem.app.grow import grow_case

            out = Path(args.out or Path("results") / f"{case.name}-growth")
            log = (lambda *a, **k: None) if args.quiet else (lambda *a, **k: print(*a, **k, flush=True))
            summary = grow_case(case, out, args.case, digest, comm, log=log, force=args.force)
            if root:
                for name, r in summary["electrolytes"].items():
                    reached = r["time_to_target_growth"]
                    print(
                        f"{name}: {r['stop_reason']}, {r['steps']} steps, tip advance {r['tip_advance'] * TO_UM:.3f} um"
                        f" in {r['final_time'] / 3600:.4g} h"
                        + (f"; target reached at {reached / 3600:.4g} h" if reached else "")
                        + f"; mass balance within {r['max_mass_balance_error']:.1e}"
                    )
                print(f"results in {out}/")
            return 0
        from dendrite_fem.app.runner import run_case

        if args.mesh_cache and Path(args.mesh_cache).exists() and not Path(args.mesh_cache).is_dir():
            raise CaseError(
                f"--mesh-cache {args.mesh_cache}: is a file; give a directory for the cached meshes"
            )
        out = Path(args.out or Path("results") / case.name)
        log = (lambda *a, **k: None) if args.quiet else (lambda *a, **k: print(*a, **k, flush=True))
        summary = run_case(
            case,
            out,
            args.case,
            digest,
            comm,
            log=log,
            force=args.force,
            time_floor=args.time_poisson_floor,
            mesh_cache=Path(args.mesh_cache) if args.mesh_cache else None,
        )
        if root:
            _print_table(summary)
            print(f"results in {out}/")
        return 0
    except BaseException as exc:  # noqa: BLE001 - the one boundary where every failure is classified
        return _classified(exc, args, comm)


def _classified(exc: BaseException, args, comm) -> int:
    """Say what happened and return its exit code: 2 invalid input (the message names the field
    and the fix), 3 no converged or finite solution, 128 + N a signal N (130 SIGINT, 143 SIGTERM),
    1 anything else (the traceback only with --debug).  Under MPI an interruption or an
    unexpected error ends every rank (MPI_Abort), so no rank is left waiting in a collective."""
    from dendrite_fem.app.interrupts import Interrupted, received
    from dendrite_fem.app.outputs import OutputError
    from dendrite_fem.config.errors import CaseError
    from dendrite_fem.geometry.spec import GeometryError
    from dendrite_fem.numerics.solver import ConvergenceError
    from dendrite_fem.physics.materials import MaterialError

    root = comm.rank == 0
    signum = exc.signum if isinstance(exc, Interrupted) else received()
    if signum is not None:
        import signal

        from dendrite_fem.app.form_cache import discard_unfinished

        discard_unfinished()

        kept = getattr(exc, "kept", "nothing was kept")
        name = signal.Signals(signum).name
        if root:
            print(f"interrupted by {name}: {kept}", file=sys.stderr, flush=True)
        code = 128 + signum
        if comm.size > 1:
            # rank 0 has said what was kept; a rank that was blocked in a collective never saw
            # the signal and would wait for ever
            time.sleep(0.2 if root else 1.0)
            if not root:
                print(
                    f"[rank {comm.rank}] interrupted by {name}; what had finished stays for a resume "
                    "(run the same command again)",
                    file=sys.stderr,
                    flush=True,
                )
            comm.Abort(code)
        return code
    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, (GeometryError, MaterialError)):
        if root:
            print(f"error: {getattr(args, 'case', '')}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if isinstance(exc, (CaseError, OutputError)):
        if root:
            print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if isinstance(exc, ConvergenceError):
        if root:
            print(f"error: the solver did not converge: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    if isinstance(exc, MemoryError):
        message = "out of memory; use a coarser mesh (mesh sizes), fewer ranks per node or a larger machine"
    elif isinstance(exc, OSError) and exc.errno in (28, 122):  # ENOSPC, EDQUOT
        message = f"the disk is full ({exc.filename or 'writing the results'}); nothing was committed"
    elif isinstance(exc, TimeoutError) and "JIT" in str(exc):
        message = (
            f"{exc} (another process was compiling that form and did not finish in time; run the "
            "command again: a file no process is compiling any more is removed when it starts)"
        )
    elif isinstance(exc, OSError) and exc.errno in (13, 30):  # EACCES, EROFS
        message = f"cannot write {exc.filename or 'a file'} ({exc.strerror}); choose a writable place"
    else:
        message = None
    if message is not None:
        print(f"[rank {comm.rank}] error: {message}", file=sys.stderr, flush=True)
    elif args.debug:
        print(f"[rank {comm.rank}] unexpected error:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
    else:
        print(
            f"[rank {comm.rank}] unexpected error: {type(exc).__name__}: {exc}\n"
            "this is a bug of dendrite-fem: run the same command with --debug "
            "(dendrite-fem --debug ...) and report its output",
            file=sys.stderr,
            flush=True,
        )
    if comm.size > 1:
        # give mpiexec's proxy a moment to forward the message before it kills everything
        time.sleep(1.0)
        comm.Abort(EXIT_OTHER)
    return EXIT_OTHER


if __name__ == "__main__":
    sys.exit(main())
