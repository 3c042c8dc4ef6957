"""padan from Python: privacy-preserving record linkage over the same Rust core as the CLI.

Each function does what the ``padan`` command of the same name does, by the same library code:

- :func:`encode` (at an agency): an extract (a file, or a pyarrow table, pandas or polars data
  frame) to an encoded table of keyed Bloom filters and tokens, plus its rejects;
- :func:`link` (at the linkage unit, without the key): encoded files to a match set;
- :func:`evaluate`, :func:`report`, :func:`read_match_set`.

Tables and data frames go to the core through the Arrow C stream interface
(``__arrow_c_stream__``): no Python object per row. The encoded rows come back the same way, as
the record batches the encoder made (no file written and read back); the match set is the files
the CLI writes, read back as ``pyarrow`` tables. Errors are :class:`PadanError` subclasses with the CLI's message
and exit code; no message holds a cell value.

>>> import padan
>>> kemlu = padan.encode("fixtures/synth/kemlu.csv", key="fixtures/test.key",
...                      columns="fixtures/synth/kemlu.columns.toml")
>>> kemlu.table.num_rows, kemlu.summary["rows_rejected"]
(146, 0)
>>> polri = padan.encode("fixtures/synth/polri.csv", key="fixtures/test.key",
...                      columns="fixtures/synth/polri.columns.toml")
>>> ms = padan.link([kemlu, polri])
>>> import pyarrow.compute as pc
>>> pc.count_distinct(ms.clusters["cluster_id"]).as_py() == ms.manifest["counts"]["clusters"]
True
>>> q = padan.evaluate(ms, truth="fixtures/synth/truth.csv")
>>> q["clusters"]["pairwise"]["precision"] > 0.9
True
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import warnings
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import _padan, errors
from .errors import (
    CheckFailedError,
    ConfigError,
    FileError,
    IncompatibleError,
    InputError,
    InternalError,
    PadanError,
    TooLargeError,
    TooManyRejectsError,
)

__version__: str = _padan.__version__

__all__ = [
    "encode",
    "link",
    "evaluate",
    "report",
    "read_match_set",
    "default_link_config",
    "Encoded",
    "MatchSet",
]
__all__ += errors.__all__

PathLike = Union[str, "os.PathLike[str]"]

_REJECT_COLUMNS = ["line", "record_id", "field", "column", "outcome", "reason"]


@dataclasses.dataclass
class Encoded:
    """One encoded extract: what ``padan encode`` writes.

    ``table`` is the encoded rows as a ``pyarrow.Table``: the columns, types, values, row order
    and schema metadata (the ``padan.*`` keys) of the encoded file ``padan encode`` writes, made
    from the encoder's record batches in memory; ``rejects`` the rejects file (``line, record_id,
    field, column, outcome, reason``, all text); ``summary`` the counts of ``padan encode
    --json``; ``out`` the encoded file when ``out=`` was given, else ``None``; ``lookup`` the
    pseudonym lookup's path when ids were pseudonymized.
    """

    table: pa.Table
    rejects: pa.Table
    summary: dict
    out: Optional[str] = None
    lookup: Optional[str] = None
    _tmp: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def path(self) -> str:
        """The encoded file: ``out`` when it was given; otherwise the table is written, on first
        use, to a temporary encoded file kept while this object lives (zstd, no dictionary, no
        column statistics, as padan writes it). :func:`link` reads it from there."""
        if self.out is None:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="padan-encode-")
            p = os.path.join(self._tmp.name, "encoded.padan.parquet")
            _write_encoded(self.table, p)
            self.out = p
        return self.out

    def __iter__(self):
        # `table, rejects = padan.encode(...)`
        return iter((self.table, self.rejects))


@dataclasses.dataclass
class MatchSet:
    """A match set: the files of ``padan link --out DIR``, read back.

    ``pairs``, ``clusters`` (and ``candidates``, ``changes`` when written) are ``pyarrow``
    tables; ``manifest`` is ``manifest.json`` as a dict; ``directory`` the directory (a
    temporary one, kept while this object lives, unless ``out=`` was given).
    """

    pairs: pa.Table
    clusters: pa.Table
    manifest: dict
    directory: str
    candidates: Optional[pa.Table] = None
    changes: Optional[pa.Table] = None
    _tmp: Any = dataclasses.field(default=None, repr=False, compare=False)


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def _describe(data: Any) -> str:
    t = type(data)
    return f"<{t.__module__.split('.')[0]} {t.__name__}>"


def _arrow_stream(data: Any) -> Any:
    """An object with ``__arrow_c_stream__`` for a table or data frame (pyarrow, pandas, polars,
    or anything speaking the Arrow PyCapsule interface)."""
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        # The index is not a column of the extract; object columns become Arrow strings.
        return pa.Table.from_pandas(data, preserve_index=False)
    if module == "polars":
        if hasattr(data, "collect") and not hasattr(data, "to_arrow"):
            data = data.collect()  # a LazyFrame
        if not hasattr(data, "__arrow_c_stream__"):
            return data.to_arrow()
        return data
    if hasattr(data, "__arrow_c_stream__"):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "__arrow_c_array__"):
        return pa.record_batch(data)
    raise TypeError(
        "padan.encode takes a path, a pyarrow Table / RecordBatch / RecordBatchReader, a pandas "
        f"or polars DataFrame, or an object with __arrow_c_stream__; got {type(data).__name__}"
    )


def _write_encoded(table: pa.Table, path: str) -> None:
    """An encoded table to an encoded file padan reads (its metadata in the file's key-value
    metadata); like padan's own files, without dictionaries or column statistics."""
    pq.write_table(
        table, path, compression="zstd", use_dictionary=False, write_statistics=False
    )


