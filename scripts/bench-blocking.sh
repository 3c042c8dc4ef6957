#!/usr/bin/env bash
# Blocking and linkage quality at scale, per schema: synth → encode (7 agencies, one encoding per
# schema) → link (default config, candidates kept) → evaluate, with the link timed by
# /usr/bin/time -v. Prints one Markdown row per schema: records, blocking pair completeness,
# candidates per record, pairwise P / R / F1 (clusters), link wall s, user+sys CPU s, peak RSS.
#
#   PEOPLE=2100 scripts/bench-blocking.sh default unhardened slots      # ≈ 10,000 records
#   PEOPLE=21000 scripts/bench-blocking.sh default unhardened slots     # ≈ 100,000 records
#   PEOPLE=208000 scripts/bench-blocking.sh default unhardened slots    # ≈ 1,000,000 records
#
# A schema is `default` (padan schema default), `unhardened` (the default with every hardening
# table dropped), `slots` (fixtures/kat/schema-slots.toml) or a schema file. Synth data and
# encodings are reused from $WORK. CONFIG names a link config (default: the built-in one).
# Needs jq, GNU time at /usr/bin/time and a release build (target/release/padan).
set -euo pipefail
PEOPLE=${PEOPLE:-2100}
SEED=${SEED:-42}
WORK=${WORK:-/tmp/padan-blocking-$PEOPLE}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/padan}
AGENCIES="kemlu kpppa imigrasi kemensos polri kejaksaan bp2mi"
mkdir -p "$WORK"
[[ -f $WORK/synth/truth.csv ]] || "$BIN" synth --out "$WORK/synth" --people "$PEOPLE" --seed "$SEED" >/dev/null
[[ -f $WORK/k.key ]] || "$BIN" keygen --out "$WORK/k.key" >/dev/null
[[ -f $WORK/default.toml ]] || "$BIN" schema default >"$WORK/default.toml"
[[ -f $WORK/unhardened.toml ]] ||
    awk '/^\[fields.hardening\]/ {skip=1; next} /^\[/ {skip=0} !skip' "$WORK/default.toml" >"$WORK/unhardened.toml"
[[ -f $WORK/slots.toml ]] || cp "$ROOT/fixtures/kat/schema-slots.toml" "$WORK/slots.toml"
cfg=${CONFIG:-$WORK/link.toml}
[[ -n ${CONFIG:-} ]] || printf '' >"$cfg"
echo "| schema | records | completeness | candidates / record | P | R | F1 | link wall s | user+sys CPU s | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for s in "$@"; do
    case $s in
        default | unhardened | slots) file=$WORK/$s.toml ;;
        *) file=$s ;;
    esac
    tag=$(basename "$file" .toml)
    enc=$WORK/enc-$tag
    mkdir -p "$enc"
    for a in $AGENCIES; do
        [[ -f $enc/$a.padan.parquet ]] ||
            "$BIN" encode --schema "$file" --key "$WORK/k.key" --columns "$WORK/synth/$a.columns.toml" \
                --input "$WORK/synth/$a.csv" --out "$enc/$a.padan.parquet" --quiet >/dev/null
    done
    rm -rf "$WORK/ms-$tag"
    /usr/bin/time -v -o "$WORK/time-$tag.txt" "$BIN" link --config "$cfg" --write-candidates \
        --out "$WORK/ms-$tag" --quiet "$enc"/*.padan.parquet >/dev/null
    j=$("$BIN" evaluate "$WORK/ms-$tag" --truth "$WORK/synth/truth.csv" --json)
    echo "$j" >"$WORK/eval-$tag.json"
    t=$WORK/time-$tag.txt
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$t")
    cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$t")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$t")
    echo "$j" | jq -r --arg t "$tag" --arg w "$wall" --arg c "$cpu" --arg r "$rss" \
        '"| \($t) | \(.records.truth_records) | \(.blocking.all.completeness*10000|round/10000) | \(.blocking.candidates/.records.truth_records*10|round/10) | \(.clusters.pairwise.precision*10000|round/10000) | \(.clusters.pairwise.recall*10000|round/10000) | \(.clusters.pairwise.f1*10000|round/10000) | \($w) | \($c) | \($r) |"'
done
