"""A stage's artifact from a mammoflow cache directory (docs/architecture.md, docs/stage-contract.md).

The cache keeps every file a stage produced at ``objects/<first two hex digits>/<sha256>`` and, per run,
``runs/<key>.json``: the run's key parts (params, inputs), stage name, pipeline and its merged manifest
(files with their SHA-256, size and record counts; rejects; summary). A run record is written last, so one
that exists names a complete artifact. Nothing here writes to the cache.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Iterator

from .shards import ShardReader

__all__ = ["CacheError", "TableError", "Cache", "Run", "ArtifactFile", "Table", "typed_cell", "parse_table"]


INTEGER = re.compile(r"[+-]?[0-9]+")


class CacheError(Exception):
    """A cache, run record or object that cannot be used: names the file and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class TableError(CacheError):
    """A table file (train.csv, folds.csv) that cannot be read as one."""


@dataclass(frozen=True)
class ArtifactFile:
    """One file of an artifact, as its manifest lists it."""
    path: str          # relative to the artifact, e.g. "5d1c...e2.mgs" or "fold=0/model.bin"
    sha256: str        # lowercase hex: the object id in the store
    size: int
    records: int | None = None   # records in the file when it is a shard
    source: str | None = None    # set for files that stay outside the store: their absolute path

    @property
    def is_shard(self) -> bool:
        return self.path.endswith(".mgs")


def typed_cell(text: str) -> Any:
    """A table cell typed as the decode stage types the cells it copies into image metadata (those that
    describe the image): empty is None, True/False are booleans, whole numbers ints, other numbers without
    letters floats, the rest text."""
    t = text.strip()
    if t == "":
        return None
    if t in ("True", "False"):
        return t == "True"
    if INTEGER.fullmatch(t) and -2**63 <= int(t) < 2**63:
        return int(t)
    if not any(c.isalpha() or c == "_" for c in t):
        try:
            value = float(t)
        except ValueError:
            return t
        if math.isfinite(value):
            return value
    return t


@dataclass
class Table:
    """A CSV table of an artifact: its header and rows of typed cells, in file order."""
    path: str
    columns: list[str]
    rows: list[dict[str, Any]]

    def by_key(self) -> dict[str, dict[str, Any]]:
        """Rows by record key ``<patient_id>/<image_id>``, the key of image records."""
        for column in ("patient_id", "image_id"):
            if column not in self.columns:
                raise TableError(self.path, f"no {column} column (columns: {', '.join(self.columns)})")
        rows: dict[str, dict[str, Any]] = {}
        for line, row in enumerate(self.rows, start=2):
            key = f"{row['patient_id']}/{row['image_id']}"
            if key in rows:
                raise TableError(self.path, f"line {line}: key {key} appears twice")
            rows[key] = row
        return rows


