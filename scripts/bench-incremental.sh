#!/usr/bin/env bash
# Incremental-link benchmark: a ~1 M-record match set gets a 10,000-record extract, linked with
# `padan link --previous` against a full relink of the same files. Measures wall time, user+sys
# CPU and peak RSS of each with /usr/bin/time -v and prints a Markdown table (also written to
# $WORK/incremental.md).
#
#   scripts/bench-incremental.sh                # ~1,000,000 records (PEOPLE=208000)
#   PEOPLE=2000 scripts/bench-incremental.sh    # a quick run (~9,600 records, ADD=1000)
#
# The month: BP2MI (the largest register) sends its extract again with ADD new rows at the end
# (month 1 = its extract without its last ADD rows). The six other agencies' files are unchanged.
#
# Settings (environment):
#   PEOPLE    victims to synthesize; records ≈ 4.8 × PEOPLE (default 208000)
#   ADD       rows BP2MI adds in month 2 (default 10000)
#   SEED      synth seed (default 42)
#   WORK      scratch directory (default /tmp/padan-scale-$PEOPLE, shared with bench-scale.sh:
#             its synth data, key and encoded files are reused when present)
#   THREADS   --threads for encode and link (default: padan's default, all cores)
#   SKIP_BUILD=1     use the existing release binary
#
# Needs: cargo, jq, GNU time at /usr/bin/time.
set -euo pipefail

PEOPLE=${PEOPLE:-208000}
ADD=${ADD:-10000}
SEED=${SEED:-42}
WORK=${WORK:-/tmp/padan-scale-$PEOPLE}
THREADS=${THREADS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/padan
AGENCIES="kemlu kpppa imigrasi kemensos polri kejaksaan bp2mi"

for tool in jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-incremental: $tool is missing" >&2; exit 1; }
done
if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
fi
[[ -x $BIN ]] || { echo "bench-incremental: no binary at $BIN" >&2; exit 1; }
thread_args=()
[[ -n $THREADS ]] && thread_args=(--threads "$THREADS")
mkdir -p "$WORK/time" "$WORK/enc" "$WORK/inc"

run() {
    local name=$1
    shift
    /usr/bin/time -v -o "$WORK/time/$name.time" "$@" >"$WORK/time/$name.out" 2>&1 || {
        echo "bench-incremental: '$name' failed; see $WORK/time/$name.out" >&2
        cat "$WORK/time/$name.out" >&2
        exit 1
    }
}
wall() {
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        printf "%.2f", s }' "$WORK/time/$1.time"
}
cpu() {
    awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' \
        "$WORK/time/$1.time"
}
rss_mib() {
    awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$WORK/time/$1.time"
}

# Synth data, key and the month-2 encoded files (all seven as bench-scale.sh writes them).
if [[ ! -f $WORK/synth/truth.csv ]]; then
    rm -rf "$WORK/synth"
    run synth "$BIN" synth --out "$WORK/synth" --people "$PEOPLE" --seed "$SEED"
fi
[[ -f $WORK/agreement.key ]] || "$BIN" keygen --out "$WORK/agreement.key" >/dev/null
enc() { # agency csv out
    "$BIN" encode --key "$WORK/agreement.key" --columns "$WORK/synth/$1.columns.toml" \
        --input "$2" --out "$3" --quiet "${thread_args[@]}"
}
for a in $AGENCIES; do
    [[ -f $WORK/enc/$a.padan.parquet ]] || enc "$a" "$WORK/synth/$a.csv" "$WORK/enc/$a.padan.parquet"
done
# Month 1's BP2MI extract: all but its last $ADD rows.
rows=$(($(wc -l <"$WORK/synth/bp2mi.csv") - 1))
((ADD < rows)) || { echo "bench-incremental: ADD=$ADD ≥ BP2MI's $rows rows" >&2; exit 1; }
m1_csv=$WORK/inc/bp2mi-month1.csv
if [[ ! -f $WORK/inc/bp2mi-month1.padan.parquet ]]; then
    head -n $((rows - ADD + 1)) "$WORK/synth/bp2mi.csv" >"$m1_csv"
    enc bp2mi "$m1_csv" "$WORK/inc/bp2mi-month1.padan.parquet"
