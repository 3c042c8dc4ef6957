#!/usr/bin/env bash
# padan.spark (local mode) against the single-process `padan link` on the same encoded files:
# wall time, CPU (user + sys) and peak memory of each, and whether the match sets are equal
# (clusters.parquet and pairs.parquet row for row).
#
#   scripts/bench-spark.sh ENC_DIR [WORK_DIR]
#
# ENC_DIR holds the encoded files (*.padan.parquet), e.g. from scripts/measure-schemas.sh
# (`PEOPLE=21000`: about 100,000 records). Needs a release build (target/release/padan) and the
# package with pyspark in $PYTHON (default .venv-ci/bin/python; build the package optimized with
# `pip install .`). Spark settings: MASTER (local[2]), PARTITIONS (8), DRIVER_MEMORY (4g).
#
# Memory and CPU are sampled over the whole process tree (the JVM and Spark's Python workers
# are children of the driver) every 0.2 s: peak RSS is the largest sum seen, CPU the sum of each
# process's last user + sys time (a process's last 0.2 s may be missed). Each run is also under
# `/usr/bin/time -v` when it exists: its user + sys (every waited-for descendant) and maximum
# RSS (of the largest single process, not the tree's sum) are printed after the row.
set -euo pipefail
ENC=${1:?usage: scripts/bench-spark.sh ENC_DIR [WORK_DIR]}
WORK=${2:-$(mktemp -d)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/padan}
PYTHON=${PYTHON:-$ROOT/.venv-ci/bin/python}
MASTER=${MASTER:-local[2]}
PARTITIONS=${PARTITIONS:-8}
DRIVER_MEMORY=${DRIVER_MEMORY:-4g}
mkdir -p "$WORK"
rm -rf "$WORK/ms-cli" "$WORK/ms-spark"

# Runs a command, sampling its process tree; prints "wall_s cpu_s peak_rss_mb". With
# /usr/bin/time, its -v report goes to $WORK/time-$1.txt ($1: a label, not run).
measure() {
    local label=$1
    shift
    if [[ -x /usr/bin/time ]]; then
        set -- /usr/bin/time -v -o "$WORK/time-$label.txt" "$@"
    fi
    "$PYTHON" - "$@" <<'EOF'
import os, subprocess, sys, time
tck = os.sysconf("SC_CLK_TCK")
page = os.sysconf("SC_PAGE_SIZE")
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
cpu, peak = {}, 0
def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        x = todo.pop()
        out.append(x)
        todo.extend(kids.get(x, []))
    return out
while p.poll() is None:
    rss = 0
    for pid in tree(p.pid):
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            rss += int(open(f"/proc/{pid}/statm").read().split()[1]) * page
            cpu[pid] = (int(f[11]) + int(f[12])) / tck
        except (OSError, IndexError):
            pass
    peak = max(peak, rss)
    time.sleep(0.2)
wall = time.monotonic() - t0
if p.returncode != 0:
    sys.exit(f"failed: {' '.join(sys.argv[1:])}")
print(f"{wall:.1f} {sum(cpu.values()):.1f} {peak / 2**20:.0f}")
EOF
}

records=$("$PYTHON" -c 'import sys, pyarrow.parquet as pq; print(sum(pq.ParquetFile(f).metadata.num_rows for f in sys.argv[1:]))' "$ENC"/*.padan.parquet)
echo "records: $records; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# /usr/bin/time -v's figures of a run: "wall, user+sys CPU, max RSS of one process".
time_v() {
    local f=$WORK/time-$1.txt
    [[ -f $f ]] || return 0
    awk -F': ' '/Elapsed \(wall clock\)/ {w=$2} /User time/ {u=$2} /System time/ {s=$2}
        /Maximum resident set size/ {m=$2}
        END {printf "  time -v: wall %s, user+sys %.1f s, max RSS (one process) %.0f MiB\n", w, u+s, m/1024}' "$f"
}
read -r w c m < <(measure cli nice -n 10 "$BIN" link --out "$WORK/ms-cli" --quiet "$ENC"/*.padan.parquet)
echo "| padan link (one process) | $w s | $c s | $m MB |"
time_v cli
read -r w c m < <(measure spark nice -n 10 "$PYTHON" -m padan.spark "$ENC"/*.padan.parquet \
    --out "$WORK/ms-spark" --master "$MASTER" --partitions "$PARTITIONS" --driver-memory "$DRIVER_MEMORY")
echo "| padan.spark ($MASTER, $PARTITIONS partitions) | $w s | $c s | $m MB |"
time_v spark
"$PYTHON" - "$WORK/ms-cli" "$WORK/ms-spark" <<'EOF'
import sys, pyarrow.parquet as pq
a, b = sys.argv[1:]
for name in ("clusters.parquet", "pairs.parquet"):
    x, y = pq.read_table(f"{a}/{name}"), pq.read_table(f"{b}/{name}")
    print(f"{name}: {x.num_rows} rows, {'equal' if x.equals(y) else 'DIFFERENT'}")
EOF