def _encoded_table(capsule: Any) -> pa.Table:
    """The table of an Arrow C stream capsule of encoded batches (their buffers are taken over,
    not copied)."""
    from_stream = getattr(pa.RecordBatchReader, "from_stream", None)
    if from_stream is not None:  # pyarrow >= 15

        class _Stream:
            def __arrow_c_stream__(self, requested_schema=None):
                return capsule

        reader = from_stream(_Stream())
    else:
        reader = pa.RecordBatchReader._import_from_c_capsule(capsule)
    return reader.read_all()


def _read_rejects(path: str) -> pa.Table:
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in _REJECT_COLUMNS},
            strings_can_be_null=False,
        ),
    )


def encode(
    data: Any,
    *,
    key: PathLike,
    columns: Optional[PathLike] = None,
    schema: Optional[PathLike] = None,
    agency: Optional[str] = None,
    id_column: Optional[str] = None,
    column: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    date_order: Optional[str] = None,
    out: Optional[PathLike] = None,
    rejects: Optional[PathLike] = None,
    pseudonymize_ids: bool = False,
    lookup: Optional[PathLike] = None,
    decoys: Optional[float] = None,
    max_reject_rate: float = 0.5,
    threads: Optional[int] = None,
    batch_rows: Optional[int] = None,
    encoding: Optional[str] = None,
    delimiter: Optional[str] = None,
    skip_rows: int = 0,
    sheet: Optional[str] = None,
    force: bool = False,
) -> Encoded:
    """Normalize and encode one agency extract, as ``padan encode`` does.

    ``data`` is a path (any format ``padan encode --input`` reads: delimited text, Excel,
    OpenDocument, Parquet) or a table: a ``pyarrow`` Table, RecordBatch or RecordBatchReader, a
    pandas or polars DataFrame, or any object with ``__arrow_c_stream__``. Columns that are not
    text (integers, floats, dates, timestamps, booleans) are read as a Parquet extract's are.

    Say which column feeds which field with ``columns=`` (a column map TOML file) or with
    ``id_column=`` and ``column={field: column}`` (a list of columns joins them, as ``A+B``).
    ``schema=`` is the shared schema file (default: the built-in one), ``key=`` the shared key
    file. The encoded rows come back as a table made from the encoder's record batches as they
    are made (through the Arrow C stream interface: no file is written and read back); ``out=``
    also writes the encoded file there, the CLI's file byte for byte (refused if it exists,
    unless ``force``). The rejects go to ``rejects=`` (default: ``OUT.rejects.csv``, or a
    temporary file read into ``rejects`` without ``out=``). ``pseudonymize_ids`` needs ``lookup=`` for a table (for a path the
    default is beside the extract, as in the CLI). The other options are those of
    ``padan encode``.

    Returns :class:`Encoded` (``table, rejects = padan.encode(...)`` also works). Raises
    :class:`TooManyRejectsError` above ``max_reject_rate`` (the rejects file is still written).

    >>> import pyarrow as pa, padan
    >>> t = pa.table({"id": ["a1", "a2"], "nama": ["SITI AMINAH", "BUDI"],
    ...               "lahir": ["1990-03-07", "1985-12-01"]})
    >>> enc = padan.encode(t, key="fixtures/test.key", agency="demo", id_column="id",
    ...                    column={"name": "nama", "dob": "lahir"}, date_order="ymd")
    >>> enc.table.column("record_id").to_pylist()
    ['a1', 'a2']
    >>> enc.table.schema.metadata[b"padan.agency"]
    b'demo'
    """
    out = _path(out)
    tmp = None
    if rejects is None and out is None:
        # The rejects only while they are read into a table.
        tmp = tempfile.TemporaryDirectory(prefix="padan-encode-")
        rejects = os.path.join(tmp.name, "encoded.rejects.csv")
    rejects = _path(rejects) or out + ".rejects.csv"
    is_path = isinstance(data, (str, os.PathLike))
    if pseudonymize_ids:
        if lookup is None and not is_path:
            raise ConfigError(
                "configuration error in lookup: name the pseudonym lookup file with lookup= "
                "(it stays at the agency)"
            )
    elif lookup is not None or decoys is not None:
        raise ConfigError(
            "configuration error in pseudonymize_ids: lookup= and decoys= need pseudonymize_ids=True"
        )
    flags = []
    for field, cols in (column or {}).items():
        cols = [cols] if isinstance(cols, str) else list(cols)
        flags.append(f"{field}={'+'.join(cols)}")
    if columns is not None and (id_column is not None or flags):
        raise ConfigError(
            "configuration error in columns: give columns= or id_column= with column=, not both"
        )
    source = os.fspath(data) if is_path else _arrow_stream(data)
    try:
        summary, rows = _padan.encode(
            source,
            key=os.fspath(key),
            out=out,
            rejects=rejects,
            name=_describe(data),
            schema=_path(schema),
            columns=_path(columns),
            id_column=id_column,
            column=flags,
            date_order=date_order,
            agency=agency,
            pseudonymize_ids=pseudonymize_ids,
            lookup=_path(lookup),
            decoys=decoys,
            max_reject_rate=max_reject_rate,
            threads=threads,
            batch_rows=batch_rows or 16384,
            encoding=encoding,
            delimiter=delimiter,
            skip_rows=skip_rows,
            sheet=sheet,
            force=force,
        )
        table = _encoded_table(rows)
        del rows
        rejected = _read_rejects(rejects)
    finally:
        if tmp is not None:
            tmp.cleanup()
    summary = json.loads(summary)
    return Encoded(
        table=table,
        rejects=rejected,
        summary=summary,
        out=out,
        lookup=summary.get("lookup"),
    )


