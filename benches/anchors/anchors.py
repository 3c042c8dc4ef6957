#!/usr/bin/env python3
"""padan side by side with clkhash/anonlink and Splink, in one run on one machine.

Called by run.sh (which makes the venv and builds padan); see README.md. Every part is timed with
the wall clock in this process (padan as a subprocess, the anchors in-process). A part that fails
is recorded as failed with its error, and the run goes on.

Writes WORK/results.json and the anchors section of docs/performance.md (between the
<!-- anchors:begin --> and <!-- anchors:end --> markers), and prints the table.
"""

import argparse
import base64
import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# ../shared/data/febrl4 beside the repository (or beside its parent, for a git worktree), or
# $FEBRL4_DIR.
DATA = next((p.resolve() for p in [Path(os.environ.get("FEBRL4_DIR", "/nonexistent")),
                                    REPO / "../shared/data/febrl4",
                                    REPO / "../../shared/data/febrl4"]
             if (p / "febrl4_a.csv").exists()), REPO / "../shared/data/febrl4")

ROWS = []  # the table: dicts with part, measure, padan, anchor, anchor_value, ratio, note
FAILED = []  # (part, error)
RAW = {}  # everything measured, for results.json


def log(msg):
    print(f"[anchors {dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def row(part, measure, padan, anchor, anchor_value, better="lower", note=""):
    """Adds a table row; the ratio is padan/anchor for times, anchor-relative for rates."""
    ratio = None
    if padan is not None and anchor_value:
        ratio = padan / anchor_value
    ROWS.append(dict(part=part, measure=measure, padan=padan, anchor=anchor,
                     anchor_value=anchor_value, ratio=ratio, better=better, note=note))


def part(name):
    def deco(f):
        def wrapped(*a, **k):
            log(f"--- {name}")
            t0 = time.time()
            try:
                return f(*a, **k)
            except Exception as e:  # noqa: BLE001 - a failed part is reported, not fatal
                traceback.print_exc()
                FAILED.append((name, f"{type(e).__name__}: {e}"))
                return None
            finally:
                log(f"--- {name}: {time.time() - t0:.1f} s")
        return wrapped
    return deco


def padan(args, capture=True):
    """Runs padan; returns (seconds, stdout)."""
    cmd = [PADAN] + [str(a) for a in args]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=capture, text=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return secs, r.stdout


def prf(found, truth):
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return dict(precision=p, recall=r, f1=f, found=len(found), true=len(truth), tp=tp)


# ---------------------------------------------------------------- Febrl4

def febrl4_ids(s):
    with open(DATA / f"febrl4_{s}.csv", newline="") as f:
        return [r["rec_id"] for r in csv.DictReader(f)]


def febrl4_truth_pairs():
    with open(DATA / "febrl4_truth.csv", newline="") as f:
        return {(r["rec_id_a"], r["rec_id_b"]) for r in csv.DictReader(f)}


def febrl4_padan_truth():
    """The Febrl4 truth as padan evaluate reads it (agency,record_id,person_id)."""
    truth = WORK / "febrl4_truth_padan.csv"
    with open(DATA / "febrl4_truth.csv") as f, open(truth, "w") as o:
        o.write("agency,record_id,person_id\n")
        for i, line in enumerate(f.read().splitlines()[1:]):
            a, b = line.split(",")
            o.write(f"febrl4_a,{a},p{i}\nfebrl4_b,{b},p{i}\n")
    return truth


@part("(a) Febrl4 encode: padan encode vs clkhash")
def febrl4_encode():
    out = {}
    secs = 0.0
    for s in "ab":
        t, _ = padan(["encode", "--schema", REPO / "fixtures/febrl4/schema.toml",
                      "--key", REPO / "fixtures/test.key",
                      "--columns", REPO / f"fixtures/febrl4/columns_{s}.toml",
                      "--input", DATA / f"febrl4_{s}.csv",
                      "--out", WORK / f"febrl4_{s}.padan.parquet"])
        secs += t
    out["padan_seconds"] = secs

    from clkhash import clk
    from clkhash.schema import from_json_file
    with open(DATA / "clkhash_schema_v3.json") as f:
        schema = from_json_file(f)
    clks = {}
    t0 = time.perf_counter()
    for s in "ab":
        with open(DATA / f"febrl4_{s}.csv") as f:
            clks[s] = clk.generate_clk_from_csv(f, "anchors-secret", schema, validate=True,
                                                header=True, progress_bar=False)
    out["clkhash_seconds"] = time.perf_counter() - t0
    out["records"] = sum(len(v) for v in clks.values())
    RAW["febrl4_encode"] = out
    row("Febrl4", "encode 2×5,000 records (s)", out["padan_seconds"], "clkhash",
        out["clkhash_seconds"], note="both on all cores (clkhash: process pool)")
    return clks


@part("(b) Febrl4 link: padan link + evaluate")
def febrl4_padan_link():
    ms = WORK / "febrl4_ms"
    secs, _ = padan(["link", "--out", ms, WORK / "febrl4_a.padan.parquet",
                     WORK / "febrl4_b.padan.parquet"])
    _, js = padan(["evaluate", ms, "--truth", febrl4_padan_truth(), "--json"])
    ev = json.loads(js)["clusters"]["pairwise"]
    out = dict(seconds=secs, precision=ev["precision"], recall=ev["recall"], f1=ev["f1"])
    RAW["febrl4_padan_link"] = out
    return out


@part("(b) Febrl4 link: padan link on the same clkhash CLKs (padan import clkhash)")
def febrl4_padan_clks(clks):
    """padan's record-level mode on the CLKs anonlink links: import, link (defaults), evaluate."""
    secs = 0.0
    for s in "ab":
        b64 = WORK / f"febrl4_anchor_clks_{s}.b64"
        write_b64(b64, [c.tobytes() for c in clks[s]])
        t, _ = padan(["import", "clkhash", "--agency", f"febrl4_{s}", "--input", b64,
                      "--ids", DATA / f"febrl4_{s}.csv",
                      "--out", WORK / f"febrl4_anchor_clks_{s}.padan.parquet"])
        secs += t
    ms = WORK / "febrl4_clks_ms"
    link_secs, _ = padan(["link", "--out", ms, WORK / "febrl4_anchor_clks_a.padan.parquet",
                          WORK / "febrl4_anchor_clks_b.padan.parquet"])
    _, js = padan(["evaluate", ms, "--truth", febrl4_padan_truth(), "--json"])
    ev = json.loads(js)["clusters"]["pairwise"]
    th = json.loads((ms / "manifest.json").read_text())["config"]["thresholds"]["record_dice"]
    out = dict(seconds=link_secs, import_seconds=secs, precision=ev["precision"],
               recall=ev["recall"], f1=ev["f1"], record_dice=th)
    RAW["febrl4_padan_clks"] = out
    return out


@part("(b) Febrl4 link: anonlink (candidates + greedy solve, best threshold)")
def febrl4_anonlink(clks):
    from anonlink.candidate_generation import find_candidate_pairs
    from anonlink.similarities import dice_coefficient_accelerated
    from anonlink.solving import greedy_solve
    ids = {"a": febrl4_ids("a"), "b": febrl4_ids("b")}
    truth = febrl4_truth_pairs()
    sweep = []
    for th in [0.70, 0.75, 0.80, 0.85, 0.90, 0.95]:
        t0 = time.perf_counter()
        cands = find_candidate_pairs([clks["a"], clks["b"]], dice_coefficient_accelerated, th)
        groups = greedy_solve(cands)
        secs = time.perf_counter() - t0
        found = set()
        for g in groups:
            g = sorted(g)
            if len(g) == 2 and g[0][0] == 0 and g[1][0] == 1:
                found.add((ids["a"][g[0][1]], ids["b"][g[1][1]]))
        m = prf(found, truth)
        m.update(threshold=th, seconds=secs)
        sweep.append(m)
        log(f"anonlink threshold {th:.2f}: F1 {m['f1']:.4f} in {secs:.3f} s")
    best = max(sweep, key=lambda m: m["f1"])
    RAW["febrl4_anonlink"] = dict(best=best, sweep=sweep)
    return best


def splink_febrl4_frames():
    import pandas as pd
    frames = []
    for s in "ab":
        df = pd.read_csv(DATA / f"febrl4_{s}.csv", dtype=str, keep_default_na=False)
        df = df.replace({"": None})
        frames.append(df)
    return frames


def splink_settings(uid, comparisons, blocking):
    from splink import SettingsCreator
    return SettingsCreator(link_type="link_only", unique_id_column_name=uid,
                           comparisons=comparisons,
                           blocking_rules_to_generate_predictions=blocking,
                           retain_intermediate_calculation_columns=False,
                           retain_matching_columns=False)


@part("(b) Febrl4 link: Splink 4 on DuckDB (EM, threshold 0.9)")
def febrl4_splink():
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, block_on
    frames = splink_febrl4_frames()
    t0 = time.perf_counter()
    settings = splink_settings("rec_id", [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
        cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]),
        cl.LevenshteinAtThresholds("postcode", [1, 2]),
        cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
    ], [block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
        block_on("soc_sec_id"), block_on("postcode")])
    linker = Linker(frames, settings, db_api=DuckDBAPI())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"))
    pred = linker.inference.predict(threshold_match_probability=0.9).as_pandas_dataframe()
    secs = time.perf_counter() - t0
    found = set()
    for l_ds, l, r in zip(pred["source_dataset_l"], pred["rec_id_l"], pred["rec_id_r"]):
        a, b = (l, r) if str(l).endswith("-org") else (r, l)
        found.add((a, b))
    m = prf(found, febrl4_truth_pairs())
    m["seconds"] = secs
    RAW["febrl4_splink"] = m
    return m


