#!/usr/bin/env python3
"""How far padan's scoring is from the best any scorer could do with the same comparisons.

Reads a `padan link` output directory run with `[output] candidates = true` and a truth file
(`agency,record_id,person_id`, as `padan synth` writes it). Uses only the link's outputs: no
identifier is read or printed, only counts.

1. Pairwise: every candidate carries its match weight, and pairs with the same weight have the
   same comparison levels (the model cannot tell them apart). The *level oracle* knows the true
   share of every weight class and takes the purest classes first: its best F1, and at each
   precision floor the highest recall any pairwise decision on these levels can reach (the
   class at the floor taken in part: an upper bound). padan's own order (by weight) is measured
   the same way, and its `match` decisions as written.
2. Clusters: pairwise recall of the connected components of the *true* edges among the match
   pairs, the match and review pairs, and all candidates: what a perfect clustering of each edge
   set could recall.

    python3 scripts/scoring-ceiling.py OUT_DIR truth.csv

Needs duckdb, numpy and scipy; a million records (42 M candidates) take about a minute.
"""

import sys

import duckdb
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

FLOORS = (0.999, 0.995, 0.99, 0.98)


def pairs_of(sizes):
    return int((sizes * (sizes - 1) // 2).sum())


def main(out_dir, truth_file):
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE truth AS SELECT agency, record_id, "
        "dense_rank() OVER (ORDER BY person_id) - 1 AS person, row_number() OVER () - 1 AS i "
        "FROM read_csv(?, all_varchar = true)",
        [truth_file],
    )
    person = con.execute("SELECT person FROM truth ORDER BY i").fetchnumpy()["person"]
    true_pairs = pairs_of(np.bincount(person))

    def ends(file, where="true"):
        """Both ends (truth row numbers) of the pairs of a link output, and whether each is true."""
        rows = con.execute(
            f"SELECT a.i AS l, b.i AS r, c.* EXCLUDE (left_agency, left_id, right_agency, right_id) "
            f"FROM read_parquet('{out_dir}/{file}') c "
            "LEFT JOIN truth a ON c.left_agency = a.agency AND c.left_id = a.record_id "
            f"LEFT JOIN truth b ON c.right_agency = b.agency AND c.right_id = b.record_id WHERE {where}"
        ).fetchnumpy()
        if np.ma.is_masked(rows["l"]) or np.ma.is_masked(rows["r"]):
            sys.exit(f"a record of {file} is not in the truth file")
        left, right = np.asarray(rows["l"], np.int64), np.asarray(rows["r"], np.int64)
        return left, right, person[left] == person[right], rows

    cl, cr, cand_true, cand = ends("candidates.parquet")
    print(f"true pairs {true_pairs:,}; candidates {len(cl):,}; "
          f"pair completeness {cand_true.sum() / true_pairs:.4f}")

    print("pairwise decisions on the candidates:")
    weight = np.asarray(cand["match_weight"])
    # Level oracle: weight classes by true share, purest first.
    _, klass = np.unique(np.round(weight, 6), return_inverse=True)
    n_k = np.bincount(klass).astype(float)
    t_k = np.bincount(klass, weights=cand_true.astype(float))
    by_purity = np.lexsort((-n_k, -(t_k / n_k)))
    tp = np.cumsum(t_k[by_purity])
    n = np.cumsum(n_k[by_purity])
    f1 = 2 * tp / (n + true_pairs)
    best = int(f1.argmax())
    print(f"  level oracle ({len(n_k):,} weight classes): best F1 {f1[best]:.4f} "
          f"(P {tp[best] / n[best]:.4f} R {tp[best] / true_pairs:.4f})")
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
    order = np.argsort(-weight, kind="stable")
    tp = np.cumsum(cand_true[order])
    n = np.arange(1, len(order) + 1)
    w = weight[order]
    ends_of_weight = np.append(w[1:] != w[:-1], True)
    precision, recall = (tp / n)[ends_of_weight], (tp / true_pairs)[ends_of_weight]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(f1.argmax())
    parts = [f"best F1 {f1[best]:.4f} (P {precision[best]:.4f} R {recall[best]:.4f})"]
    for floor in FLOORS:
        ok = precision >= floor
        if ok.any():
            parts.append(f"R at P≥{floor}: {recall[ok].max():.4f}")
    print("  padan's weight order: " + "; ".join(parts))
    del cand, weight, order, tp, n, w

    pl, pr, pairs_true, pairs = ends("pairs.parquet")
    is_match = np.asarray(pairs["decision"]) == "match"
    tp_m = int(pairs_true[is_match].sum())
    p_m, r_m = tp_m / max(is_match.sum(), 1), tp_m / true_pairs
    print(f"  padan's match decisions: P {p_m:.4f} R {r_m:.4f} F1 {2 * p_m * r_m / (p_m + r_m):.4f}")

    def components_recall(left, right):
        size = len(person)
        graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(size, size))
        _, label = connected_components(graph, directed=False)
        _, counts = np.unique(label.astype(np.int64) * (person.max() + 1) + person, return_counts=True)
        return pairs_of(counts) / true_pairs

    print("cluster recall of the components of the true edges among:")
    sel = is_match & pairs_true
    print(f"  match pairs {components_recall(pl[sel], pr[sel]):.4f}")
    print(f"  match and review pairs {components_recall(pl[pairs_true], pr[pairs_true]):.4f}")
    print(f"  all candidates {components_recall(cl[cand_true], cr[cand_true]):.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
