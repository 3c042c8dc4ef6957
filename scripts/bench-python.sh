#!/usr/bin/env bash
# padan.encode (the Python package) against `padan encode` (the CLI) on the same 1,000,000 rows.
#
#   scripts/bench-python.sh
#
# The rows: BP2MI's extract of the ~1 M-record synthetic set (`padan synth --people 208000`,
# made here unless $WORK/synth already holds it), repeated with suffixed ids and cut at ROWS.
# They are written once as CSV and as Parquet (text columns). Then, RUNS times each, alternating:
#   cli-csv      padan encode --input rows.csv          (process start, CSV parse, encode, write)
#   cli-parquet  padan encode --input rows.parquet
#   py-table     padan.encode(table) on the same rows already in memory as a pyarrow Table
#                (Arrow C stream in; the encoded record batches come back through the Arrow C
#                stream as the returned Table: no encoded file is written)
# The figure is py-table against cli-csv and cli-parquet: the issue's goal is ≤ 10 % over the CLI.
# Wall seconds, CPU (user+sys) seconds and peak RSS of each run go to $WORK/results.md.
#
# Settings (environment): ROWS (default 1000000), RUNS (default 3), WORK (default
# /tmp/padan-bench-python), SYNTH (a `padan synth` directory to take bp2mi.csv from, read only;
# default $WORK/synth, made with PEOPLE victims, default 208000), SKIP_BUILD=1 (use the existing
# release binary and the package installed in $WORK/venv).
# Needs: cargo, python3 (venv), GNU time at /usr/bin/time.
set -euo pipefail

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
PEOPLE=${PEOPLE:-208000}
WORK=${WORK:-/tmp/padan-bench-python}
SYNTH=${SYNTH:-$WORK/synth}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/padan
PY=$WORK/venv/bin/python

mkdir -p "$WORK/time"
if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
    [[ -x $PY ]] || python3 -m venv "$WORK/venv"
    "$PY" -m pip install --quiet --disable-pip-version-check pyarrow
    # The release wheel, as a user's `pip install .` builds it.
    "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$ROOT"
fi
[[ -x $BIN ]] || { echo "bench-python: no binary at $BIN" >&2; exit 1; }

if [[ ! -f $SYNTH/bp2mi.csv ]]; then
    "$BIN" synth --people "$PEOPLE" --seed 42 --out "$SYNTH" >/dev/null
fi
"$BIN" keygen --out "$WORK/bench.key" --force >/dev/null

# The rows, as CSV and Parquet (all columns text, as the extract holds them).
(cd "$WORK" && "$PY" - "$ROWS" "$SYNTH/bp2mi.csv" <<'EOF'
import sys, pyarrow as pa, pyarrow.compute, pyarrow.csv as pacsv, pyarrow.parquet as pq
rows, src = int(sys.argv[1]), sys.argv[2]
header = open(src, encoding="utf-8").readline().rstrip("\r\n").split(",")
t = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(
    column_types={h: pa.string() for h in header}, strings_can_be_null=False))
parts, n, k = [], 0, 0
while n < rows:
    ids = pa.compute.binary_join_element_wise(t.column(0), pa.scalar(f"~{k}"), "") if k else t.column(0)
    parts.append(t.set_column(0, header[0], ids))
    n += t.num_rows
    k += 1
t = pa.concat_tables(parts).slice(0, rows).combine_chunks()
pacsv.write_csv(t, "rows.csv")
pq.write_table(t, "rows.parquet")
print(f"bench-python: {t.num_rows} rows (bp2mi repeated {k} times)", file=sys.stderr)
EOF
)

COLS=$SYNTH/bp2mi.columns.toml
KEY=$WORK/bench.key

# The Python run: the table is loaded before the clock starts; CPU and peak RSS (of the whole
# process, the input table included) from getrusage. After the clock, the returned table is
# checked against the CLI's encoded file of the same rows: rows, types and metadata.
cat >"$WORK/py_encode.py" <<'EOF'
import json, os, resource, sys, time
import pyarrow.parquet as pq
import padan
rows, cols, key, cli_file = sys.argv[1:5]
table = pq.read_table(rows)  # the rows in memory, as an analyst has them
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
enc = padan.encode(table, key=key, columns=cols)
wall = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
assert enc.table.num_rows == enc.summary["rows_encoded"]
assert enc.table.equals(pq.read_table(cli_file), check_metadata=True), \
    "padan.encode's table and padan encode's file disagree"
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mib": r1.ru_maxrss / 1024,
                  "rows": enc.summary["rows_read"]}))
EOF

# timed NAME CMD...: /usr/bin/time -v; prints "wall cpu rss_mib".
timed() {
    local name=$1
    shift
    /usr/bin/time -v -o "$WORK/time/$name.time" "$@" >"$WORK/time/$name.out" 2>&1 || {
        echo "bench-python: '$name' failed" >&2
        cat "$WORK/time/$name.out" >&2
        exit 1
    }
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
                                   for (i = 1; i <= n; i++) s = s * 60 + p[i]; w = s }
        /User time/ { u = $2 } /System time/ { y = $2 }
        /Maximum resident/ { m = $2 / 1024 }
        END { printf "%.2f %.2f %.0f\n", w, u + y, m }' "$WORK/time/$name.time"
}

results=$WORK/results.md
{
    echo "| run | rows | wall s | CPU s (user+sys) | peak RSS MiB |"
    echo "| --- | ---: | ---: | ---: | ---: |"
} >"$results"
for i in $(seq 1 "$RUNS"); do
    read -r w c m < <(timed "cli-csv-$i" "$BIN" encode --key "$KEY" --columns "$COLS" \
        --input "$WORK/rows.csv" --out "$WORK/cli.padan.parquet" --force --quiet)
    echo "| cli-csv $i | $ROWS | $w | $c | $m |" >>"$results"
    read -r w c m < <(timed "cli-parquet-$i" "$BIN" encode --key "$KEY" --columns "$COLS" \
        --input "$WORK/rows.parquet" --out "$WORK/cli-pq.padan.parquet" --force --quiet)
    echo "| cli-parquet $i | $ROWS | $w | $c | $m |" >>"$results"
    j=$("$PY" "$WORK/py_encode.py" "$WORK/rows.parquet" "$COLS" "$KEY" "$WORK/cli-pq.padan.parquet")
    echo "$j" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print("| py-table %s | %d | %.2f | %.2f | %.0f |" % (sys.argv[1], d["rows"], d["wall"], d["cpu"], d["rss_mib"]))
' "$i" >>"$results"
done
# The same encoded rows either way: each Python run checked its table against the CLI's file
# from Parquet (after its clock), and that file is the CLI's file from CSV, row for row.
"$PY" - "$WORK" <<'EOF'
import sys, pyarrow.parquet as pq
w = sys.argv[1]
a, b = pq.read_table(f"{w}/cli-pq.padan.parquet"), pq.read_table(f"{w}/cli.padan.parquet")
assert a.equals(b, check_metadata=True), "padan encode of the CSV and of the Parquet disagree"
print("bench-python: padan.encode's table equals padan encode's file", file=sys.stderr)
EOF
cat "$results"
