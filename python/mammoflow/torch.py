"""Training in PyTorch on a stage's image shards: ``ShardImageDataset`` (needs torch) over ``ImageRecords``
(numpy only), the image records of a run's artifact joined with their table rows by key
``<patient_id>/<image_id>``.

This module imports without torch; ``ShardImageDataset`` imports it when first used.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .cache import CacheError, Run, Table
from .shards import ShardReader

__all__ = ["ImageRecords", "ShardImageDataset"]


class ImageRecords:
    """The image records of ``run``'s artifact, each with its row: from ``table`` (a Table such as
    ``cache.newest_run("synth").table("train.csv")``, or rows by key), else the record's own metadata, which
    holds the cells that describe the image (patient_id, image_id, laterality, view) and no labels: labels
    stay in the table, so that fixing one reruns no image stage.

    ``keys`` selects records (e.g. the images of some folds), in that order; by default every record, in
    the artifact's order. ``label`` names the column returned instead of the whole row. A record without a
    row, a selected key the artifact lacks, or a label cell that is empty is an error, not a dropped record.
    Shard readers are opened in each process on first use, so DataLoader workers can share an instance.
    """

    def __init__(self, run: Run, table: Table | Mapping[str, dict] | None = None, keys: Iterable[str] | None = None,
                 label: str | None = None, verify: bool = True):
        self.label = label
        self.verify = verify
        shard_of: dict[str, str] = {}
        metadata: dict[str, dict] = {}
        for reader in run.shards():
            with reader:
                for fields in reader.metadata():
                    shard_of[fields["key"]] = reader.path
                    metadata[fields["key"]] = fields
        self.keys = list(shard_of) if keys is None else list(keys)
        unknown = [k for k in self.keys if k not in shard_of]
        if unknown:
            raise CacheError(run.record_path, f"{len(unknown)} selected keys are not records of the {run.stage} "
                                              f"artifact, e.g. {unknown[:3]}")
        rows = metadata if table is None else table.by_key() if isinstance(table, Table) else table
        missing = [k for k in self.keys if k not in rows]
        if missing:
            raise CacheError(run.record_path, f"{len(missing)} records of the {run.stage} artifact have no table "
                                              f"row, e.g. {missing[:3]}")
        self.rows = [rows[k] for k in self.keys]
        if label is not None and table is None and any(label not in row for row in self.rows):
            raise CacheError(run.record_path, f"the {run.stage} records carry no {label!r}: image records hold no "
                                              "labels; pass the table, e.g. cache.newest_run(\"synth\").table(\"train.csv\")")
        if label is not None:
            empty = [k for k, row in zip(self.keys, self.rows) if row.get(label) is None]
            if empty:
                raise CacheError(run.record_path, f"{len(empty)} rows have no {label!r} value, e.g. {empty[:3]}")
        self.shard_paths = [shard_of[k] for k in self.keys]
        self._readers: OrderedDict[str, ShardReader] = OrderedDict()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_readers"] = {}  # memory maps stay in their process
        return state

    def __len__(self) -> int:
        return len(self.keys)

    #: Readers kept open per process, least recently used closed first: an artifact has thousands of shards.
    open_readers = 64

    def reader(self, path: str) -> ShardReader:
        if path in self._readers:
            self._readers.move_to_end(path)
        else:
            if len(self._readers) >= self.open_readers:
                self._readers.popitem(last=False)[1].close()
            self._readers[path] = ShardReader(path)
        return self._readers[path]

    def __getitem__(self, i: int) -> tuple[np.ndarray, Any]:
        """(pixels, target): pixels float32 (1, H, W), the samples divided by 2^bits - 1 so they span 0..1;
        target the row, or its ``label`` cell."""
        image = self.reader(self.shard_paths[i]).image(self.keys[i], self.verify)
        pixels = image.pixels.astype(np.float32) / np.float32((1 << image.bits) - 1)  # (H, W)
        row = self.rows[i]
        return pixels[np.newaxis], (row if self.label is None else row[self.label])


def _define_dataset() -> type:
    try:
        import torch.utils.data
    except ImportError as error:
        raise ImportError("mammoflow.torch.ShardImageDataset needs PyTorch: pip install torch") from error

    class ShardImageDataset(torch.utils.data.Dataset):
        """A map-style PyTorch dataset over ``ImageRecords`` (same arguments, plus ``transform``): item i is
        (tensor float32 (1, H, W) in 0..1, row dict or label), the tensor passed through ``transform``."""

        def __init__(self, run: Run, table: Table | Mapping[str, dict] | None = None,
                     keys: Iterable[str] | None = None, label: str | None = None,
                     transform: Callable[[torch.Tensor], torch.Tensor] | None = None, verify: bool = True):
            self.records = ImageRecords(run, table, keys, label, verify)
            self.transform = transform

        def __len__(self) -> int:
            return len(self.records)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
            pixels, target = self.records[i]
            tensor = torch.from_numpy(pixels)  # (1, H, W)
            return (self.transform(tensor) if self.transform else tensor), target

    # Named as a module attribute, so that pickle (DataLoader workers started by spawn) finds the class.
    ShardImageDataset.__module__, ShardImageDataset.__qualname__ = __name__, "ShardImageDataset"
    return ShardImageDataset


def __getattr__(name: str) -> Any:
    if name == "ShardImageDataset":
        dataset = _define_dataset()
        globals()[name] = dataset
        return dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
