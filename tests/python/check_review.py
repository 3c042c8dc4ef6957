#!/usr/bin/env python3
"""Check that a padan review file (review.parquet, review.csv from `padan review export`) and the
level-label columns of pairs.parquet (label_<field>) read in pandas, polars and DuckDB without the
manifest, with the documented types (docs/file-formats.md).

Usage: check_review.py MATCHSET_DIR REVIEW_DIR
Exits 0 when all checks pass, 1 on a failed check, 2 on bad usage or a missing module.
"""

import os
import re
import sys


def fail(msg):
    print(f"check_review: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


LABEL = re.compile(r"^(exact|missing|else|dice ≥ [0-9.]+)$")


def is_str(dtype):
    return dtype == object or str(dtype) in ("str", "string", "category")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        import duckdb
        import pandas as pd
        import polars as pl
        import pyarrow.parquet as pq
    except ImportError as e:
        print(f"check_review: missing module: {e}", file=sys.stderr)
        sys.exit(2)
    ms, rd = sys.argv[1], sys.argv[2]
    pairs = os.path.join(ms, "pairs.parquet")
    clusters = os.path.join(ms, "clusters.parquet")
    review = os.path.join(rd, "review.parquet")
    review_csv = os.path.join(rd, "review.csv")

    # pandas: the review file.
    r = pd.read_parquet(review)
    check(len(r) > 0, "pandas: empty review file")
    for c in ["pair_id", "left_agency", "left_id", "right_agency", "right_id",
              "left_person_id", "right_person_id"]:
        check(is_str(r[c].dtype), f"pandas: review {c} is {r[c].dtype}, expected strings")
    check(r["pair_id"].str.fullmatch(r"pr-[0-9a-f]{32}").all(), "pandas: a malformed pair_id")
    check(r["pair_id"].is_unique, "pandas: a pair twice")
    for c in ["match_weight", "match_probability"]:
        check(str(r[c].dtype) == "float64", f"pandas: review {c} is {r[c].dtype}")
    for c in ["band_pairs", "left_cluster_size", "right_cluster_size"]:
        check(str(r[c].dtype) == "int64", f"pandas: review {c} is {r[c].dtype}")
    check(str(r["same_cluster"].dtype) == "bool", f"pandas: same_cluster is {r['same_cluster'].dtype}")
    check(is_str(r["band"].dtype), f"pandas: band is {r['band'].dtype}, expected strings")
    labels = [c for c in r.columns if c.startswith("label_")]
    check(labels, "pandas: no label_ column in the review file")
    for c in labels:
        vals = set(r[c].dropna().astype(str))
        check(all(LABEL.match(v) for v in vals), f"pandas: review {c} has a value that is no level label")
    for c in ["decision", "reviewer", "note"]:
        check(r[c].isna().all(), f"pandas: {c} is not empty in a fresh export")
    rc = pd.read_csv(review_csv, dtype=str, keep_default_na=False)
    check(len(rc) == len(r), "pandas: review.csv and review.parquet differ in rows")
    check(list(rc["pair_id"]) == list(r["pair_id"]), "pandas: review.csv pair ids differ")

    # pandas: the label columns of pairs.parquet, next to the level numbers.
    p = pd.read_parquet(pairs)
    plabels = [c for c in p.columns if c.startswith("label_")]
    levels = [c for c in p.columns if c.startswith("level_")]
    check(len(plabels) == len(levels) > 0, "pandas: pairs.parquet lacks label_ columns")
    for c in plabels:
        f = c[len("label_"):]
        check(is_str(p[c].dtype), f"pandas: pairs {c} is {p[c].dtype}, expected strings")
        check(((p[f"level_{f}"] == 0) == (p[c] == "missing")).all(),
              f"pandas: {c} says missing where level_{f} is not 0, or the reverse")
        check(((p[f"level_{f}"] == 1) == (p[c] == "exact")).all(), f"pandas: {c} exact ≠ level 1")
    check("verdict" in p.columns, "pandas: pairs.parquet lacks the verdict column")

    # polars
    pr = pl.read_parquet(review)
    check(pr.height == len(r), "polars: review rows differ")
    check(pr.schema["pair_id"] in (pl.Utf8, pl.String), "polars: pair_id not a string")
    check(pr.schema["match_weight"] == pl.Float64, "polars: match_weight not Float64")
    pp = pl.read_parquet(pairs)
    f0 = plabels[0]
    check(pp.schema[f0] in (pl.Categorical, pl.Utf8, pl.String) or str(pp.schema[f0]).startswith("Categorical"),
          f"polars: {f0} is {pp.schema[f0]}")
    exact = pp.filter(pl.col(f0).cast(pl.Utf8) == "exact").height
    check(exact == int((p[f0] == "exact").sum()), "polars: exact count differs from pandas")

    # DuckDB: labels as text, a join to clusters on person ids, file-level metadata.
    con = duckdb.connect()
    t = con.execute(f"select typeof({f0}) from read_parquet('{pairs}') limit 1").fetchone()[0]
    check(t == "VARCHAR", f"duckdb: {f0} is {t}, expected VARCHAR")
    n = con.execute(
        f"select count(*) from read_parquet('{pairs}') where {f0} = 'exact'").fetchone()[0]
    check(n == exact, "duckdb: exact count differs")
    bad = con.execute(
        f"""select count(*) from read_parquet('{review}') r join read_parquet('{clusters}') c
            on c.agency = r.left_agency and c.record_id = r.left_id
            where c.person_id <> r.left_person_id""").fetchone()[0]
    check(bad == 0, f"duckdb: {bad} review rows name another person_id than clusters.parquet")
    kv = dict(
        (k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
        for k, v in con.execute(f"select key, value from parquet_kv_metadata('{review}')").fetchall()
    )
    check(kv.get("padan.format") == "review", f"duckdb: padan.format of review: {sorted(kv)}")
    md = pq.read_metadata(review).metadata
    check(md[b"padan.format"] == b"review", "pyarrow: padan.format of review")
    print(f"check_review: ok ({len(r)} review rows, {len(plabels)} label columns)")


main()
