#!/usr/bin/env bash
# padan side by side with clkhash/anonlink and Splink, in one run on this machine.
# Not part of CI: it downloads Python packages with pip. See README.md.
#
#   benches/anchors/run.sh                 # everything (≈ 6 min after the venv and the build, 2 cores)
#   SYNTH_PEOPLE=0 benches/anchors/run.sh  # skip the 7-agency synthetic part
#   ONLY=c benches/anchors/run.sh          # only the kernel part (a, b, c, d)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$HERE/.venv}"
WORK="${WORK:-${TMPDIR:-/tmp}/padan-anchors}"
SYNTH_PEOPLE="${SYNTH_PEOPLE:-21000}"   # ≈ 100,000 records over the 7 agencies
ONLY="${ONLY:-abcd}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

echo "== Python venv at $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# anonlink still imports pkg_resources, which setuptools 81 removed; Splink 4 (5 changed the API).
"$VENV/bin/python" -m pip install -q clkhash anonlink "setuptools<81" "splink>=4,<5" duckdb \
    pandas numpy bitarray

echo "== building padan (release) into $CARGO_TARGET_DIR"
(cd "$REPO" && cargo build --release --quiet)
PADAN="$CARGO_TARGET_DIR/release/padan"

rm -rf "$WORK"
mkdir -p "$WORK"
echo "== running the comparison (work directory $WORK)"
"$VENV/bin/python" "$HERE/anchors.py" --padan "$PADAN" --work "$WORK" \
    --synth-people "$SYNTH_PEOPLE" --only "$ONLY" --doc "$REPO/docs/performance.md" \
    2>&1 | tee "$WORK/run.log"