def parse_table(text: str, path: str) -> Table:
    """Parses CSV text (header row first; RSNA's CRLF line ends are fine) into typed rows."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise TableError(path, "empty file: no header row") from None
    if len(set(header)) != len(header):
        raise TableError(path, "the header names a column twice")
    rows = []
    for cells in reader:
        if len(cells) != len(header):
            raise TableError(path, f"line {reader.line_num}: {len(cells)} fields, the header has {len(header)}")
        rows.append({column: typed_cell(cell) for column, cell in zip(header, cells)})
    return Table(path, header, rows)


class Run:
    """One run record: a unit of a stage (one ``foreach`` value, all slices merged) and its artifact."""

    def __init__(self, cache: "Cache", record_path: str):
        self.cache = cache
        self.record_path = record_path
        try:
            with open(record_path, "rb") as f:
                record = json.load(f)
            self.key: str = record["key"]
            self.stage: str = record["stage"]
            self.pipeline: str = record["pipeline"]
            self.seconds: float = record["seconds"]
            self.params: dict = record["parts"]["params"]
            self.executable: str = record["parts"]["executable"]
            self.manifest: dict = record["manifest"]
            self.files = [ArtifactFile(f["path"], f["sha256"], f["size"], f.get("records"), f.get("source"))
                          for f in self.manifest["files"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CacheError(record_path, f"not a readable run record: {error!r}") from None

    def __repr__(self) -> str:
        return f"Run(stage={self.stage!r}, key={self.key[:12]!r}, params={self.params!r})"

    @property
    def effective_params(self) -> dict:
        """The params the stage ran with: those recorded, and the declared default of each one left out (a
        param equal to its default is not recorded, so that it does not change the cache key; the stage's
        declarations are in ``state/params/<sha256 of its executable>.json``)."""
        path = os.path.join(self.cache.root, "state", "params", self.executable + ".json")
        try:
            with open(path, "rb") as f:
                declared = json.load(f).get("params", [])
        except (OSError, ValueError):
            return dict(self.params)
        defaults = {p["name"]: p["default"] for p in declared if "default" in p}
        return {**defaults, **self.params}

    @property
    def record_count(self) -> int:
        """Records in the artifact, as its manifest counts them."""
        return self.manifest["records"]

    @property
    def rejects(self) -> list[dict]:
        """Records the stage (or its inputs' stages) could not process: key, file, reason, stage."""
        return self.manifest["rejects"]

    def file(self, path: str) -> ArtifactFile:
        """The artifact's file at ``path`` (e.g. "train.csv")."""
        for f in self.files:
            if f.path == path:
                return f
        raise CacheError(self.record_path, f"the {self.stage} artifact has no file {path}")

    def location(self, file: ArtifactFile | str) -> str:
        """Where a file's bytes are now: its object in the store, or its source path; an error names a
        missing object."""
        f = self.file(file) if isinstance(file, str) else file
        where = f.source or self.cache.object_path(f.sha256)
        if not os.path.exists(where):
            raise CacheError(where, f"{f.path} of the {self.stage} run {self.key[:12]} is missing "
                                    "(deleted, or quarantined by `mammoflow verify`)")
        return where

    @property
    def shard_files(self) -> list[ArtifactFile]:
        """The artifact's shards, in path order (for a stage's own shards: key order)."""
        return [f for f in self.files if f.is_shard]

    def shards(self) -> Iterator[ShardReader]:
        """A reader for each shard of the artifact (footer and index read; records read on demand), opened as
        the iteration reaches it: 54,706 images make about 5,000 shards per stage, and all of them open at once
        would pass a common limit of 1,024 open files. Every shard is located first: a missing one is an error
        before any is read."""
        locations = [self.location(f) for f in self.shard_files]
        return (ShardReader(where) for where in locations)

    def records(self) -> Iterator[tuple[str, dict, ShardReader]]:
        """(key, metadata, reader) of every record of the artifact's shards, shard by shard; read a record's
        payload or image with ``reader.payload(key)`` / ``reader.image(key)``."""
        for reader in self.shards():
            for fields in reader.metadata():
                yield fields["key"], fields, reader

    def read_bytes(self, file: ArtifactFile | str) -> bytes:
        """A file's bytes, checked against the size and SHA-256 its manifest gives."""
        f = self.file(file) if isinstance(file, str) else file
        where = self.location(f)
        with open(where, "rb") as handle:
            data = handle.read()
        if len(data) != f.size or hashlib.sha256(data).hexdigest() != f.sha256:
            raise CacheError(where, f"{f.path} does not match its SHA-256 in run {self.key[:12]}: the file is "
                                    "corrupt (`mammoflow verify` quarantines it and the next run rebuilds it)")
        return data

    def table(self, name: str) -> Table:
        """A CSV file of the artifact (train.csv, folds.csv), verified and parsed into typed rows."""
        f = self.file(name)
        data = self.read_bytes(f)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TableError(self.location(f), f"not UTF-8: {error}") from None
        return parse_table(text, self.location(f))


class Cache:
    """A cache directory (default ``./cache``), read only."""

    def __init__(self, root: str | os.PathLike = "cache"):
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(os.path.join(self.root, "runs")):
            raise CacheError(self.root, "not a mammoflow cache: it has no runs/ folder")

    def object_path(self, sha256: str) -> str:
        return os.path.join(self.root, "objects", sha256[:2], sha256)

    def _runs_newest_first(self) -> Iterator[Run]:
        """Run records parsed one by one, newest first (by when each was committed): an ingest run over a
        large dataset is megabytes of JSON, read only when the search gets to it."""
        folder = os.path.join(self.root, "runs")
        paths = [os.path.join(folder, name) for name in os.listdir(folder)
                 if name.endswith(".json") and not name.startswith(".")]
        for path in sorted(paths, key=lambda p: (os.stat(p).st_mtime_ns, p), reverse=True):
            yield Run(self, path)

    def runs(self, stage: str | None = None) -> list[Run]:
        """Run records, newest first, of one stage name or of all."""
        return [r for r in self._runs_newest_first() if stage is None or r.stage == stage]

    def newest_run(self, stage: str, **params: Any) -> Run:
        """The newest run of ``stage`` whose params (``effective_params``: declared defaults included) include
        ``params`` (e.g. ``fold=0`` for one unit of a ``foreach`` stage); an error lists the runs there are when
        none matches."""
        for run in self._runs_newest_first():
            if run.stage == stage and all(run.effective_params.get(name) == value for name, value in params.items()):
                return run
        runs = self.runs(stage)
        if not runs:
            stages = sorted({r.stage for r in self.runs()})
            raise CacheError(self.root, f"no run of stage {stage!r}; stages with runs: {', '.join(stages) or 'none'}")
        raise CacheError(self.root, f"no run of stage {stage!r} with params {params}; "
                                    f"its runs have {[r.params for r in runs]}")