def clk_rows(pc, an):
    if pc is None or an is None:
        return
    note = (f"the same clkhash CLKs: padan import clkhash + link (record-level mode, default "
            f"record_dice {pc['record_dice']}; import adds {pc['import_seconds']:.2f} s) vs "
            f"anonlink (threshold {an['threshold']:.2f}, best F1 of the sweep)")
    row("Febrl4 CLKs", "link time (s)", pc["seconds"], "anonlink", an["seconds"], note=note)
    for k in ["precision", "recall", "f1"]:
        row("Febrl4 CLKs", f"link {k if k != 'f1' else 'F1'}", pc[k], "anonlink", an[k], "higher")


def link_rows(p, an, sp):
    if p is None:
        return
    for name, m in [("anonlink", an), ("Splink", sp)]:
        if m is None:
            continue
        extra = f" (threshold {m['threshold']:.2f}, best F1 of the sweep)" if "threshold" in m else ""
        row("Febrl4", "link time (s)", p["seconds"], name, m["seconds"], note=name + extra)
        row("Febrl4", "link precision", p["precision"], name, m["precision"], "higher")
        row("Febrl4", "link recall", p["recall"], name, m["recall"], "higher")
        row("Febrl4", "link F1", p["f1"], name, m["f1"], "higher")


# ---------------------------------------------------------------- kernel