def _input_path(x: Any, tmp_dir: str, i: int) -> str:
    if isinstance(x, Encoded):
        return x.path
    if isinstance(x, (str, os.PathLike)):
        return os.fspath(x)
    if isinstance(x, pa.Table):
        meta = x.schema.metadata or {}
        agency = meta.get(b"padan.agency", b"").decode("utf-8", "replace")
        name = agency if agency.replace("_", "").replace("-", "").isalnum() else f"input{i}"
        p = os.path.join(tmp_dir, f"{i:02d}-{name}.padan.parquet")
        pq.write_table(x, p)
        return p
    raise TypeError(
        "padan.link takes encoded files: paths, padan.Encoded results or pyarrow Tables read "
        f"from encoded files; got {type(x).__name__}"
    )


def link(
    inputs: Iterable[Any],
    *,
    config: Optional[PathLike] = None,
    out: Optional[PathLike] = None,
    write_candidates: bool = False,
    decisions: Sequence[PathLike] = (),
    previous: Union[None, PathLike, "MatchSet"] = None,
    refit: bool = False,
    threads: Optional[int] = None,
    force: bool = False,
) -> MatchSet:
    """Link 2..N agencies' encoded files into a match set, as ``padan link`` does.

    ``inputs`` are encoded files: paths, :class:`Encoded` results, or ``pyarrow`` tables read
    from encoded files (written to a temporary Parquet file with their metadata). ``config=`` is
    a link configuration TOML file (default: the built-in one, :func:`default_link_config`).
    ``out=`` writes the match set there, the same files as ``padan link --out`` (a directory
    that holds files is refused unless ``force``); without it a temporary directory is used.
    ``decisions``, ``previous``, ``refit`` and ``write_candidates`` are those of the CLI.
    Warnings of the run are issued as Python warnings.

    >>> import padan, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for a in ("kemlu", "polri"):
    ...     _ = padan.encode(f"fixtures/synth/{a}.csv", key="fixtures/test.key",
    ...                      columns=f"fixtures/synth/{a}.columns.toml",
    ...                      out=os.path.join(d, f"{a}.padan.parquet"))
    >>> ms = padan.link([os.path.join(d, "kemlu.padan.parquet"),
    ...                  os.path.join(d, "polri.padan.parquet")], out=os.path.join(d, "matches"))
    >>> sorted(os.listdir(ms.directory))
    ['clusters.parquet', 'manifest.json', 'pairs.parquet', 'run.json']
    >>> ms.pairs.num_rows, ms.clusters.num_rows
    (63, 282)
    """
    tmp = tempfile.TemporaryDirectory(prefix="padan-link-")
    try:
        paths = [_input_path(x, tmp.name, i) for i, x in enumerate(inputs)]
        if out is None:
            directory = os.path.join(tmp.name, "match-set")
            keep = tmp
        else:
            directory = os.fspath(out)
            keep = None
        if isinstance(previous, MatchSet):
            previous = previous.directory
        manifest = json.loads(
            _padan.link(
                paths,
                out=directory,
                config=_path(config),
                write_candidates=write_candidates,
                decisions=[os.fspath(d) for d in decisions],
                previous=_path(previous),
                refit=refit,
                threads=threads,
                force=force,
            )
        )
        for w in manifest.get("warnings", []):
            warnings.warn(w, stacklevel=2)
        ms = read_match_set(directory)
        ms._tmp = keep
        return ms
    finally:
        if out is not None:
            tmp.cleanup()


