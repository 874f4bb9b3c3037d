"""Shared fixtures: the repository, the MovieLens data, the CLI binary to compare against."""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def golden(name):
    """A golden file of tests/golden (shared with the C++ tests)."""
    return json.loads((ROOT / "tests" / "golden" / name).read_text())


def shared_datasets():
    """Where the MovieLens files are: $CINEFACTOR_DATASETS, else ../shared/datasets (as the C++ tests)."""
    return pathlib.Path(os.environ.get("CINEFACTOR_DATASETS", ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def ml_small_dir(tmp_path_factory):
    """ml-latest-small, copied so the binary cache written beside it stays out of the shared folder."""
    source = shared_datasets() / "ml-latest-small"
    if not (source / "ratings.csv").exists():
        pytest.skip(f"ml-latest-small not found under {shared_datasets()} "
                    "(set CINEFACTOR_DATASETS to the folder holding ml-latest-small/)")
    target = tmp_path_factory.mktemp("data") / "ml-latest-small"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".cinefactor-cache*"))
    return target


@pytest.fixture(scope="session")
def ml_small(ml_small_dir):
    import cinefactor
    return cinefactor.load_movielens(ml_small_dir)


@pytest.fixture(scope="session")
def cli():
    """The `cinefactor` CLI: $CINEFACTOR_BINARY, else build/ci or build/cpu of this tree."""
    candidates = [os.environ.get("CINEFACTOR_BINARY")] + [str(ROOT / "build" / b / "cinefactor")
                                                          for b in ("ci", "cpu", "release")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            def run(*args):
                done = subprocess.run([c, "-q", *map(str, args)], capture_output=True, text=True, timeout=600)
                assert done.returncode == 0, f"cinefactor {' '.join(map(str, args))}: {done.stderr}"
                return done.stdout
            run.path = c
            return run
    pytest.skip("the cinefactor CLI is not built (set CINEFACTOR_BINARY or build build/ci or build/cpu)")
