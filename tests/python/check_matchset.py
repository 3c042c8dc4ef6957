#!/usr/bin/env python3
"""Check that a padan match set (pairs.parquet, clusters.parquet) reads in pandas, polars and DuckDB
with the documented types (docs/file-formats.md), and that file-level metadata is visible.

Usage: check_matchset.py DIR
Exits 0 when all checks pass, 1 on a failed check, 2 on bad usage or a missing module.
"""

import json
import os
import sys


def fail(msg):
    print(f"check_matchset: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        import duckdb
        import pandas as pd
        import polars as pl
        import pyarrow.parquet as pq
    except ImportError as e:
        print(f"check_matchset: missing module: {e}", file=sys.stderr)
        sys.exit(2)
    d = sys.argv[1]
    pairs = os.path.join(d, "pairs.parquet")
    clusters = os.path.join(d, "clusters.parquet")
    manifest = json.load(open(os.path.join(d, "manifest.json")))

    # pandas: documented dtypes (strings as object, no float-converted integers).
    p = pd.read_parquet(pairs)
    check(len(p) == manifest["counts"]["pairs_match"] + manifest["counts"]["pairs_review"],
          f"pandas: pairs rows {len(p)} disagree with the manifest")
    for c in ["left_agency", "left_id", "right_agency", "right_id", "decision"]:
        check(p[c].dtype == object or str(p[c].dtype) in ("str", "string"),
              f"pandas: {c} is {p[c].dtype}, expected strings")
    check(str(p["match_weight"].dtype) == "float64", "pandas: match_weight is not float64")
    check(str(p["cluster_id"].dtype) == "int64", "pandas: cluster_id is not int64")
    check(str(p["same_cluster"].dtype) == "bool", "pandas: same_cluster is not bool")
    check(set(p["decision"]) <= {"match", "review"}, "pandas: unexpected decision values")
    sims = [c for c in p.columns if c.startswith("sim_")]
    check(sims and all(str(p[c].dtype) == "float32" for c in sims), "pandas: sim_ columns not float32")
    c = pd.read_parquet(clusters)
    check(len(c) == manifest["counts"]["records"], "pandas: clusters rows != records")
    check(not c.duplicated(["agency", "record_id"]).any(), "pandas: a record appears twice")
    for col in ["cluster_id", "cluster_size", "agency_count"]:
        check(str(c[col].dtype) == "int64", f"pandas: {col} is {c[col].dtype}")

    # polars
    pp = pl.read_parquet(pairs)
    check(pp.height == len(p), "polars: pairs rows differ")
    check(pp.schema["left_id"] == pl.Utf8 or pp.schema["left_id"] == pl.String, "polars: left_id not a string")
    check(pp.schema["match_probability"] == pl.Float64, "polars: match_probability not Float64")
    pc = pl.read_parquet(clusters)
    check(pc.schema["cluster_id"] == pl.Int64, "polars: cluster_id not Int64")

    # DuckDB, including file-level metadata.
    con = duckdb.connect()
    n = con.execute(f"select count(*) from read_parquet('{clusters}')").fetchone()[0]
    check(n == len(c), "duckdb: clusters rows differ")
    m = con.execute(
        f"select count(*) from read_parquet('{pairs}') where decision = 'match'"
    ).fetchone()[0]
    check(m == manifest["counts"]["pairs_match"], "duckdb: match count differs from the manifest")
    kv = dict(
        (k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
        for k, v in con.execute(
            f"select key, value from parquet_kv_metadata('{pairs}')").fetchall()
    )
    check(kv.get("padan.format") == "pairs", f"duckdb: padan.format missing: {sorted(kv)}")
    check(kv.get("padan.key_fingerprint") == manifest["key_fingerprint"], "duckdb: key fingerprint")
    check("lambda" in json.loads(kv["padan.model"]), "duckdb: padan.model unreadable")

    # pyarrow file-level metadata
    md = pq.read_metadata(clusters).metadata
    check(md[b"padan.format"] == b"clusters", "pyarrow: padan.format of clusters")
    print(f"check_matchset: ok ({len(p)} pairs, {len(c)} records)")


main()