def write_b64(path, filters):
    with open(path, "w") as f:
        for b in filters:
            f.write(base64.b64encode(b).decode() + "\n")


def bitarrays(filters):
    from bitarray import bitarray
    out = []
    for b in filters:
        x = bitarray(endian="big")
        x.frombytes(b)
        out.append(x)
    return out


def time_anonlink_kernel(a, b, threshold, reps):
    from anonlink.similarities import dice_coefficient_accelerated
    best = float("inf")
    kept = None
    for _ in range(reps):
        t0 = time.perf_counter()
        sims, _ = dice_coefficient_accelerated([a, b], threshold)
        best = min(best, time.perf_counter() - t0)
        kept = len(sims)
    return best, kept


def padan_kernel(pa, pb, threshold, threads, reps):
    args = ["bench", "dice", "--json", "--no-portable", "--threshold", threshold,
            "--reps", reps, "--input-a", pa, "--input-b", pb]
    if threads:
        args += ["--threads", threads]
    _, js = padan(args)
    rep = json.loads(js)
    k = [r for r in rep["rows"] if r["kernel"] == "all_pairs_above"][0]
    return dict(seconds=k["seconds"], rate=k["comparisons_per_second"], kept=rep["pairs_kept"],
                threads=k["threads"], isa=k["isa"], comparisons=k["comparisons"])


def kernel_compare(label, pa, pb, a_bits, b_bits, threshold, reps):
    n = len(a_bits) * len(b_bits)
    an_secs, an_kept = time_anonlink_kernel(a_bits, b_bits, threshold, reps)
    res = dict(comparisons=n, threshold=threshold,
               anonlink=dict(seconds=an_secs, rate=n / an_secs, kept=an_kept))
    for threads in [1, None]:
        p = padan_kernel(pa, pb, threshold, threads, reps)
        res[f"padan_{p['threads']}t"] = p
        if p["kept"] != an_kept:
            log(f"WARNING: {label}: padan kept {p['kept']} pairs, anonlink {an_kept}")
        row(label, f"Dice comparisons/s, padan {p['threads']} thread(s), {p['isa']}",
            p["rate"], "anonlink (1 thread)", n / an_secs, "higher",
            note=f"{n:,} pairs ≥ {threshold}: padan kept {p['kept']}, anonlink {an_kept}")
    return res


