#!/usr/bin/env bash
# Whole-command scale benchmark: synth → keygen → encode (7 agencies, CSV in → Parquet out)
# → link (all 7 files) → evaluate, measuring wall time and peak RSS of each command with
# /usr/bin/time -v. Prints a Markdown table (also written to $WORK/results.md).
#
#   scripts/bench-scale.sh                 # ~1,000,000 records (PEOPLE=208000)
#   PEOPLE=2000 scripts/bench-scale.sh     # the default synth size (~9,600 records)
#
# Settings (environment):
#   PEOPLE    victims to synthesize; records ≈ 4.8 × PEOPLE (BP2MI adds 2 workers per victim)
#   SEED      synth seed (default 42)
#   WORK      scratch directory (default /tmp/padan-scale-$PEOPLE); reused synth data is kept
#   THREADS   --threads for encode and link (default: padan's default, all cores)
#   NO_CANDIDATES=1  also time a link run without --write-candidates (the goal run: nothing
#                    extra written); the first run always writes candidates, for completeness
#   SKIP_BUILD=1     use the existing release binary
#
# Needs: cargo, jq, GNU time at /usr/bin/time (apt-get install time).
set -euo pipefail

PEOPLE=${PEOPLE:-208000}
SEED=${SEED:-42}
WORK=${WORK:-/tmp/padan-scale-$PEOPLE}
THREADS=${THREADS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/padan
AGENCIES="kemlu kpppa imigrasi kemensos polri kejaksaan bp2mi"

for tool in jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-scale: $tool is missing" >&2; exit 1; }
done

if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
fi
[[ -x $BIN ]] || { echo "bench-scale: no binary at $BIN" >&2; exit 1; }

thread_args=()
[[ -n $THREADS ]] && thread_args=(--threads "$THREADS")

mkdir -p "$WORK/time"

# run NAME CMD... : runs CMD under /usr/bin/time -v; stdout+stderr to $WORK/time/NAME.out.
run() {
    local name=$1
    shift
    /usr/bin/time -v -o "$WORK/time/$name.time" "$@" >"$WORK/time/$name.out" 2>&1 || {
        echo "bench-scale: '$name' failed; see $WORK/time/$name.out" >&2
        cat "$WORK/time/$name.out" >&2
        exit 1
    }
}
# Wall seconds and peak RSS (MiB) from a /usr/bin/time -v report.
wall() {
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        printf "%.2f", s }' "$WORK/time/$1.time"
}
rss_mib() {
    awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$WORK/time/$1.time"
}
cpu_pct() {
    awk -F': ' '/Percent of CPU/ { print $2 }' "$WORK/time/$1.time"
}

if [[ ! -f $WORK/synth/truth.csv ]]; then
    rm -rf "$WORK/synth"
    run synth "$BIN" synth --out "$WORK/synth" --people "$PEOPLE" --seed "$SEED"
fi
[[ -f $WORK/agreement.key ]] || "$BIN" keygen --out "$WORK/agreement.key" >/dev/null
mkdir -p "$WORK/enc"

records_total=0
encode_wall_total=0
encode_rss_max=0
rows=()
for a in $AGENCIES; do
    rm -f "$WORK/enc/$a.padan.parquet" "$WORK/enc/$a.padan.parquet.rejects.csv"
    run "encode-$a" "$BIN" encode --key "$WORK/agreement.key" \
        --columns "$WORK/synth/$a.columns.toml" --input "$WORK/synth/$a.csv" \
        --out "$WORK/enc/$a.padan.parquet" "${thread_args[@]}"
    n=$(awk '$1 == "rows" { print $2; exit }' "$WORK/time/encode-$a.out")
    w=$(wall "encode-$a")
    r=$(rss_mib "encode-$a")
    records_total=$((records_total + n))
    encode_wall_total=$(awk -v a="$encode_wall_total" -v b="$w" 'BEGIN { printf "%.2f", a + b }')
    ((r > encode_rss_max)) && encode_rss_max=$r
    rows+=("| encode $a | $n | $w | $(awk -v n="$n" -v w="$w" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }') | $r | $(cpu_pct "encode-$a") |")
done
encode_rate=$(awk -v n="$records_total" -v w="$encode_wall_total" 'BEGIN { printf "%.0f", n / w }')

rm -rf "$WORK/ms"
run link "$BIN" link --out "$WORK/ms" --write-candidates "${thread_args[@]}" "$WORK"/enc/*.padan.parquet
link_wall=$(wall link)
link_rss=$(rss_mib link)
stages=$(jq -r '.timings | "read \(.read|.*100|round/100) · block \(.block|.*100|round/100) · compare \(.compare|.*100|round/100) · fit \(.fit|.*100|round/100) · score \(.score|.*100|round/100) · resolve \(.resolve|.*100|round/100) · write \(.write|.*100|round/100) · total \(.total|.*100|round/100)"' "$WORK/ms/manifest.json")
candidates=$(jq -r '.counts.candidates // empty' "$WORK/ms/manifest.json")

if [[ -n "${NO_CANDIDATES:-}" ]]; then
    rm -rf "$WORK/ms-nc"
    run link-nc "$BIN" link --out "$WORK/ms-nc" "${thread_args[@]}" "$WORK"/enc/*.padan.parquet
fi

run evaluate "$BIN" evaluate "$WORK/ms" --truth "$WORK/synth/truth.csv" --json
ev=$WORK/time/evaluate.out
# --json prints only JSON on stdout; time's report went to its own file.
pc=$(jq -r '.blocking.all.completeness' "$ev")
pc_x=$(jq -r '.blocking.cross_agency.completeness' "$ev")
f1_pairs=$(jq -r '.pairs.matched.scores.f1' "$ev")
f1_clusters=$(jq -r '.clusters.pairwise.f1' "$ev")

{
    echo "## padan scale benchmark: $records_total records ($PEOPLE people, seed $SEED)"
    echo
    echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); padan $("$BIN" --version | awk '{ print $2 }'); threads ${THREADS:-default}"
    echo
    echo "| step | records | wall s | records/s | peak RSS MiB | CPU |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
    echo "| **encode, 7 agencies (sum)** | $records_total | $encode_wall_total | **$encode_rate** | $encode_rss_max (max) | |"
    echo "| **link, 7 files, --write-candidates** | $records_total | **$link_wall** | $(awk -v n="$records_total" -v w="$link_wall" 'BEGIN { printf "%.0f", n / w }') | **$link_rss** | $(cpu_pct link) |"
    if [[ -n "${NO_CANDIDATES:-}" ]]; then
        echo "| **link, 7 files, no candidates file** | $records_total | **$(wall link-nc)** | $(awk -v n="$records_total" -v w="$(wall link-nc)" 'BEGIN { printf "%.0f", n / w }') | **$(rss_mib link-nc)** | $(cpu_pct link-nc) |"
    fi
    echo "| evaluate | | $(wall evaluate) | | $(rss_mib evaluate) | |"
    echo
    echo "Link stages (s, manifest.json, --write-candidates run): $stages"
    [[ -n $candidates ]] && echo "Candidate pairs: $candidates"
    echo
    echo "| quality | value |"
    echo "| --- | ---: |"
    echo "| blocking pair completeness (all true pairs) | $pc |"
    echo "| blocking pair completeness (cross-agency) | $pc_x |"
    echo "| F1, pairs decided match (pairs.parquet) | $f1_pairs |"
    echo "| F1, pairwise over clusters (clusters.parquet) | $f1_clusters |"
} | tee "$WORK/results.md"
