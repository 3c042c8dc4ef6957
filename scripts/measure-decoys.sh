#!/usr/bin/env bash
# Measures what decoy records cost in linkage quality (docs/privacy.md, "Decoy records"):
# pairwise F1 of the clusters with and without `padan encode --decoys`, on synthetic data
# (`padan synth --people N`, 7 agencies) and on Febrl4 (../shared/data/febrl4).
#
# Every run pseudonymizes ids (decoys need it) and is evaluated with `padan evaluate --lookup`,
# which counts each decoy as a person of its own: a decoy linked to a real record is a false pair,
# a decoy that takes a real record's place costs recall.
#
# Usage: scripts/measure-decoys.sh [PADAN] [WORKDIR] [PEOPLE] [FRACTIONS...]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
padan="${1:-$here/target/release/padan}"
work="${2:-$(mktemp -d)}"
people="${3:-2000}"
shift 3 2>/dev/null || true
[ "$#" -gt 0 ] && fractions=("$@") || fractions=(0 0.05 0.2)
key="$here/fixtures/test.key"
febrl="$here/../shared/data/febrl4"
febrl="${FEBRL4_DIR:-$febrl}" # the Febrl4 reference data (default: ../shared/data/febrl4)
mkdir -p "$work"

f1() { # DIR TRUTH LOOKUP-ARGS... → "pairwise P R F1, match P R"
  "$padan" evaluate "$1" --truth "$2" "${@:3}" --json | python3 -c '
import json, sys
e = json.load(sys.stdin)
p = e["clusters"]["pairwise"]
print("%.4f %.4f %.4f  (%d decoys)" % (p["precision"], p["recall"], p["f1"], e["records"]["decoys"]))'
}

"$padan" synth --out "$work/synth" --people "$people" --force >/dev/null
agencies=$(ls "$work/synth"/*.columns.toml | xargs -n1 basename | sed 's/.columns.toml//')
echo "synthetic, $people people, 7 agencies: fraction → pairwise precision recall F1"
for f in "${fractions[@]}"; do
  out="$work/s-$f"; mkdir -p "$out"; inputs=(); lookups=()
  for a in $agencies; do
    extract="$work/synth/$a.csv"; [ -f "$extract" ] || extract="$work/synth/$a.parquet"
    extra=(); [ "$f" != 0 ] && extra=(--decoys "$f")
    "$padan" encode --key "$key" --columns "$work/synth/$a.columns.toml" --input "$extract" \
      --out "$out/$a.padan.parquet" --pseudonymize-ids --lookup "$out/$a.lookup.csv" \
      "${extra[@]}" --quiet
    inputs+=("$out/$a.padan.parquet"); lookups+=(--lookup "$a=$out/$a.lookup.csv")
  done
  "$padan" link --out "$out/ms" "${inputs[@]}" >/dev/null 2>&1
  echo "  $f  $(f1 "$out/ms" "$work/synth/truth.csv" "${lookups[@]}")"
done

if [ -f "$febrl/febrl4_a.csv" ]; then
  python3 - "$febrl/febrl4_truth.csv" "$work/febrl4_truth.csv" <<'PY'
import sys
rows = open(sys.argv[1]).read().split("\n")[1:]
with open(sys.argv[2], "w") as o:
    o.write("agency,record_id,person_id\n")
    for i, l in enumerate(r for r in rows if r):
        a, b = l.split(",")
        o.write(f"febrl4_a,{a},p{i}\nfebrl4_b,{b},p{i}\n")
PY
  echo "Febrl4 (5000 + 5000): fraction → pairwise precision recall F1"
  for f in "${fractions[@]}"; do
    out="$work/f-$f"; mkdir -p "$out"; inputs=(); lookups=()
    for s in a b; do
      extra=(); [ "$f" != 0 ] && extra=(--decoys "$f")
      "$padan" encode --key "$key" --schema "$here/fixtures/febrl4/schema.toml" \
        --columns "$here/fixtures/febrl4/columns_$s.toml" --input "$febrl/febrl4_$s.csv" \
        --out "$out/$s.padan.parquet" --pseudonymize-ids --lookup "$out/$s.lookup.csv" \
        "${extra[@]}" --quiet
      inputs+=("$out/$s.padan.parquet"); lookups+=(--lookup "febrl4_$s=$out/$s.lookup.csv")
    done
    "$padan" link --out "$out/ms" "${inputs[@]}" >/dev/null 2>&1
    echo "  $f  $(f1 "$out/ms" "$work/febrl4_truth.csv" "${lookups[@]}")"
  done
fi