fi
month1=()
month2=()
for a in $AGENCIES; do
    month2+=("$WORK/enc/$a.padan.parquet")
    if [[ $a == bp2mi ]]; then
        month1+=("$WORK/inc/bp2mi-month1.padan.parquet")
    else
        month1+=("$WORK/enc/$a.padan.parquet")
    fi
done

# Month 1: the previous match set (not timed for the table).
rm -rf "$WORK/inc/month1"
run month1 "$BIN" link --out "$WORK/inc/month1" --quiet "${thread_args[@]}" "${month1[@]}"
# Month 2, full relink and incremental.
rm -rf "$WORK/inc/full" "$WORK/inc/incremental"
run full "$BIN" link --out "$WORK/inc/full" --quiet "${thread_args[@]}" "${month2[@]}"
run incremental "$BIN" link --previous "$WORK/inc/month1" --out "$WORK/inc/incremental" \
    --quiet "${thread_args[@]}" "${month2[@]}"

stages() {
    jq -r '.timings | "read \(.read|.*100|round/100) · block \(.block|.*100|round/100) · compare \(.compare|.*100|round/100) · fit \(.fit|.*100|round/100) · score \(.score|.*100|round/100) · resolve \(.resolve|.*100|round/100) · write \(.write|.*100|round/100) · total \(.total|.*100|round/100)"' "$1/run.json"
}
records=$(jq -r '.counts.records' "$WORK/inc/full/manifest.json")
prev=$(jq -c '.previous | {records_added, records_unchanged, pairs_compared, pairs_carried, persons_by_change}' \
    "$WORK/inc/incremental/manifest.json")
# Clusters that differ between the incremental and the full run, in records.
differ=$(
    "$BIN" --version >/dev/null
    python3 - "$WORK/inc/full/clusters.parquet" "$WORK/inc/incremental/clusters.parquet" 2>/dev/null <<'EOF' || echo "n/a (needs python3 with pyarrow)"
import sys
import pyarrow.parquet as pq
def part(p):
    t = pq.read_table(p, columns=["person_id", "agency", "record_id"]).to_pydict()
    m = {}
    for pid, a, r in zip(t["person_id"], t["agency"], t["record_id"]):
        m.setdefault(pid, []).append((a, r))
    return {frozenset(v) for v in m.values()}
a, b = part(sys.argv[1]), part(sys.argv[2])
print(sum(len(s) for s in a ^ b))
EOF
)
load=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "## padan incremental-link benchmark: $records records, +$ADD BP2MI rows ($PEOPLE people, seed $SEED)"
    echo
    echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); padan $("$BIN" --version | awk '{ print $2 }'); threads ${THREADS:-default}; load average at the end: $load"
    echo
    echo "| run | wall s | user+sys CPU s | peak RSS MiB |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| month 1, full link ($(jq -r '.counts.records' "$WORK/inc/month1/manifest.json") records) | $(wall month1) | $(cpu month1) | $(rss_mib month1) |"
    echo "| **month 2, full relink** | **$(wall full)** | $(cpu full) | $(rss_mib full) |"
    echo "| **month 2, \`link --previous\`** | **$(wall incremental)** | $(cpu incremental) | $(rss_mib incremental) |"
    echo
    echo "Stages, full relink (s): $(stages "$WORK/inc/full")"
    echo
    echo "Stages, incremental (s): $(stages "$WORK/inc/incremental")"
    echo
    echo "Incremental run: $prev"
    echo
    echo "Records in clusters that differ between the incremental and the full run: $differ"
} | tee "$WORK/incremental.md"
