#!/usr/bin/env python3
"""Check that a padan match set (pairs.parquet, clusters.parquet) reads in pandas, polars and DuckDB
with the documented types (docs/file-formats.md), and that file-level metadata is visible; with
REVEALED, the same for a `padan reveal` output, joined in DuckDB to the agency's extract.

Usage: check_matchset.py DIR [REVEALED EXTRACT_CSV ID_COLUMN]
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
    if len(sys.argv) not in (2, 5):
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
    check(p["person_id"].dtype == object or str(p["person_id"].dtype) in ("str", "string"),
          f"pandas: pairs person_id is {p['person_id'].dtype}, expected strings")
    check(set(p["decision"]) <= {"match", "review"}, "pandas: unexpected decision values")
    sims = [c for c in p.columns if c.startswith("sim_")]
    check(sims and all(str(p[c].dtype) == "float32" for c in sims), "pandas: sim_ columns not float32")
    c = pd.read_parquet(clusters)
    check(len(c) == manifest["counts"]["records"], "pandas: clusters rows != records")
    check(not c.duplicated(["agency", "record_id"]).any(), "pandas: a record appears twice")
    for col in ["cluster_id", "cluster_size", "agency_count"]:
        check(str(c[col].dtype) == "int64", f"pandas: {col} is {c[col].dtype}")
    # person_id: a string, "p-" and 16 hex digits, one per cluster and one cluster per person.
    check(c["person_id"].dtype == object or str(c["person_id"].dtype) in ("str", "string"),
          f"pandas: person_id is {c['person_id'].dtype}, expected strings")
    check(c["person_id"].str.fullmatch(r"p-[0-9a-f]{16}").all(), "pandas: a malformed person_id")
    check((c.groupby("cluster_id")["person_id"].nunique() == 1).all(),
          "pandas: a cluster with two person_ids")
    check((c.groupby("person_id")["cluster_id"].nunique() == 1).all(),
          "pandas: a person_id on two clusters")

    # polars
    pp = pl.read_parquet(pairs)
    check(pp.height == len(p), "polars: pairs rows differ")
    check(pp.schema["left_id"] == pl.Utf8 or pp.schema["left_id"] == pl.String, "polars: left_id not a string")
    check(pp.schema["match_probability"] == pl.Float64, "polars: match_probability not Float64")
    pc = pl.read_parquet(clusters)
    check(pc.schema["cluster_id"] == pl.Int64, "polars: cluster_id not Int64")
    check(pc.schema["person_id"] in (pl.Utf8, pl.String), "polars: person_id not a string")
    check(pp.schema["person_id"] in (pl.Utf8, pl.String), "polars: pairs person_id not a string")
    check(pc["person_id"].n_unique() == pc["cluster_id"].n_unique(),
          "polars: person_ids and clusters differ in number")

    # DuckDB, including file-level metadata.
    con = duckdb.connect()
    n = con.execute(f"select count(*) from read_parquet('{clusters}')").fetchone()[0]
    check(n == len(c), "duckdb: clusters rows differ")
    t = con.execute(
        f"select typeof(person_id) from read_parquet('{clusters}') limit 1").fetchone()[0]
    check(t == "VARCHAR", f"duckdb: person_id is {t}, expected VARCHAR")
    # pairs.parquet's person_id is the left record's, as in clusters.parquet.
    bad = con.execute(
        f"""select count(*) from read_parquet('{pairs}') p join read_parquet('{clusters}') c
            on c.agency = p.left_agency and c.record_id = p.left_id
            where c.person_id <> p.person_id""").fetchone()[0]
    check(bad == 0, f"duckdb: {bad} pairs name another person_id than clusters.parquet")
    m = con.execute(
        f"select count(*) from read_parquet('{pairs}') where decision = 'match'"
    ).fetchone()[0]
    check(m == manifest["counts"]["pairs_match"], "duckdb: match count differs from the manifest")
    kv = dict(con.execute(
        f"select decode(key) as key, decode(value) as value from parquet_kv_metadata('{pairs}')").fetchall())
    check(kv.get("padan.format") == "pairs", f"duckdb: padan.format missing: {sorted(kv)}")
    check(kv.get("padan.key_fingerprint") == manifest["key_fingerprint"], "duckdb: key fingerprint")
    check("lambda" in json.loads(kv["padan.model"]), "duckdb: padan.model unreadable")

    # Where notebooks look: the Arrow schema metadata (pyarrow) and DataFrame.attrs (pandas).
    for path, fmt in ((pairs, "pairs"), (clusters, "clusters")):
        md = pq.read_table(path).schema.metadata or {}
        check(md.get(b"padan.format") == fmt.encode(), f"pyarrow: padan.format of {fmt}: {sorted(md)}")
        check(md.get(b"padan.key_fingerprint") == manifest["key_fingerprint"].encode(),
              f"pyarrow: padan.key_fingerprint of {fmt}")
        attrs = pd.read_parquet(path).attrs
        check(attrs.get("padan.format") == fmt, f"pandas: attrs of {fmt}: {sorted(attrs)}")
        check(attrs.get("padan.schema_fingerprint") == manifest["schema_fingerprint"],
              f"pandas: attrs padan.schema_fingerprint of {fmt}")
    print(f"check_matchset: ok ({len(p)} pairs, {len(c)} records)")
    changes = os.path.join(d, "changes.parquet")
    if os.path.exists(changes):
        check_changes(changes, c, manifest, pd, pl, duckdb, clusters)
    if len(sys.argv) == 5:
        check_revealed(sys.argv[2], sys.argv[3], sys.argv[4], pd, pl, duckdb)


CHANGES = {"new", "unchanged", "grown", "shrunk", "merged", "split", "removed"}


def check_changes(path, c, manifest, pd, pl, duckdb, clusters):
    """changes.parquet (padan link --previous): one row per person now, plus removed persons."""
    ch = pd.read_parquet(path)
    for col in ["person_id", "change", "previous_person_id"]:
        check(ch[col].dtype == object or str(ch[col].dtype) in ("str", "string"),
              f"pandas: changes {col} is {ch[col].dtype}, expected strings")
    for col in ["records", "records_added", "records_changed", "records_dropped", "previous_records"]:
        check(str(ch[col].dtype) == "int64", f"pandas: changes {col} is {ch[col].dtype}")
    check(set(ch["change"]) <= CHANGES, f"pandas: unexpected change values {set(ch['change'])}")
    check((ch["person_id"].isna() == (ch["change"] == "removed")).all(),
          "pandas: person_id must be null exactly on removed rows")
    now = ch[ch["change"] != "removed"]
    check(set(now["person_id"]) == set(c["person_id"]),
          "pandas: changes.parquet and clusters.parquet name different persons")
    check(int(now["records"].sum()) == len(c), "pandas: changes records != clusters rows")
    merged = ch[ch["change"] == "merged"]
    check(all(len(x) >= 2 for x in merged["previous_person_ids"]),
          "pandas: a merge with fewer than two previous persons")
    by = manifest["previous"]["persons_by_change"]
    check(ch["change"].value_counts().to_dict() == by,
          "pandas: change counts differ from manifest.previous.persons_by_change")
    pc = pl.read_parquet(path)
    check(pc.schema["previous_person_ids"] == pl.List(pl.Utf8)
          or pc.schema["previous_person_ids"] == pl.List(pl.String),
          f"polars: previous_person_ids is {pc.schema['previous_person_ids']}")
    check(pc.schema["records"] == pl.Int64, "polars: records not Int64")
    check(pc.height == len(ch), "polars: changes rows differ")
    con = duckdb.connect()
    t = con.execute(
        f"select typeof(previous_person_ids) from read_parquet('{path}') limit 1").fetchone()[0]
    check(t == "VARCHAR[]", f"duckdb: previous_person_ids is {t}, expected VARCHAR[]")
    # New people per agency: the join an analyst writes.
    bad = con.execute(
        f"""select count(*) from read_parquet('{path}') ch
            left join read_parquet('{clusters}') c using (person_id)
            where ch.change <> 'removed' and c.person_id is null""").fetchone()[0]
    check(bad == 0, f"duckdb: {bad} persons of changes.parquet not in clusters.parquet")
    kv = dict(
        (k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
        for k, v in con.execute(f"select key, value from parquet_kv_metadata('{path}')").fetchall()
    )
    check(kv.get("padan.format") == "changes", f"duckdb: changes padan.format: {sorted(kv)}")
    print(f"check_matchset: changes ok ({len(ch)} rows: {by})")


def check_revealed(path, extract, id_column, pd, pl, duckdb):
    r = pd.read_parquet(path)
    for col in ["own_record_id", "other_agency", "other_record_id", "decision"]:
        check(r[col].dtype == object or str(r[col].dtype) in ("str", "string"),
              f"pandas: revealed {col} is {r[col].dtype}, expected strings")
    for col in ["cluster_id", "cluster_size", "agency_count"]:
        check(str(r[col].dtype) == "int64", f"pandas: revealed {col} is {r[col].dtype}")
    check(str(r["same_cluster"].dtype) == "bool", f"pandas: same_cluster is {r['same_cluster'].dtype}")
    for col in ["match_weight", "match_probability"]:
        check(str(r[col].dtype) == "float64", f"pandas: revealed {col} is {r[col].dtype}")
    check(r["own_record_id"].notna().all(), "pandas: a null own_record_id")
    for col in ["person_id", "change"]:
        check(r[col].dtype == object or str(r[col].dtype) in ("str", "string"),
              f"pandas: revealed {col} is {r[col].dtype}, expected strings")
    check(r["person_id"].str.fullmatch(r"p-[0-9a-f]{16}").all(), "pandas: revealed person_id")
    check((r["other_agency"].isna() == r["other_record_id"].isna()).all(),
          "pandas: other_agency and other_record_id null on different rows")
    pr = pl.read_parquet(path)
    check(pr.schema["own_record_id"] in (pl.Utf8, pl.String), "polars: own_record_id not a string")
    check(pr.schema["same_cluster"] == pl.Boolean, "polars: same_cluster not Boolean")
    con = duckdb.connect()
    own = con.execute(f"select count(distinct own_record_id) from read_parquet('{path}')").fetchone()[0]
    joined = con.execute(
        f"""select count(distinct r.own_record_id) from read_parquet('{path}') r
            join read_csv('{extract}', all_varchar = true) e on e."{id_column}" = r.own_record_id"""
    ).fetchone()[0]
    check(joined == own, f"duckdb: {own - joined} own_record_id values do not join to the extract")
    kv = dict(con.execute(
        f"select decode(key) as key, decode(value) as value from parquet_kv_metadata('{path}')").fetchall())
    check(kv.get("padan.format") == "revealed", f"duckdb: revealed padan.format: {sorted(kv)}")
    check(json.loads(kv["padan.counts"])["rows"] == len(r), "duckdb: padan.counts rows")
    check(r.attrs.get("padan.agency") == kv["padan.agency"], f"pandas: revealed attrs {sorted(r.attrs)}")
    print(f"check_matchset: revealed ok ({len(r)} rows, {own} own records, all join)")


main()
