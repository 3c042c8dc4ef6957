"""``padan.spark``: ``padan link`` as a PySpark job, over the same Rust core.

Spark reads the encoded Parquet files, shuffles and aggregates; every computation on the data is
padan's own, on Arrow batches inside ``mapInArrow``:

1. **keys**: each record's blocking keys (keyed tokens, a salt-slot schema's slot tags, LSH band
   keys) per batch of records;
2. **blocks**: block sizes counted per (slot, key); the size caps (``max_block_size`` and the
   pair budget, the slot kinds' own) chosen on the driver from the histogram of sizes, as
   ``padan link`` chooses them;
3. **candidates**: the members of each kept block, with the list of every block each record is
   in, are shuffled by block; each block emits the pairs it *owns* (no earlier block slot holds
   both records), so each pair is emitted once, and compares them (level codes; with a salt-slot
   schema also each pair's key of the slot model: the slots and tokens it shares);
4. **fit**: the level codes counted in Spark; u from the same random pairs (compared in Spark),
   m and λ by EM on the driver; with a salt-slot schema (the default), the slot model by EM on
   the driver from the candidates per (key, code) and the records per (agency, tokens carried),
   without random pairs; the model is broadcast;
5. **score**: each candidate's match weight; pairs at or above review kept;
6. **clusters**: connected components of the scored edges, match and review (label propagation
   in Spark), then padan's own resolve per component (the same agency, duplicate and review
   rules);
7. **write**: the same match-set files (``pairs.parquet``, ``clusters.parquet``,
   ``manifest.json``), written by padan's writer on the driver.

The clusters equal ``padan link``'s on the same files and config.

From a notebook::

    from pyspark.sql import SparkSession
    import padan.spark
    spark = SparkSession.builder.master("local[2]").getOrCreate()
    manifest = padan.spark.link(spark, ["kemlu.padan.parquet", "polri.padan.parquet"], out="ms")

With ``spark-submit`` (the module's file) or ``python -m`` (local mode by default)::

    spark-submit --master "local[2]" "$(python -c 'import padan.spark as s; print(s.__file__)')" \
        kemlu.padan.parquet polri.padan.parquet --out ms
    python -m padan.spark kemlu.padan.parquet polri.padan.parquet --out ms
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from padan import _padan

__all__ = ["link", "session", "main"]

_PARSED: dict = {}


def _parsed(cls, text: str):
    """``cls.from_json(text)``, parsed once per worker process (the last text of each class is
    kept: a job broadcasts one plan and one fit)."""
    obj = _PARSED.get(cls)
    if obj is None or obj[0] != text:
        obj = _PARSED[cls] = (text, cls.from_json(text))
    return obj[1]


def _plan(text: str):
    """The plan of a worker process."""
    return _parsed(_padan.SparkPlan, text)


def _fit(text: str):
    """The fitted model of a worker process."""
    return _parsed(_padan.SparkFit, text)


def _batches(out) -> Iterator[pa.RecordBatch]:
    yield from pa.table(out).to_batches()


def _per_batch(fn: Callable[[pa.Table], Any]):
    """A ``mapInArrow`` function applying ``fn`` to each batch."""

    def run(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in it:
            if batch.num_rows:
                yield from _batches(fn(pa.Table.from_batches([batch])))

    return run


def _grouped(fn: Callable[[pa.Table], Any], key: str):
    """A ``mapInArrow`` function over rows sorted by ``key``: ``fn`` gets whole groups (a group
    cut by a batch boundary is carried to the next batch)."""

    def run(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        carry = None
        for batch in it:
            t = pa.Table.from_batches([batch])
            if carry is not None:
                t = pa.concat_tables([carry, t])
            if t.num_rows == 0:
                continue
            col = t.column(key)
            tail = pc.sum(pc.equal(col, col[-1])).as_py()
            head, carry = t.slice(0, t.num_rows - tail), t.slice(t.num_rows - tail)
            if head.num_rows:
                yield from _batches(fn(head.combine_chunks()))
        if carry is not None and carry.num_rows:
            yield from _batches(fn(carry.combine_chunks()))

    return run


def session(
    master: str | None = "local[2]", partitions: int = 8, memory: str = "2g", **conf
):
    """A SparkSession for padan: local mode on two cores by default (``master=None``: the
    master spark-submit gives), Arrow on, few shuffle partitions (raise ``partitions`` on a
    cluster)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = SparkSession.builder
    if master is not None:
        b = b.master(master)
    b = (
        b.appName("padan")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    for k, v in conf.items():
        b = b.config(k, v)
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    return s


def _agency_expr(offsets: Sequence[int]):
    from pyspark.sql import functions as F

    e = F.lit(0)
    for k, off in enumerate(offsets):
        if k:
            e = F.when(F.col("idx") >= F.lit(off), F.lit(k)).otherwise(e)
    return e


def link(
    spark,
    paths: Sequence[str],
    out: str,
    config: str | None = None,
    partitions: int | None = None,
    force: bool = False,
) -> dict:
    """Links encoded files on Spark into the match set ``out`` (as ``padan link``); returns the
    manifest as a dict. ``config``: a ``link.toml`` path (default config when None).
    Not supported (yet): ``blocking.knn_k``, ``output.candidates``, ``--decisions`` and
    ``--previous`` (:class:`padan.ConfigError`)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if os.path.isdir(out) and os.listdir(out) and not force:
        raise _padan_error("ConfigError", f"out: {out} is not empty (force=True to overwrite)")
    t0 = time.monotonic()
    timings: dict = {}
    P = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    plan = _padan.SparkPlan.create([os.fspath(p) for p in paths], config)
    sc = spark.sparkContext
    keep = StorageLevel.MEMORY_AND_DISK
    persisted = []

    def persist(df):
        df = df.persist(keep)
        persisted.append(df)
        return df

    # Read: every input with its global record index (canonical order, row order).
    t = time.monotonic()
    cols = plan.columns()
    frames = []
    for path, offset in plan.inputs():
        df = spark.read.parquet(path)
        frames.append(
            df.select(
                (F.col("_metadata.row_index") + F.lit(offset)).cast("long").alias("idx"),
                "record_id",
                *cols,
            )
        )
    records = frames[0]
    for f in frames[1:]:
        records = records.unionByName(f)
    records = persist(records)
    n = records.count()
    if n != plan.records():
        raise _padan_error("InputError", f"read {n} records, the files' metadata say {plan.records()}")
    # Term frequencies: the plan gets the histogram of how many records hold each token (they
    # bound the u of the exact level); a field with frequency bands also gives each record its
    # token's count (`tf_<field>`). Every count comes from the records as read, and the joins
    # are chained onto them once, so the query plan grows by one join per field, not doubles.
    read = records
    for field, col, per_record in plan.frequency_columns():
        tf = f"tf_{field}"
        counts = read.filter(F.col(col).isNotNull()).groupBy(col).agg(F.count("*").alias(tf))
        if per_record:
            counts = persist(counts)
        hist = (
            counts.groupBy(tf)
            .agg(F.count("*").alias("tokens"))
            .select(F.col(tf).cast("long").alias("count"), F.col("tokens").cast("long"))
            .toArrow()
        )
        plan = plan.with_token_counts(field, hist)
        if per_record:
            records = records.join(counts, col, "left")
    if records is not read:
        records = persist(records)
    plan_b = sc.broadcast(plan.to_json())
    timings["read"] = time.monotonic() - t

    # Block: keys, block sizes, caps from the size histogram, kept blocks with unique ids.
    t = time.monotonic()
    keys = persist(
        records.mapInArrow(
            _per_batch(lambda b: _plan(plan_b.value).block_keys(b)),
            "slot int, key binary, idx long",
        )
    )
    if plan.within_agency():
        blocks = keys.groupBy("slot", "key").agg(F.count("*").alias("size"))
        blocks = blocks.withColumn("pairs", F.col("size") * (F.col("size") - 1) / 2)
    else:
        per = keys.withColumn("agency", _agency_expr(plan.agency_offsets()))
        per = per.groupBy("slot", "key", "agency").agg(F.count("*").alias("c"))
        blocks = per.groupBy("slot", "key").agg(
            F.sum("c").alias("size"), F.sum(F.col("c") * (F.col("c") - 1) / 2).alias("same")
        )
        blocks = blocks.withColumn(
            "pairs", F.col("size") * (F.col("size") - 1) / 2 - F.col("same")
        ).drop("same")
    blocks = blocks.withColumn("pairs", F.col("pairs").cast("long")).filter("pairs > 0")
    blocks = persist(blocks)
    hist = (
        blocks.groupBy("slot", "size")
        .agg(F.count("*").alias("blocks"), F.sum("pairs").alias("pairs"))
        .select(
            F.col("slot").cast("long"),
            F.col("size").cast("long"),
            F.col("blocks").cast("long"),
            F.col("pairs").cast("long"),
        )
        .toArrow()
    )
    caps, stats = plan.caps(hist)
    caps_df = spark.createDataFrame(
        pa.table({"slot": pa.array(range(len(caps)), pa.int32()), "cap": pa.array(caps, pa.int64())})
    )
    kept = (
        blocks.join(F.broadcast(caps_df), "slot")
        .filter(F.col("size") <= F.col("cap"))
        .select("slot", "key")
        .withColumn("block_id", F.monotonically_increasing_id())
        .localCheckpoint()
    )
    members = persist(keys.join(kept, ["slot", "key"]).select("idx", "slot", "block_id"))
    sig = members.groupBy("idx").agg(
        F.collect_list(F.struct("slot", "block_id")).alias("sig")
    )
    rows = (
        members.join(sig, "idx")
        .join(records, "idx")
        .repartition(P, "block_id")
        .sortWithinPartitions("block_id")
    )
    timings["block"] = time.monotonic() - t

    # Compare: each block's owned pairs, with level codes and block kinds.
    t = time.monotonic()
    cands = persist(
        rows.mapInArrow(
            _grouped(lambda b: _plan(plan_b.value).compare_blocks(b, True), "block_id"),
            "a long, b long, kinds int, code long, key long",
        )
    )
    counts = (
        cands.groupBy("code", "kinds", "key")
        .agg(F.count("*").alias("n"))
        .select(F.col("code"), F.col("kinds").cast("long"), F.col("key"), F.col("n"))
        .toArrow()
    )
    n_candidates = int(pc.sum(counts.column("n")).as_py() or 0)
    timings["compare"] = time.monotonic() - t

    # Fit: u from the random pairs (compared in Spark), m and λ by EM on the driver; a salt-slot
    # schema's slot model from the records counted by the tokens they carry instead.
    t = time.monotonic()
    if plan.has_slots():
        rcounts = pa.table({k: pa.array([], pa.int64()) for k in ("code", "n")})
        carried = (
            records.mapInArrow(
                _per_batch(lambda b: _plan(plan_b.value).carried_counts(b)),
                "agency int, carried int, n long",
            )
            .groupBy("agency", "carried")
            .agg(F.sum("n").alias("n"))
            .toArrow()
        )
    else:
        rcounts = _random_counts(spark, plan, plan_b, records, P)
        carried = pa.table(
            {k: pa.array([], pa.int64()) for k in ("agency", "carried", "n")}
        )
    stats_d = json.loads(stats)
    stats_d["candidates"] = n_candidates
    pp = stats_d.get("possible_pairs", 0)
    stats_d["reduction_ratio"] = 0.0 if pp == 0 else 1.0 - n_candidates / pp
    stats = json.dumps(stats_d)
    fit = plan.fit(counts, rcounts, carried, stats)
    fit_b = sc.broadcast(fit.to_json())
    timings["fit"] = time.monotonic() - t

    # Score: match weights; pairs at or above review.
    t = time.monotonic()
    scored = persist(
        cands.mapInArrow(
            _per_batch(lambda b: _fit(fit_b.value).score(b)), "a long, b long, weight double"
        )
    )
    scored.count()
    timings["score"] = time.monotonic() - t

    # Resolve: connected components of the scored edges (match and review: review pairs can
    # join clusters, `resolution.review_support`), then padan's rule per component.
    t = time.monotonic()
    comp = _components(scored)
    edges = (
        scored.join(comp.withColumnRenamed("v", "a"), "a")
        .select("comp", "a", "b", "weight")
        .repartition(P, "comp")
        .sortWithinPartitions("comp")
    )
    roots = edges.mapInArrow(
        _grouped(lambda b: _plan(plan_b.value).resolve(_fit(fit_b.value), b), "comp"),
        "idx long, root long, refused long",
    ).toArrow()
    timings["resolve"] = time.monotonic() - t

    # Write: the per-field columns of the scored pairs and every record's id and hash
    # (computed in Spark), then padan's writer on the driver.
    t = time.monotonic()
    sp = scored.select("a", "b").withColumn("block_id", F.monotonically_increasing_id())
    sp = sp.localCheckpoint()
    fields = (
        sp.select("block_id", F.col("a").alias("idx"))
        .unionByName(sp.select("block_id", F.col("b").alias("idx")))
        .join(records, "idx")
        .repartition(P, "block_id")
        .sortWithinPartitions("block_id")
        .mapInArrow(
            _grouped(lambda b: _plan(plan_b.value).compare_fields(b), "block_id"),
            "a long, b long, levels binary, sims binary",
        )
        .toArrow()
    )
    recs = records.mapInArrow(
        _per_batch(lambda b: _plan(plan_b.value).record_hashes(b)),
        "idx long, record_id string, hash binary",
    ).toArrow()
    timings["write"] = time.monotonic() - t
    timings["total"] = time.monotonic() - t0
    manifest = plan.write(
        os.fspath(out),
        fit,
        stats,
        scored.toArrow(),
        fields,
        roots,
        recs,
        json.dumps(timings),
    )
    for df in persisted:
        df.unpersist()
    return json.loads(manifest)


def _random_counts(spark, plan, plan_b, records, P: int) -> pa.Table:
    """The random pairs (``plan.random_pairs``) compared in Spark: ``(code, n)``."""
    from pyspark.sql import functions as F

    ra, rb = plan.random_pairs()
    ids = pa.array(range(len(ra)), pa.int64())
    rp = spark.createDataFrame(
        pa.table(
            {
                "block_id": pa.concat_arrays([ids, ids]),
                "idx": pa.array(list(ra) + list(rb), pa.int64()),
            }
        )
    )
    return (
        rp.join(records, "idx")
        .repartition(P, "block_id")
        .sortWithinPartitions("block_id")
        .mapInArrow(
            _grouped(lambda b: _plan(plan_b.value).compare_blocks(b, False), "block_id"),
            "a long, b long, kinds int, code long, key long",
        )
        .groupBy("code")
        .agg(F.count("*").alias("n"))
        .toArrow()
    )


def _components(edges):
    """Connected components of the edges: ``(v, comp)`` with ``comp`` the smallest record
    of ``v``'s component, by label propagation (rounds until no label changes; each round is one
    shuffle of the edges)."""
    from pyspark.sql import functions as F

    both = edges.select(F.col("a").alias("src"), F.col("b").alias("dst")).unionByName(
        edges.select(F.col("b").alias("src"), F.col("a").alias("dst"))
    )
    both = both.localCheckpoint()
    lab = both.groupBy("src").agg(F.least(F.min("dst"), F.first("src")).alias("comp"))
    lab = lab.withColumnRenamed("src", "v").localCheckpoint()
    while True:
        prop = (
            both.join(lab.withColumnRenamed("v", "dst"), "dst")
            .groupBy("src")
            .agg(F.min("comp").alias("m"))
        )
        new = (
            lab.join(prop, lab.v == prop.src, "left")
            .select("v", F.least("comp", F.coalesce("m", "comp")).alias("comp"))
            .localCheckpoint()
        )
        changed = (
            new.join(lab.withColumnRenamed("comp", "old"), "v").filter("comp != old").count()
        )
        lab = new
        if changed == 0:
            return lab


def _padan_error(name: str, msg: str):
    from padan import errors

    return getattr(errors, name)(msg)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m padan.spark`` / ``spark-submit``: link encoded files on Spark."""
    ap = argparse.ArgumentParser(
        prog="python -m padan.spark", description="padan link on Apache Spark (local mode by default)"
    )
    ap.add_argument("inputs", nargs="+", help="encoded files (*.padan.parquet), one per agency")
    ap.add_argument("--out", required=True, help="the match-set directory")
    ap.add_argument("--config", help="link.toml (default config when absent)")
    ap.add_argument(
        "--master", default=None, help="Spark master (default: spark-submit's, else local[2])"
    )
    ap.add_argument("--partitions", type=int, default=8, help="shuffle partitions (default 8)")
    ap.add_argument("--driver-memory", default="2g", help="driver memory in local mode (2g)")
    ap.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    a = ap.parse_args(argv)
    from padan import errors

    # Under spark-submit (its gateway is already up) the master is spark-submit's.
    under_submit = bool(os.environ.get("PYSPARK_GATEWAY_PORT"))
    master = a.master or (None if under_submit else "local[2]")
    spark = session(master, a.partitions, a.driver_memory)
    try:
        m = link(spark, a.inputs, a.out, config=a.config, partitions=a.partitions, force=a.force)
    except errors.PadanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    for w in m.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    c = m["counts"]
    print(
        f"linked {c['records']} records: {c['pairs_match']} match pairs, {c['pairs_review']} "
        f"review pairs, {c['clusters']} clusters ({c['clusters_multi']} of 2+ records) -> {a.out}"
    )
    return 0


if __name__ == "__main__":
    # Run as a file (spark-submit): the package's functions, so workers import them by name.
    from padan.spark import main as _main

    sys.exit(_main())
