"""Every failure class of issue 16 ends with the right exit code and a message that names the
problem, without a traceback: a corrupted or foreign result given to `report`, phase-field
options that are not numbers a run can use, an unwritable or stale form cache, a full disk, a
read-only output folder."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, SMALL_CASE, run_cli

from dendrite_fem.app import form_cache


def _clean(r, code):
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "unexpected error" not in r.stderr, r.stderr


@pytest.mark.parametrize(
    "summary, hint",
    [
        ("{", "not a readable result"),
        ('{"electrolytes": 3}', "not a readable result"),
        (None, "neither a sweep"),
    ],
)
def test_report_refuses_a_corrupted_or_foreign_directory(tmp_path, summary, hint):
    d = tmp_path / "res"
    d.mkdir()
    if summary is not None:
        (d / "summary.json").write_text(summary)
    r = run_cli("report", str(d))
    _clean(r, 2)
    assert hint in r.stderr


def test_report_refuses_an_out_that_is_a_file(tmp_path):
    d = tmp_path / "res"
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"electrolytes": {}}))
    (tmp_path / "file").write_text("")
    r = run_cli("report", str(d), "--out", str(tmp_path / "file"))
    _clean(r, 2)
    assert "is a file" in r.stderr


@pytest.mark.parametrize(
    "option, hint",
    [
        (["--dx", "inf"], "finite"),
        (["--t-end", "nan"], "finite"),
        (["--noise", "inf"], "finite"),
        (["--potential", "nan"], "finite"),
        (["--seed", "-3"], "0 to 2**32"),
        (["--length", "1e300"], "smaller domain"),
        (["--noise", "5"], "at most 1"),
    ],
)
def test_phase_field_options_are_validated(tmp_path, option, hint):
    r = run_cli("phase-field", *option, "--out", str(tmp_path / "pf"))
    _clean(r, 2)
    assert hint in r.stderr and not (tmp_path / "pf").exists()


def test_an_unwritable_form_cache_falls_back_to_a_temporary_one(tmp_path, write_case):
    env = dict(os.environ, XDG_CACHE_HOME="/proc/no-cache-here")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "dendrite_fem.app.cli",
            "run",
            str(write_case(SMALL_CASE)),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    _clean(r, 0)
    assert "is not writable" in r.stderr and (tmp_path / "r" / "summary.json").exists()


def test_unfinished_compiles_nobody_holds_are_removed(tmp_path, monkeypatch):
    """A .c without .c.cached is a compile in progress only while its process holds its lock:
    a killed compile's file is removed (the next run would wait 10 s for it and fail)."""
    import fcntl

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(form_cache, "SETTLE", 0.2)
    cache = tmp_path / "fenics"
    cache.mkdir()
    orphan, running, done = (cache / f"libffcx_forms_{n}.c" for n in ("orphan", "running", "done"))
    for c in (orphan, running, done):
        c.write_text("")
    (cache / "libffcx_forms_done.c.cached").write_text("")
    fd = os.open(running, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run compiling it
    try:
        form_cache.prepare()
    finally:
        os.close(fd)
    assert not orphan.exists() and running.exists() and done.exists()


def _mount_tmpfs(path, options):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()})")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
@pytest.mark.parametrize(
    "options, hint", [("size=64k", "disk is full"), ("ro,size=1m", "Read-only file system")]
)
def test_a_full_disk_or_read_only_folder_is_reported_as_such(tmp_path, write_case, options, hint):
    place = tmp_path / "place"
    _mount_tmpfs(place, options)
    try:
        r = run_cli("run", str(write_case(SMALL_CASE)), "--out", str(place / "res"))
        assert r.returncode in (1, 2), r.stderr
        assert hint in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (place / "res" / "summary.json").exists()
    finally:
        subprocess.run(["umount", str(place)], check=True)
