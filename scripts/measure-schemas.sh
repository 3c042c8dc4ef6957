#!/usr/bin/env bash
# Link quality of several schemas on one `padan synth` set (falsified birth dates, swaps, ±1 year
# and missing dates included, at the rates of docs/synth.md): synth → encode (7 agencies) → link
# (default config, candidates kept for completeness) → evaluate. Prints one Markdown row per schema:
# records, pairwise P / R / F1 (clusters), blocking pair completeness, candidates.
#
#   PEOPLE=2100 scripts/measure-schemas.sh default unhardened     # ≈ 10,000 records
#   PEOPLE=21000 scripts/measure-schemas.sh default unhardened    # ≈ 100,000 records
#
# A schema argument is `default` (padan schema default), `unhardened` (the version-3 default,
# `padan schema v3`, with every hardening option off: a name token, a record-level filter, no
# slots; the slot default without its hardening tables would keep no comparable name at all) or
# a schema file. Needs jq and a release build (target/release/padan).
set -euo pipefail
PEOPLE=${PEOPLE:-2100}
SEED=${SEED:-42}
WORK=${WORK:-/tmp/padan-schemas-$PEOPLE}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/padan}
AGENCIES="kemlu kpppa imigrasi kemensos polri kejaksaan bp2mi"
mkdir -p "$WORK"
[[ -f $WORK/synth/truth.csv ]] || "$BIN" synth --out "$WORK/synth" --people "$PEOPLE" --seed "$SEED" >/dev/null
[[ -f $WORK/k.key ]] || "$BIN" keygen --out "$WORK/k.key" >/dev/null
"$BIN" schema default >"$WORK/default.toml"
# Every hardening table of the version-3 default dropped: the same fields and filters, no salt,
# permutation or BLIP.
"$BIN" schema v3 | awk '/^\[fields.hardening\]/ {skip=1; next} /^\[/ {skip=0} !skip' >"$WORK/unhardened.toml"
echo "| schema | records | P | R | F1 | completeness | candidates |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for s in "$@"; do
    case $s in
        default | unhardened) file=$WORK/$s.toml ;;
        *) file=$s ;;
    esac
    tag=$(basename "$file" .toml)
    enc=$WORK/enc-$tag
    rm -rf "$enc" "$WORK/ms-$tag"
    mkdir -p "$enc"
    for a in $AGENCIES; do
        ext=$WORK/synth/$a.csv
        "$BIN" encode --schema "$file" --key "$WORK/k.key" --columns "$WORK/synth/$a.columns.toml" \
            --input "$ext" --out "$enc/$a.padan.parquet" --quiet >/dev/null
    done
    cfg=$WORK/link.toml
    printf '[output]\ncandidates = true\n' >"$cfg"
    "$BIN" link --config "$cfg" --out "$WORK/ms-$tag" --quiet "$enc"/*.padan.parquet >/dev/null
    j=$("$BIN" evaluate "$WORK/ms-$tag" --truth "$WORK/synth/truth.csv" --json)
    echo "$j" >"$WORK/eval-$tag.json"
    echo "$j" | jq -r --arg t "$tag" '"| \($t) | \(.records.truth_records) | \(.clusters.pairwise.precision*10000|round/10000) | \(.clusters.pairwise.recall*10000|round/10000) | \(.clusters.pairwise.f1*10000|round/10000) | \(.blocking.all.completeness*10000|round/10000) | \(.blocking.candidates) |"'
done
