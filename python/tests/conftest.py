import json
import os
import shutil

import pytest

from fixtures import make_fixtures

FIXTURES = os.path.dirname(os.path.abspath(make_fixtures.__file__))
PROGRAMS = os.path.join(make_fixtures.ROOT, ".build", "debug")
NEEDED = ["mammoflow", "mammoflow-synth", "mammoflow-decode", "mammoflow-downscale", "mammoflow-folds"]


@pytest.fixture(scope="session", params=["committed", "fresh"])
def fixture_dir(request, tmp_path_factory):
    """The committed fixtures, and a set the Swift programs make now when they are built (`make test` runs
    swift test, which builds them, first): the reader must read what the Swift code writes today."""
    if request.param == "committed":
        return FIXTURES
    missing = [p for p in NEEDED if not os.access(os.path.join(PROGRAMS, p), os.X_OK)]
    if missing:
        pytest.skip(f"fresh fixtures need the Swift programs, not built in {PROGRAMS}: {', '.join(missing)} "
                    "(swift build, or make test, which runs swift test first)")
    out = tmp_path_factory.mktemp("fresh-fixtures")
    make_fixtures.make(PROGRAMS, str(out))
    return str(out)


@pytest.fixture(scope="session")
def expected(fixture_dir):
    """What the Swift programs wrote and computed (fixtures/make_fixtures.py)."""
    with open(os.path.join(fixture_dir, "expected.json")) as f:
        return json.load(f)


@pytest.fixture
def packed(fixture_dir):
    """Paths of the shards `mammoflow shard pack` wrote: stored as they are, and byte-shuffled by 2."""
    return {label: os.path.join(fixture_dir, "packed", f"{label}.mgs") for label in ("plain", "shuffled")}


@pytest.fixture
def cache_dir(fixture_dir):
    return os.path.join(fixture_dir, "cache")


@pytest.fixture
def cache_copy(cache_dir, tmp_path):
    """A writable copy of a fixture cache, for tests that damage or add to it."""
    target = tmp_path / "cache"
    shutil.copytree(cache_dir, target)
    for folder, _, files in os.walk(target):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return target
