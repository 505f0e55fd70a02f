"""Result directories are never lost (issue 16): a run replaces only an empty directory or a
result of the same case (any result of ours with --force), never a user's folder, a folder
that holds other results or one inside a result; a lock keeps two runs out of one directory;
long names work."""

import json

import pytest
from conftest import SMALL_CASE, run_cli
from mpi4py import MPI

from dendrite_fem.app.outputs import RESULT_MARKER, OutputError, ResultDirectory, result_owner


def _result(path, owner="run:a", key="k"):
    """Make a finished result of ``owner`` in ``path`` (as a run commits one)."""
    with ResultDirectory(path, MPI.COMM_SELF, key, owner=owner) as rd:
        rd.path("summary.json").write_text(json.dumps({"run": {"resume_key": key}}))
    return path


def test_a_result_carries_its_owner(tmp_path):
    out = _result(tmp_path / "a")
    assert result_owner(out) == "run:a" and (out / RESULT_MARKER).exists()
    assert result_owner(tmp_path) is None


def test_another_case_does_not_replace_a_result_without_force(tmp_path):
    out = _result(tmp_path / "a", owner="run:a")
    with pytest.raises(OutputError, match="holds a result of 'run:a', not of this run .'run:b'.*--force"):
        _result(out, owner="run:b")
    assert result_owner(out) == "run:a"
    with ResultDirectory(out, MPI.COMM_SELF, "k2", fresh=True, owner="run:b") as rd:
        rd.path("summary.json").write_text("{}")
    assert result_owner(out) == "run:b"


def test_the_same_case_replaces_its_result(tmp_path):
    out = _result(tmp_path / "a", key="k1")
    _result(out, key="k2")  # an edited case of the same name
    assert json.loads((out / RESULT_MARKER).read_text())["key"] == "k2"


def test_a_folder_holding_results_is_never_an_output_even_with_force(tmp_path):
    root = tmp_path / "results"
    _result(root / "a")
    for force in (False, True):
        with pytest.raises(OutputError, match="not a result of dendrite-fem"):
            ResultDirectory(root, MPI.COMM_SELF, "k", fresh=force).__enter__()
    assert result_owner(root / "a") == "run:a"


def test_an_output_inside_a_result_is_refused(tmp_path):
    out = _result(tmp_path / "a")
    with pytest.raises(OutputError, match="lies inside the result"):
        _result(out / "sub")


def test_a_users_folder_is_never_replaced(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter.tex").write_text("precious")
    with pytest.raises(OutputError, match="nothing was changed"):
        ResultDirectory(mine, MPI.COMM_SELF, "k", fresh=True).__enter__()
    assert (mine / "chapter.tex").read_text() == "precious"


def test_a_second_run_into_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "a"
    with ResultDirectory(out, MPI.COMM_SELF, "k", owner="run:a") as first:
        first.path("summary.json").write_text("{}")
        with pytest.raises(OutputError, match="another run is writing there"):
            ResultDirectory(out, MPI.COMM_SELF, "k", owner="run:a").__enter__()
    _result(out)  # released when the first ended


def test_a_long_output_name_works(tmp_path):
    out = _result(tmp_path / ("r" * 250))
    assert result_owner(out) == "run:a"
    assert all(len(p.name) <= 255 for p in tmp_path.iterdir())


def test_cli_refuses_a_case_named_dot_and_a_foreign_case_into_a_result(write_case, tmp_path):
    r = run_cli("check", str(write_case(SMALL_CASE.replace('name = "small"', 'name = "."'))))
    assert r.returncode == 2 and "case.name" in r.stderr and "Traceback" not in r.stderr
    out = _result(tmp_path / "other", owner="run:someone-else")
    r = run_cli("run", str(write_case(SMALL_CASE)), "--out", str(out))
    assert r.returncode == 2 and "--force" in r.stderr and result_owner(out) == "run:someone-else"


def test_a_damaged_partial_result_is_not_resumed(tmp_path):
    """Issue 16: a resume verifies the SHA-256 of every file the partial result recorded."""
    out = tmp_path / "a"
    with pytest.raises(RuntimeError), ResultDirectory(out, MPI.COMM_SELF, "k", owner="run:a") as rd:
        rd.path("fields_NAS.h5").write_bytes(b"field data")
        rd.mark_finished("NAS", {"max_over_mean": 1.0})
        raise RuntimeError("killed")
    partial = rd.tmp
    with ResultDirectory(out, MPI.COMM_SELF, "k", owner="run:a") as again:
        assert again.resumed == ["NAS"]  # intact: resumed
        raise_later = again.tmp
    assert not raise_later.exists()  # committed
    with pytest.raises(RuntimeError), ResultDirectory(out, MPI.COMM_SELF, "k2", owner="run:a") as rd:
        rd.path("fields_NAS.h5").write_bytes(b"field data")
        rd.mark_finished("NAS", {"max_over_mean": 1.0})
        raise RuntimeError("killed")
    (partial / "fields_NAS.h5").write_bytes(b"field dat4")  # one byte changed on disk
    with ResultDirectory(out, MPI.COMM_SELF, "k2", owner="run:a") as again:
        assert again.resumed == []  # damaged: started afresh


def test_a_result_of_an_earlier_version_is_recognised_by_its_case(tmp_path):
    """Results made before the marker existed: their summary names the package and the case,
    so re-running the same case (make demo after an upgrade) needs no --force."""
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text(
        json.dumps({"software": {"dendrite-fem": "0.1.0"}, "case": {"name": "a"}, "parameters": {}})
    )
    assert result_owner(old) == "run:a"
    _result(old, owner="run:a")  # replaced without --force
    assert json.loads((old / RESULT_MARKER).read_text())["owner"] == "run:a"
