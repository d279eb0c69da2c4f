"""mammoflow.cache on a cache the Swift scheduler and stages wrote (fixtures/make_fixtures.py)."""
import json
import os

import pytest

from fixtures.make_fixtures import statistics
from mammoflow.cache import Cache, CacheError, TableError, parse_table, typed_cell


def test_lists_the_runs_of_each_stage(cache_dir):
    cache = Cache(cache_dir)
    assert sorted(r.stage for r in cache.runs()) == ["downscale", "folds", "synth"]
    run = cache.newest_run("downscale")
    assert run.params == {"factor": 2}
    assert os.path.basename(run.record_path) == f"{run.key}.json"
    assert [f.path for f in run.shard_files] == [f.path for f in run.files if f.path.endswith(".mgs")]
    assert sum(f.records for f in run.shard_files) == run.record_count


def test_a_stage_artifact_reads_as_the_pixels_swift_showed(cache_dir, expected):
    run = Cache(cache_dir).newest_run("downscale")
    seen = {}
    for key, metadata, reader in run.records():
        assert metadata["key"] == key
        image = reader.image(key)
        seen[key] = statistics(image.pixels, image.bits)
    assert seen == expected["downscale"]
    assert len(seen) == run.record_count


def test_tables_are_typed_as_the_decode_stage_types_image_metadata(cache_dir):
    cache = Cache(cache_dir)
    table = cache.newest_run("synth").table("train.csv")
    assert table.columns[:2] == ["site_id", "patient_id"]
    rows = table.by_key()
    assert len(rows) == len(table.rows)
    image_columns = ["patient_id", "image_id", "laterality", "view"]
    for key, metadata, _ in cache.newest_run("downscale").records():
        # The decode stage copied the cells that describe the image into its metadata, typed by Swift, and
        # no label or clinical cell (those are joined from the table where they are used).
        assert {c: metadata[c] for c in image_columns} == {c: rows[key][c] for c in image_columns}
        assert not set(table.columns) - set(image_columns) & set(metadata), metadata
    folds = cache.newest_run("folds").table("folds.csv")
    assert folds.columns == ["image", "patient_id", "image_id", "fold"]
    assert {r["image"] for r in folds.rows} == set(rows)
    assert {r["fold"] for r in folds.rows} == {0, 1}


def test_newest_run_follows_commit_time_and_params(cache_copy):
    runs = os.path.join(cache_copy, "runs")
    (name,) = [n for n in os.listdir(runs) if json.load(open(os.path.join(runs, n)))["stage"] == "folds"]
    record = json.load(open(os.path.join(runs, name)))
    record["key"] = "f" * 64
    record["parts"]["params"]["k"] = 3
    with open(os.path.join(runs, record["key"] + ".json"), "w") as f:
        json.dump(record, f)
    os.utime(os.path.join(runs, name), ns=(1_000_000_000, 1_000_000_000))
    cache = Cache(cache_copy)
    assert cache.newest_run("folds").key == "f" * 64
    assert cache.newest_run("folds", k=2).key == name[:-5]
    with pytest.raises(CacheError, match=r"no run of stage 'folds' with params \{'k': 5\}"):
        cache.newest_run("folds", k=5)
    with pytest.raises(CacheError, match="no run of stage 'train'; stages with runs: downscale, folds, synth"):
        cache.newest_run("train")


def test_a_param_left_at_its_declared_default_is_found_by_newest_run(cache_copy):
    cache = Cache(cache_copy)
    run = cache.newest_run("downscale")
    assert run.params == {"factor": 2} and cache.runs("downscale")[0].effective_params == {"factor": 2}
    # What `mammoflow-downscale --describe-params` answered, as the engine keeps it.
    os.makedirs(os.path.join(cache_copy, "state", "params"))
    with open(os.path.join(cache_copy, "state", "params", run.executable + ".json"), "w") as f:
        json.dump({"contract": "mammoflow-stage-params-v1", "stage": "downscale", "params": [
            {"name": "factor", "type": "int", "default": 4, "help": ""},
            {"name": "width", "type": "int", "default": 0, "help": ""}]}, f)
    assert cache.newest_run("downscale", width=0, factor=2).key == run.key
    assert cache.newest_run("downscale").effective_params == {"factor": 2, "width": 0}


def test_a_corrupt_table_object_is_an_error_naming_it(cache_copy):
    run = Cache(cache_copy).newest_run("synth")
    location = run.location("train.csv")
    data = bytearray(open(location, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(location, "wb").write(bytes(data))
    with pytest.raises(CacheError, match="train.csv does not match its SHA-256") as caught:
        run.table("train.csv")
    assert caught.value.path == location


def test_a_missing_object_is_an_error_naming_it(cache_copy):
    run = Cache(cache_copy).newest_run("downscale")
    os.remove(run.location(run.shard_files[0]))
    with pytest.raises(CacheError, match="is missing"):
        run.shards()  # before any shard is opened


def test_a_file_the_artifact_lacks_and_a_folder_that_is_no_cache(cache_dir, tmp_path):
    with pytest.raises(CacheError, match="the downscale artifact has no file train.csv"):
        Cache(cache_dir).newest_run("downscale").table("train.csv")
    with pytest.raises(CacheError, match="not a mammoflow cache"):
        Cache(tmp_path)


def test_cells_are_typed_like_the_decode_stage():
    assert [typed_cell(t) for t in ["", " 42 ", "-7", "68.0", "True", "False", "L", "1e5", "nan", "1_000"]] == \
        [None, 42, -7, 68.0, True, False, "L", "1e5", "nan", "1_000"]


def test_a_bad_table_says_where(tmp_path):
    with pytest.raises(TableError, match="t.csv: line 3: 1 fields, the header has 2"):
        parse_table("a,b\r\n1,2\r\n3\r\n", "t.csv")
    with pytest.raises(TableError, match="key 1/2 appears twice"):
        parse_table("patient_id,image_id\n1,2\n1,2\n", "t.csv").by_key()