def read_match_set(directory: PathLike) -> MatchSet:
    """Read a match set written by ``padan link --out DIR`` (or :func:`link`).

    >>> import padan, tempfile, os
    >>> d = os.path.join(tempfile.mkdtemp(), "matches")
    >>> enc = [padan.encode(f"fixtures/synth/{a}.csv", key="fixtures/test.key",
    ...                     columns=f"fixtures/synth/{a}.columns.toml") for a in ("kemlu", "polri")]
    >>> _ = padan.link(enc, out=d)
    >>> ms = padan.read_match_set(d)
    >>> ms.clusters.num_rows == ms.manifest["counts"]["records"]
    True
    """
    directory = os.fspath(directory)

    def table(name: str, required: bool) -> Optional[pa.Table]:
        p = os.path.join(directory, name)
        if not os.path.exists(p):
            if required:
                raise FileError(f"reading {p}: not found (is {directory} a padan match set?)")
            return None
        return pq.read_table(p)

    manifest_path = os.path.join(directory, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    except OSError as e:
        raise FileError(f"reading {manifest_path}: {e.strerror}") from None
    except ValueError:
        raise FileError(f"reading {manifest_path}: not JSON") from None
    return MatchSet(
        pairs=table("pairs.parquet", True),
        clusters=table("clusters.parquet", True),
        manifest=manifest,
        directory=directory,
        candidates=table("candidates.parquet", False),
        changes=table("changes.parquet", False),
    )


def _dir(ms: Union[PathLike, MatchSet]) -> str:
    return ms.directory if isinstance(ms, MatchSet) else os.fspath(ms)


def _lookups(lookup: Optional[Mapping[str, PathLike]]) -> list:
    return [f"{a}={os.fspath(p)}" for a, p in (lookup or {}).items()]


def evaluate(
    match_set: Union[PathLike, MatchSet],
    *,
    truth: Optional[PathLike] = None,
    decisions: Sequence[PathLike] = (),
    lookup: Optional[Mapping[str, PathLike]] = None,
) -> dict:
    """Measure a match set against known truth, as ``padan evaluate --json`` does.

    ``truth=`` is a truth CSV (``agency,record_id,person_id``), ``decisions=`` labelled review
    files (precision and recall per score band, without truth), ``lookup={agency: file}`` the
    lookups of pseudonymized agencies. Returns the JSON of ``padan evaluate --json`` as a dict.

    >>> import padan
    >>> enc = [padan.encode(f"fixtures/synth/{a}.csv", key="fixtures/test.key",
    ...                     columns=f"fixtures/synth/{a}.columns.toml") for a in ("kemlu", "polri")]
    >>> q = padan.evaluate(padan.link(enc), truth="fixtures/synth/truth.csv")
    >>> q["clusters"]["pairwise"]["precision"]
    1.0
    """
    return json.loads(
        _padan.evaluate(
            _dir(match_set),
            truth=_path(truth),
            decisions=[os.fspath(d) for d in decisions],
            lookup=_lookups(lookup),
        )
    )


def report(
    match_set: Union[PathLike, MatchSet],
    out: PathLike,
    *,
    truth: Optional[PathLike] = None,
    lookup: Optional[Mapping[str, PathLike]] = None,
    decisions: Sequence[PathLike] = (),
    force: bool = False,
) -> str:
    """Write the auditors' HTML report of a match set, as ``padan report DIR --out OUT`` does.

    Returns ``out``. An existing ``out`` is refused unless ``force``.

    >>> import padan, tempfile, os
    >>> enc = [padan.encode(f"fixtures/synth/{a}.csv", key="fixtures/test.key",
    ...                     columns=f"fixtures/synth/{a}.columns.toml") for a in ("kemlu", "polri")]
    >>> html = padan.report(padan.link(enc), os.path.join(tempfile.mkdtemp(), "report.html"))
    >>> open(html, encoding="utf-8").read(15).lower()
    '<!doctype html>'
    """
    for w in _padan.report(
        _dir(match_set),
        out=os.fspath(out),
        truth=_path(truth),
        lookup=_lookups(lookup),
        decisions=[os.fspath(d) for d in decisions],
        force=force,
    ):
        warnings.warn(w, stacklevel=2)
    return os.fspath(out)


def default_link_config() -> str:
    """The commented default link configuration (``padan link --print-default-config``): edit
    it, write it to a file and pass that file as ``link(config=...)``.

    >>> import padan
    >>> "[blocking]" in padan.default_link_config()
    True
    """
    return _padan.default_link_config()
