#!/usr/bin/env python3
"""How far padan's scoring is from the best any scorer could do with the same comparisons.

Reads a `padan link` output directory run with `[output] candidates = true` and a truth file
(`agency,record_id,person_id`, as `padan synth` writes it). Uses only the link's outputs: no
identifier is read or printed, only counts.

1. Pairwise: every candidate carries its match weight, and pairs with the same weight have the
   same comparison levels (the model cannot tell them apart). The *level oracle* knows the true
   share of every weight class and takes the purest classes first: its best F1, and at each
   precision floor the highest recall any pairwise decision on these levels can reach (the
   class at the floor taken in part: an upper bound). padan's own order (by weight)
   is measured the same way, and its `match` decisions as written.
2. Clusters: pairwise recall of the connected components of the *true* edges among the match
   pairs, the match and review pairs, and all candidates: what a perfect clustering of each edge
   set could recall.

    python3 scripts/scoring-ceiling.py OUT_DIR truth.csv

Needs pyarrow, pandas, numpy and scipy.
"""

import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

FLOORS = (0.999, 0.995, 0.99, 0.98)


def main(out_dir, truth_file):
    truth = pd.read_csv(truth_file, dtype=str)
    index = pd.Series(np.arange(len(truth)), index=truth.agency + "|" + truth.record_id)
    person = pd.factorize(truth.person_id)[0]
    true_pairs = int(sum(n * (n - 1) // 2 for n in np.bincount(person)))

    def ends(table):
        left = index.reindex((table.left_agency + "|" + table.left_id).values).values
        right = index.reindex((table.right_agency + "|" + table.right_id).values).values
        if np.isnan(left.astype(float)).any() or np.isnan(right.astype(float)).any():
            sys.exit("a record of the link output is not in the truth file")
        return left.astype(np.int64), right.astype(np.int64)

    cols = ["left_agency", "left_id", "right_agency", "right_id"]
    cand = pq.read_table(f"{out_dir}/candidates.parquet", columns=cols + ["match_weight"]).to_pandas()
    cl, cr = ends(cand)
    cand_true = person[cl] == person[cr]
    print(f"true pairs {true_pairs:,}; candidates {len(cand):,}; "
          f"pair completeness {cand_true.sum() / true_pairs:.4f}")

    def curve(order_keys, is_true):
        tp = np.cumsum(is_true[order_keys])
        n = np.arange(1, len(order_keys) + 1)
        return tp / n, tp / true_pairs

    def report(name, precision, recall, cut_ok=None):
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        ok = np.ones(len(f1), bool) if cut_ok is None else cut_ok
        best = np.flatnonzero(ok)[f1[ok].argmax()]
        parts = [f"best F1 {f1[best]:.4f} (P {precision[best]:.4f} R {recall[best]:.4f})"]
        for floor in FLOORS:
            sel = np.flatnonzero(ok & (precision >= floor))
            if len(sel):
                j = sel[recall[sel].argmax()]
                parts.append(f"R at P≥{floor}: {recall[j]:.4f}")
        print(f"  {name}: " + "; ".join(parts))

    print("pairwise decisions on the candidates:")
    # Level oracle: weight classes by true share, purest first; a cut only between classes.
    klass = pd.factorize(cand.match_weight.round(6))[0]
    n_k = np.bincount(klass)
    t_k = np.bincount(klass, weights=cand_true)
    by_purity = np.lexsort((-n_k, -(t_k / n_k)))
    tp = np.cumsum(t_k[by_purity])
    n = np.cumsum(n_k[by_purity])
    f1 = 2 * tp / (n + true_pairs)
    best = int(f1.argmax())
    print(f"  level oracle ({len(n_k):,} weight classes): best F1 {f1[best]:.4f} "
          f"(P {tp[best] / n[best]:.4f} R {tp[best] / true_pairs:.4f})")
    # Its bound at each floor: the next class taken in part (any rule on these levels, even a
    # random one, recalls at most this much at that precision).
    bounds = []
    for floor in FLOORS:
        k = int(np.searchsorted(-(tp / n), -floor, side="right"))  # classes taken whole
        tp0, n0 = (tp[k - 1], n[k - 1]) if k > 0 else (0.0, 0.0)
        extra = 0.0
        if k < len(n_k):
            t_next, n_next = t_k[by_purity[k]], n_k[by_purity[k]]
            if floor * n_next > t_next:
                extra = t_next * min(1.0, max(0.0, (tp0 - floor * n0) / (floor * n_next - t_next)))
        bounds.append(f"R at P≥{floor} ≤ {(tp0 + extra) / true_pairs:.4f}")
    print("  level oracle: " + "; ".join(bounds))
    # padan's order: by weight, a cut only between distinct weights.
    order = np.argsort(-cand.match_weight.values, kind="stable")
    precision, recall = curve(order, cand_true)
    w = cand.match_weight.values[order]
    last_of_weight = np.append(w[1:] != w[:-1], True)
    report("padan's weight order", precision, recall, last_of_weight)

    pairs = pq.read_table(f"{out_dir}/pairs.parquet", columns=cols + ["decision"]).to_pandas()
    pl, pr = ends(pairs)
    pairs_true = person[pl] == person[pr]
    is_match = (pairs.decision == "match").values
    tp_m = int(pairs_true[is_match].sum())
    p_m, r_m = tp_m / max(is_match.sum(), 1), tp_m / true_pairs
    print(f"  padan's match decisions: P {p_m:.4f} R {r_m:.4f} F1 {2 * p_m * r_m / (p_m + r_m):.4f}")

    def components_recall(left, right):
        n = len(truth)
        graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        sizes = pd.DataFrame({"c": label, "p": person}).groupby(["c", "p"]).size()
        return int((sizes * (sizes - 1) // 2).sum()) / true_pairs

    print("cluster recall of the components of the true edges among:")
    sel = is_match & pairs_true
    print(f"  match pairs {components_recall(pl[sel], pr[sel]):.4f}")
    print(f"  match and review pairs {components_recall(pl[pairs_true], pr[pairs_true]):.4f}")
    print(f"  all candidates {components_recall(cl[cand_true], cr[cand_true]):.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
