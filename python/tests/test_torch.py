"""mammoflow.torch: image records of a stage joined with their table rows, and the PyTorch Dataset."""
import importlib
import pickle
import sys

import numpy as np
import pytest

from mammoflow.cache import Cache, CacheError
from mammoflow.torch import ImageRecords


def test_records_are_scaled_by_bit_depth_and_joined_with_their_rows(cache_dir):
    cache = Cache(cache_dir)
    table = cache.newest_run("synth").table("train.csv")
    run = cache.newest_run("downscale")
    records = ImageRecords(run, table, label="cancer")
    rows = table.by_key()
    assert len(records) == run.record_count
    readers = {key: reader for key, _, reader in run.records()}
    for i, key in enumerate(records.keys):
        pixels, label = records[i]
        image = readers[key].image(key)
        assert pixels.dtype == np.float32 and pixels.shape == (1,) + image.pixels.shape
        assert np.array_equal(pixels[0] * np.float32((1 << image.bits) - 1), image.pixels.astype(np.float32))
        assert 0 <= pixels.min() and pixels.max() <= 1
        assert label == rows[key]["cancer"]
    assert ImageRecords(run, table)[0][1] == rows[records.keys[0]]


def test_keys_select_records_such_as_a_fold(cache_dir):
    cache = Cache(cache_dir)
    folds = cache.newest_run("folds").table("folds.csv")
    fold0 = [r["image"] for r in folds.rows if r["fold"] == 0]
    records = ImageRecords(cache.newest_run("downscale"), keys=fold0)
    assert records.keys == fold0 and 0 < len(records) < cache.newest_run("downscale").record_count
    assert [row["key"] for row in records.rows] == fold0  # no table: the records' own metadata
    with pytest.raises(CacheError, match="the downscale records carry no 'cancer': image records hold no labels"):
        ImageRecords(cache.newest_run("downscale"), keys=fold0, label="cancer")


def test_a_record_without_a_row_or_label_is_an_error_not_a_drop(cache_dir):
    cache = Cache(cache_dir)
    table = cache.newest_run("synth").table("train.csv")
    rows = table.by_key()
    dropped = dict(list(rows.items())[1:])
    with pytest.raises(CacheError, match="1 records of the downscale artifact have no table row"):
        ImageRecords(cache.newest_run("downscale"), dropped)
    with pytest.raises(CacheError, match="selected keys are not records"):
        ImageRecords(cache.newest_run("downscale"), table, keys=["0/0"])
    first = next(iter(rows))
    unlabelled = dict(rows, **{first: dict(rows[first], cancer=None)})
    with pytest.raises(CacheError, match=f"1 rows have no 'cancer' value, e.g. \\['{first}'\\]"):
        ImageRecords(cache.newest_run("downscale"), unlabelled, label="cancer")


def test_the_dataset_needs_torch_only_when_used(monkeypatch):
    module = importlib.import_module("mammoflow.torch")
    monkeypatch.delattr(module, "ShardImageDataset", raising=False)  # defined by an earlier use
    for name in ("torch", "torch.utils", "torch.utils.data"):
        monkeypatch.setitem(sys.modules, name, None)  # import torch now fails
    importlib.reload(module)
    with pytest.raises(ImportError, match="needs PyTorch: pip install torch"):
        module.ShardImageDataset


def test_a_torch_dataloader_batches_the_shards(cache_dir):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (make test installs the CPU wheel "
                                                "when /opt/wheels has one)")
    from mammoflow.torch import ShardImageDataset

    cache = Cache(cache_dir)
    table = cache.newest_run("synth").table("train.csv")
    run = cache.newest_run("downscale")
    resize = lambda t: torch.nn.functional.interpolate(t[None], size=(32, 24), mode="area")[0]  # noqa: E731
    dataset = ShardImageDataset(run, table, label="cancer", transform=resize)
    assert isinstance(dataset, torch.utils.data.Dataset)
    plain = ShardImageDataset(run, table, label="cancer")
    tensor, label = plain[0]
    assert torch.equal(pickle.loads(pickle.dumps(plain))[0][0], tensor)  # what a spawned worker gets
    assert tensor.dtype == torch.float32 and np.array_equal(tensor.numpy(), plain.records[0][0])
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, shuffle=False, num_workers=2)
    images, labels = [], []
    for batch, target in loader:
        assert batch.shape[1:] == (1, 32, 24)
        images.append(batch)
        labels.append(target)
    assert torch.cat(labels).tolist() == [row["cancer"] for row in dataset.records.rows]
    assert torch.cat(images).shape[0] == len(dataset)
    # One real optimisation step on the batches: the data is usable as a model's input.
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 24, 1))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(torch.cat(images))[:, 0],
                                                                torch.cat(labels).float())
    loss.backward()
    assert torch.isfinite(loss) and model[1].weight.grad.abs().sum() > 0


def test_open_readers_are_bounded_least_recently_used_closed_first(cache_dir, packed):
    # An artifact of 54,706 images has about 5,000 shards: a DataLoader worker must not hold them all open.
    run = Cache(cache_dir).newest_run("downscale")
    records = ImageRecords(run)
    records.open_readers = 2
    first, second, third = packed["plain"], packed["shuffled"], run.location(run.shard_files[0])
    kept = records.reader(first)
    records.reader(second)
    assert records.reader(first) is kept  # used again: now the most recent
    records.reader(third)
    assert list(records._readers) == [first, third]
    assert records[0][0].shape[0] == 1  # records still read, their shard reopened when needed
    assert len(records._readers) <= 2
