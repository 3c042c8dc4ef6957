#!/usr/bin/env python3
"""Check that a padan encoded file opens in pyarrow, pandas, polars and DuckDB.

Usage: check_encoded.py FILE ROWS [AGENCY]

For each library: the row count is ROWS, the columns are record_id plus binary filter/token
columns, and the metadata padan.agency, padan.key_fingerprint and padan.schema_fingerprint are
readable where that library's users look (and agree across them): pyarrow's
`pq.read_table(f).schema.metadata`, pandas' `read_parquet(f).attrs`, polars'
`read_parquet_metadata`, DuckDB's `parquet_kv_metadata` decoded to strings with `decode()` (the
one-liners of docs/file-formats.md). Exits 0 when all checks
pass, 1 on a failed check, 2 on bad usage or a missing module. Run by `cargo test --test cli
python` (tests/cli/python.rs); CI installs the modules in a venv (.ci/run).
"""

import sys

KEYS = ("padan.agency", "padan.key_fingerprint", "padan.schema_fingerprint")


def fail(msg):
    print(f"check_encoded: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def check_meta(lib, meta, rows, agency):
    for k in KEYS:
        check(k in meta and meta[k], f"{lib}: metadata key {k} missing or empty: {sorted(meta)}")
    check(meta["padan.rows_encoded"] == str(rows), f"{lib}: padan.rows_encoded is {meta.get('padan.rows_encoded')}")
    if agency is not None:
        check(meta["padan.agency"] == agency, f"{lib}: padan.agency is {meta['padan.agency']!r}")
    return {k: meta[k] for k in KEYS}


def with_pyarrow(path, rows, agency):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    check(table.num_rows == rows, f"pyarrow: {table.num_rows} rows, expected {rows}")
    check(table.column_names[0] == "record_id", f"pyarrow: first column {table.column_names[0]}")
    for name in table.column_names[1:]:
        t = table.schema.field(name).type
        check(str(t).startswith("fixed_size_binary"), f"pyarrow: column {name} is {t}")
    # Where a notebook looks: the Arrow schema metadata of the table read.
    raw = table.schema.metadata or {}
    meta = {k.decode(): v.decode() for k, v in raw.items()}
    # The same pairs as the Parquet file's key-value metadata.
    footer = {k.decode(): v.decode() for k, v in (pq.read_metadata(path).metadata or {}).items()}
    check(meta == footer, f"pyarrow: schema metadata {sorted(meta)} != file metadata {sorted(footer)}")
    return check_meta("pyarrow", meta, rows, agency)


def with_pandas(path, rows, agency):
    import pandas as pd

    df = pd.read_parquet(path)
    check(len(df) == rows, f"pandas: {len(df)} rows, expected {rows}")
    attrs = df.attrs
    check(all(isinstance(v, str) for v in attrs.values()), f"pandas: attrs values not strings")
    return check_meta("pandas", attrs, rows, agency)


def with_polars(path, rows, agency):
    import polars as pl

    df = pl.read_parquet(path)
    check(df.height == rows, f"polars: {df.height} rows, expected {rows}")
    check(df.columns[0] == "record_id", f"polars: first column {df.columns[0]}")
    meta = pl.read_parquet_metadata(path)
    return check_meta("polars", meta, rows, agency)


def with_duckdb(path, rows, agency):
    import duckdb

    con = duckdb.connect()
    n = con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone()[0]
    check(n == rows, f"duckdb: {n} rows, expected {rows}")
    # The documented one-liner: decode() turns the BLOBs into strings.
    kv = con.execute("SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(?)", [path]).fetchall()
    check(all(isinstance(k, str) and isinstance(v, str) for k, v in kv), "duckdb: decode() gave no strings")
    meta = dict(kv)
    # A filter column reads as a BLOB.
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", [path]).fetchall())
    check(types.get("record_filter") == "BLOB", f"duckdb: record_filter is {types.get('record_filter')}")
    return check_meta("duckdb", meta, rows, agency)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    path, rows = argv[1], int(argv[2])
    agency = argv[3] if len(argv) == 4 else None
    try:
        import pyarrow  # noqa: F401
        import pandas  # noqa: F401
        import polars  # noqa: F401
        import duckdb  # noqa: F401
    except ImportError as e:
        print(f"check_encoded: missing module: {e}", file=sys.stderr)
        return 2
    seen = {}
    for lib, fn in (("pyarrow", with_pyarrow), ("pandas", with_pandas), ("polars", with_polars), ("duckdb", with_duckdb)):
        seen[lib] = fn(path, rows, agency)
    first = seen["pyarrow"]
    for lib, meta in seen.items():
        check(meta == first, f"{lib} metadata {meta} differs from pyarrow's {first}")
    print(f"check_encoded: ok: {path}: {rows} rows in pyarrow, pandas, polars and duckdb; {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