@part("(c) kernel: 20,000 × 20,000 random 1024-bit filters")
def kernel_random(n):
    import numpy as np
    rng = np.random.default_rng(42)
    a = rng.integers(0, 256, size=(n, 128), dtype=np.uint8)
    b = rng.integers(0, 256, size=(n, 128), dtype=np.uint8)
    # Plant near-copies (8 bits flipped) so that both kernels have something to find.
    for j in range(0, n, 1000):
        b[j] = a[j]
        for bit in rng.integers(0, 1024, size=8):
            b[j, bit // 8] ^= 1 << (bit % 8)
    fa, fb = [bytes(r) for r in a], [bytes(r) for r in b]
    for s, fs in [("a", fa), ("b", fb)]:
        write_b64(WORK / f"random_{s}.b64", fs)
        padan(["import", "clkhash", "--agency", f"random_{s}", "--input",
               WORK / f"random_{s}.b64", "--out", WORK / f"random_{s}.padan.parquet"])
    res = kernel_compare(f"random {n:,}×{n:,}", WORK / "random_a.padan.parquet",
                         WORK / "random_b.padan.parquet", bitarrays(fa), bitarrays(fb), 0.95, 3)
    RAW["kernel_random"] = res


@part("(c) kernel: Febrl4 clkhash CLKs via padan import clkhash")
def kernel_febrl4():
    fs = {}
    for s in "ab":
        src = DATA / f"febrl4_clks_{s}.b64"
        padan(["import", "clkhash", "--agency", f"febrl4_{s}", "--input", src,
               "--out", WORK / f"clks_{s}.padan.parquet"])
        fs[s] = [base64.b64decode(l) for l in src.read_text().split()]
    res = kernel_compare("Febrl4 CLKs 5,000×5,000", WORK / "clks_a.padan.parquet",
                         WORK / "clks_b.padan.parquet", bitarrays(fs["a"]), bitarrays(fs["b"]),
                         0.8, 5)
    RAW["kernel_febrl4_clks"] = res


# ---------------------------------------------------------------- synthetic 7 agencies

MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "mei", "jun", "jul", "agu", "sep", "okt", "nov", "des"])}
MONTHS.update({"agt": 8, "ags": 8, "may": 5, "aug": 8, "oct": 10, "dec": 12})


def parse_date(s, order):
    """A rough plaintext date parser for Splink's input (YYYY-MM-DD or None)."""
    import re
    if not s:
        return None
    s = s.strip().lower()
    if re.fullmatch(r"\d{5}", s):  # spreadsheet serial
        try:
            return str(dt.date(1899, 12, 30) + dt.timedelta(days=int(s)))
        except OverflowError:
            return None
    parts = re.split(r"[\s/\-.]+", s)
    if len(parts) != 3:
        return None
    if not parts[1].isdigit():
        mon = MONTHS.get(parts[1][:3])
        if mon is None:
            return None
        parts[1] = str(mon)
    try:
        p = [int(x) for x in parts]
    except ValueError:
        return None
    if order == "ymd":
        y, m, d = p
    elif order == "mdy":
        m, d, y = p
    else:
        d, m, y = p
    if y < 100:
        y += 2000 if y <= 30 else 1900
    try:
        return str(dt.date(y, m, d))
    except ValueError:
        return None


def norm_sex(s):
    if not s:
        return None
    s = s.strip().upper()
    if s in ("P", "F", "PEREMPUAN", "PR", "2", "W", "WANITA"):
        return "F"
    if s in ("L", "M", "LAKI-LAKI", "LK", "1", "PRIA"):
        return "M"
    return None


