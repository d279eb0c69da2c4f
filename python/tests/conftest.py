import json
import os
import shutil

import pytest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


@pytest.fixture(scope="session")
def expected():
    """What the Swift programs wrote and computed (fixtures/make_fixtures.py)."""
    with open(os.path.join(FIXTURES, "expected.json")) as f:
        return json.load(f)


@pytest.fixture
def packed():
    """Paths of the shards `mammoflow shard pack` wrote: stored as they are, and byte-shuffled by 2."""
    return {label: os.path.join(FIXTURES, "packed", f"{label}.mgs") for label in ("plain", "shuffled")}


@pytest.fixture
def cache_dir():
    return os.path.join(FIXTURES, "cache")


@pytest.fixture
def cache_copy(tmp_path):
    """A writable copy of the fixture cache, for tests that damage or add to it."""
    target = tmp_path / "cache"
    shutil.copytree(os.path.join(FIXTURES, "cache"), target)
    for folder, _, files in os.walk(target):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return target