def read_synth_agency(d, agency):
    """One synth agency as plaintext columns: rec_id, name, dob, sex, birthplace, nik, passport."""
    import tomllib
    import unicodedata
    import pandas as pd
    cmap = tomllib.loads((d / f"{agency}.columns.toml").read_text())
    raw = (d / f"{agency}.csv").read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("windows-1252")
    first = text.split("\n", 1)[0]
    delim = max([",", ";", "\t"], key=first.count)
    rows = list(csv.DictReader(text.splitlines(), delimiter=delim))
    cols = cmap["columns"]

    def get(r, field):
        src = cols.get(field)
        if src is None:
            return None
        src = [src] if isinstance(src, str) else src
        v = " ".join((r.get(c) or "").strip() for c in src).strip()
        return v or None

    def clean(v):
        if v is None:
            return None
        v = unicodedata.normalize("NFKD", v)
        v = "".join(c for c in v if not unicodedata.combining(c)).lower()
        v = "".join(c if c.isalnum() or c == " " else " " for c in v)
        return " ".join(v.split()) or None

    out = []
    order = cmap.get("date_order", "dmy")
    for r in rows:
        name = clean(get(r, "name")) or ""
        toks = name.split()
        nik = get(r, "nik")
        out.append(dict(
            rec_id=f"{agency}|{r[cmap['id_column']]}",
            first_name=toks[0] if toks else None,
            last_name=toks[-1] if len(toks) > 1 else None,
            name=name or None,
            dob=parse_date(get(r, "dob"), order),
            sex=norm_sex(get(r, "sex")),
            birthplace=clean(get(r, "birthplace")),
            nik="".join(c for c in nik if c.isdigit()) or None if nik else None,
            passport=clean(get(r, "passport")),
        ))
    return pd.DataFrame(out)


@part("(d) synthetic 7 agencies: padan synth + encode + link + evaluate")
def synth_padan(people):
    d = WORK / "synth"
    padan(["synth", "--out", d, "--people", people, "--force"])
    agencies = sorted(p.name[:-len(".columns.toml")] for p in d.glob("*.columns.toml"))
    records = sum(1 for _ in open(d / "truth.csv")) - 1
    enc = 0.0
    files = []
    for ag in agencies:
        out = WORK / f"synth_{ag}.padan.parquet"
        t, _ = padan(["encode", "--key", REPO / "fixtures/test.key", "--columns",
                      d / f"{ag}.columns.toml", "--input", d / f"{ag}.csv", "--out", out])
        enc += t
        files.append(out)
    ms = WORK / "synth_ms"
    secs, _ = padan(["link", "--out", ms] + files)
    _, js = padan(["evaluate", ms, "--truth", d / "truth.csv", "--json"])
    ev = json.loads(js)["clusters"]["pairwise"]
    res = dict(agencies=agencies, records=records, encode_seconds=enc, link_seconds=secs,
               precision=ev["precision"], recall=ev["recall"], f1=ev["f1"])
    RAW["synth_padan"] = res
    return res


@part("(d) synthetic 7 agencies: Splink 4 on DuckDB (plaintext)")
def synth_splink():
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, block_on
    d = WORK / "synth"
    agencies = sorted(p.name[:-len(".columns.toml")] for p in d.glob("*.columns.toml"))
    t_prep = time.perf_counter()
    frames = [read_synth_agency(d, ag) for ag in agencies]
    prep = time.perf_counter() - t_prep
    t0 = time.perf_counter()
    settings = splink_settings("rec_id", [
        cl.NameComparison("first_name"),
        cl.NameComparison("last_name"),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.ExactMatch("sex"),
        cl.JaroWinklerAtThresholds("birthplace", [0.9]),
        cl.LevenshteinAtThresholds("nik", [1, 2]),
        cl.LevenshteinAtThresholds("passport", [1, 2]),
    ], [block_on("dob"), block_on("first_name", "last_name"), block_on("nik"),
        block_on("passport"), block_on("last_name", "substr(dob, 1, 4)")])
    linker = Linker(frames, settings, db_api=DuckDBAPI(),
                    input_table_aliases=agencies)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "dob")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name"))
    pred = linker.inference.predict(threshold_match_probability=0.9)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=0.9).as_pandas_dataframe()
    secs = time.perf_counter() - t0
    # Pairwise P/R over clusters (as padan evaluate's clusters.pairwise).
    truth = pd.read_csv(d / "truth.csv", dtype=str)
    truth["rec_id"] = truth["agency"] + "|" + truth["record_id"]
    pid = dict(zip(truth["rec_id"], truth["person_id"]))

    def pairs_of(groups):
        s = set()
        for g in groups:
            g = sorted(g)
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    s.add((g[i], g[j]))
        return s
    found = pairs_of(clusters.groupby("cluster_id")["rec_id"].apply(list))
    tg = {}
    for r, p in pid.items():
        tg.setdefault(p, []).append(r)
    m = prf(found, pairs_of(tg.values()))
    m.update(seconds=secs, prep_seconds=prep)
    RAW["synth_splink"] = m
    return m


# ---------------------------------------------------------------- output

def versions():
    import importlib.metadata as md
    v = {"python": platform.python_version()}
    for p in ["clkhash", "anonlink", "splink", "duckdb", "pandas", "numpy", "bitarray",
              "setuptools"]:
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            v[p] = "not installed"
    v["padan"] = subprocess.run([PADAN, "--version"], capture_output=True,
                                text=True).stdout.strip()
    v["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True,
                                text=True).stdout.strip()
    return v


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        fl = [l for l in open("/proc/cpuinfo") if l.startswith("flags")][0].split()
        flags = ", ".join(f for f in ["avx2", "avx512f", "avx512_vpopcntdq", "popcnt"] if f in fl)
    except (OSError, IndexError):
        pass
    return dict(nproc=os.cpu_count(), cpu=cpu, simd=flags, os=platform.platform(),
                load=" / ".join(f"{x:.2f}" for x in os.getloadavg()))


def fmt(v):
    if v is None:
        return "—"
    if abs(v) >= 1e6:
        return f"{v / 1e6:,.1f} M"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.3f}"
    return f"{v:.4f}"


def table():
    lines = ["| data | measure | padan | anchor | anchor's value | padan / anchor | notes |",
             "| --- | --- | ---: | --- | ---: | ---: | --- |"]
    for r in ROWS:
        ratio = "—" if r["ratio"] is None else (
            f"{r['ratio']:.2f}×" if r["ratio"] >= 0.1 else f"{r['ratio']:.2g}×")
        better = "lower is better" if r["better"] == "lower" else "higher is better"
        note = "; ".join(x for x in [better, r["note"]] if x)
        lines.append(f"| {r['part']} | {r['measure']} | {fmt(r['padan'])} | {r['anchor']} | "
                     f"{fmt(r['anchor_value'])} | {ratio} | {note} |")
    return "\n".join(lines)


def write_doc(path, total, mach, vers):
    t = table()
    sweep = ""
    if "febrl4_anonlink" in RAW:
        sweep = "\n\nanonlink's threshold sweep on Febrl4 (candidates + greedy solve):\n\n" + \
            "| threshold | precision | recall | F1 | seconds |\n| ---: | ---: | ---: | ---: | ---: |\n" + \
            "\n".join(f"| {m['threshold']:.2f} | {m['precision']:.4f} | {m['recall']:.4f} | "
                      f"{m['f1']:.4f} | {m['seconds']:.3f} |"
                      for m in RAW["febrl4_anonlink"]["sweep"])
    failed = "\n".join(f"- **{p}** failed: `{e}`" for p, e in FAILED) or "- none"
    text = f"""## Against the anchors: clkhash/anonlink and Splink (issue #6)

Written by `benches/anchors/run.sh` (see benches/anchors/README.md) on
{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, in one run of {total / 60:.1f} minutes on one
machine. Ratios are padan / anchor: for times lower is better, for rates and quality higher is
better. padan runs as the release binary (subprocess, wall clock including process start and file
reading); the anchors run in-process in Python (wall clock of the library calls only).

{t}{sweep}

### Machine of this run

- CPU: {mach['cpu']} — {mach['nproc']} logical CPUs (nproc); SIMD: {mach['simd']}
- OS: {mach['os']}
- Load average (1 / 5 / 15 min) at the end of the run: {mach['load']} (at the start:
  {LOAD0}) — anything above 0 that is not this run is other work sharing the cores.

### Versions

{chr(10).join(f"- {k}: {v}" for k, v in vers.items())}

### What each row is

- **Febrl4 encode**: `padan encode` of febrl4_a.csv and febrl4_b.csv (fixtures/febrl4 schema and
  column maps, fixtures/test.key), summed, against clkhash 0.18 `clk.generate_clk_from_csv` with
  ../shared/data/febrl4/clkhash_schema_v3.json (1024-bit CLKs) and a fixed secret.
- **Febrl4 link**: `padan link` of the two encoded files (default config) and `padan evaluate`
  (pairwise precision/recall/F1 of the clusters) against (1) anonlink
  `find_candidate_pairs(dice_coefficient_accelerated)` + `greedy_solve` on the clkhash CLKs,
  thresholds 0.70…0.95 by 0.05, the row shows the best-F1 threshold and its time (one threshold,
  not the sweep); (2) Splink {vers.get('splink')} on DuckDB, plaintext: name comparisons on given
  name and surname, Levenshtein on date of birth, postcode and soc_sec_id, Jaro–Winkler on suburb,
  five blocking rules, λ from a deterministic rule, u by random sampling, m by EM on two blocks,
  pairs above match probability 0.9; time is settings + training + prediction.
- **Kernel**: the same filters for both: `padan bench dice --input-a/--input-b` on files written
  by `padan import clkhash` (best of the repetitions, 1 thread and all cores) against anonlink
  `dice_coefficient_accelerated` on the same bytes as bitarrays (single-threaded C++; best of the
  repetitions). Random: 20,000 × 20,000 1024-bit filters from numpy (seed 42) with 20 planted
  near-copies, threshold 0.95. Febrl4: the committed clkhash CLKs, threshold 0.8. "kept" must be
  equal on both sides.
- **Febrl4 CLKs link**: the CLKs clkhash wrote in the encode row, written as base64 CLK files,
  `padan import clkhash` (with the record ids), `padan link` with the default config (record-level
  mode: every cross-agency pair by the all-pairs Dice kernel, match at `thresholds.record_dice`,
  greedy clusters with at most one record per agency) and `padan evaluate`, against anonlink's
  best threshold on the same CLKs (the row above).
- **Synthetic 7 agencies**: `padan synth` (7 agencies), `padan encode` of each, `padan link` of the
  7 files, `padan evaluate` against truth.csv; Splink on the same CSVs after a plaintext
  preparation in Python (column maps applied, names case-folded and split into first/last token,
  dates parsed to ISO, sex codes mapped; the preparation is not timed), clustered at 0.9,
  pairwise precision/recall/F1 of the clusters.

### Failed or missing parts

{failed}
"""
    begin, end = "<!-- anchors:begin -->", "<!-- anchors:end -->"
    old = path.read_text() if path.exists() else ""
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)


def main():
    global PADAN, WORK
    ap = argparse.ArgumentParser()
    ap.add_argument("--padan", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--doc", default=str(REPO / "docs/performance.md"),
                    help="the doc whose anchors section (between the markers) is replaced")
    ap.add_argument("--kernel-n", type=int, default=20000)
    ap.add_argument("--synth-people", type=int, default=0,
                    help="people for the 7-agency synth set (0: skip part d)")
    ap.add_argument("--only", default="abcd")
    a = ap.parse_args()
    PADAN = a.padan
    WORK = Path(a.work)
    WORK.mkdir(parents=True, exist_ok=True)
    global LOAD0
    LOAD0 = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    t0 = time.time()
    if "a" in a.only or "b" in a.only:
        clks = febrl4_encode()
        if "b" in a.only:
            p = febrl4_padan_link()
            an = febrl4_anonlink(clks) if clks else None
            pc = febrl4_padan_clks(clks) if clks else None
            sp = febrl4_splink()
            link_rows(p, an, sp)
            clk_rows(pc, an)
    if "c" in a.only:
        kernel_random(a.kernel_n)
        kernel_febrl4()
    if "d" in a.only and a.synth_people > 0:
        p = synth_padan(a.synth_people)
        sp = synth_splink() if p else None
        if p:
            note = f"{len(p['agencies'])} agencies, {p['records']:,} records"
            if sp:
                row("synth", "link time (s)", p["link_seconds"], "Splink", sp["seconds"],
                    note=note + f"; padan encode adds {p['encode_seconds']:.1f} s, "
                    f"Splink's untimed preparation took {sp['prep_seconds']:.1f} s")
                for k in ["precision", "recall", "f1"]:
                    row("synth", f"link {k}", p[k], "Splink", sp[k], "higher")
            else:
                row("synth", "link time (s)", p["link_seconds"], "Splink", None, note=note)
    total = time.time() - t0
    mach, vers = machine(), versions()
    RAW.update(machine=mach, versions=vers, failed=FAILED, rows=ROWS, total_seconds=total)
    (WORK / "results.json").write_text(json.dumps(RAW, indent=2, default=str))
    print()
    print(table())
    if FAILED:
        print("\nFAILED:", *[f"  {p}: {e}" for p, e in FAILED], sep="\n")
    write_doc(Path(a.doc), total, mach, vers)
    log(f"wrote {a.doc} and {WORK / 'results.json'} in {total:.0f} s")


if __name__ == "__main__":
    main()
