//! Resolution: build clusters of records (people) from scored edges, best edge first.
//!
//! Edges are visited in decreasing weight (ties broken by `a`, then `b`), joining clusters with a
//! union–find. A merge that would put two records of one agency in the same cluster is refused,
//! except when within-agency duplicates are allowed (`within_agency`) and **every pair of
//! same-agency records the merge brings together is itself an edge of at least
//! `duplicate_min_weight`**: real extracts hold the same person twice in one agency, and a cluster
//! accepts such a duplicate on the evidence of the duplicate's own pair, never through other
//! agencies' records alone. `one_to_one` refuses every agency-overlapping merge (greedy one-to-one
//! assignment for two agencies).
//!
//! Agency sets are `u64` bitmasks when every agency index is below 64, sorted lists otherwise.
//!
//! **Human verdicts** ([`Constraints`], from `padan link --decisions`). A *must-link* joins its two
//! records before any scored edge, whatever the agency constraint (a reviewer said they are one
//! person). A *cannot-link* forbids every merge that would put its two records in one cluster:
//! the scored edges are then visited as before and an edge that would join them is refused, so a
//! cluster that only a chain of edges held together (A–B–C with a cannot-link A–C) splits at the
//! weakest link of that chain. A cannot-link between two records that the must-links already
//! join cannot be honoured: it is counted as a conflict ([`Clustering::conflicts`]).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A scored link between two records (indices into the record list), normally `a < b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// One record.
    pub a: u32,
    /// The other record.
    pub b: u32,
    /// Match weight (only edges at or above the match threshold are given).
    pub weight: f64,
}

/// Constraints of [`clusters`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterOptions {
    /// Refuse every merge that would put two records of one agency together (two agencies:
    /// greedy one-to-one assignment). Takes precedence over `within_agency`.
    pub one_to_one: bool,
    /// Allow a cluster to hold several records of one agency when each such pair is strong.
    pub within_agency: bool,
    /// Weight from which a pair of records of one agency may share a cluster (with
    /// `within_agency`): every such pair a merge creates must be an edge this heavy.
    pub duplicate_min_weight: f64,
    /// Review edges needed to join two clusters the match edges left apart (0: review edges
    /// never join; see [`clusters_review`]).
    #[serde(default)]
    pub review_support: u32,
}

/// The result of [`clusters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clustering {
    /// Cluster of each record; clusters are numbered `0..n_clusters` in order of their smallest
    /// record index (so record 0 is in cluster 0).
    pub cluster_of: Vec<u32>,
    /// Number of clusters, singletons included.
    pub n_clusters: u32,
    /// Edges between two different clusters whose merge the agency constraint refused.
    pub merges_refused: u64,
    /// Edges whose merge a cannot-link refused.
    pub refused_by_cannot_link: u64,
    /// Cannot-links between two records that the must-links join (not honoured).
    pub conflicts: u64,
}

/// Human verdicts on record pairs (indices into the record list): see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Pairs decided `match`: always in one cluster.
    pub must_link: Vec<(u32, u32)>,
    /// Pairs decided `non-match`: never in one cluster (unless the must-links join them).
    pub cannot_link: Vec<(u32, u32)>,
}

impl Constraints {
    /// Whether there is no verdict.
    pub fn is_empty(&self) -> bool {
        self.must_link.is_empty() && self.cannot_link.is_empty()
    }
}

/// The cannot-links of each cluster, kept at its root: the records at the other end.
struct CannotSets(Vec<Vec<u32>>);

impl CannotSets {
    fn new(n: usize, cannot: &[(u32, u32)]) -> CannotSets {
        let mut v = vec![Vec::new(); if cannot.is_empty() { 0 } else { n }];
        for &(a, b) in cannot {
            if a != b {
                v[a as usize].push(b);
                v[b as usize].push(a);
            }
        }
        CannotSets(v)
    }

    /// Whether joining roots `x` and `y` would put the two records of a cannot-link together.
    fn forbids(&self, uf: &mut UnionFind, x: u32, y: u32) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let (small, other) = if self.0[x as usize].len() <= self.0[y as usize].len() {
            (x, y)
        } else {
            (y, x)
        };
        let list = &self.0[small as usize];
        list.iter().any(|&r| uf.find(r) == other)
    }

    fn absorb(&mut self, into: u32, from: u32) {
        if self.0.is_empty() {
            return;
        }
        let from_list = std::mem::take(&mut self.0[from as usize]);
        self.0[into as usize].extend(from_list);
    }
}

/// Union–find with union by size and path halving.
struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let gp = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
        x
    }

    /// Joins two roots; returns `(kept root, absorbed root)`.
    fn union_roots(&mut self, x: u32, y: u32) -> (u32, u32) {
        let (big, small) = if self.size[x as usize] >= self.size[y as usize] {
            (x, y)
        } else {
            (y, x)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        (big, small)
    }
}

/// The agencies of each cluster, kept at the cluster's root.
trait AgencySets {
    fn overlaps(&self, x: u32, y: u32) -> bool;
    /// Adds the agencies of root `from` to root `into` (`from` is no longer a root).
    fn absorb(&mut self, into: u32, from: u32);
}

/// Fast path: every agency index < 64.
struct Masks(Vec<u64>);

impl AgencySets for Masks {
    fn overlaps(&self, x: u32, y: u32) -> bool {
        self.0[x as usize] & self.0[y as usize] != 0
    }
    fn absorb(&mut self, into: u32, from: u32) {
        self.0[into as usize] |= self.0[from as usize];
    }
}

/// Fallback: a sorted, deduplicated list of agencies per root.
struct Lists(Vec<Vec<u16>>);

impl AgencySets for Lists {
    fn overlaps(&self, x: u32, y: u32) -> bool {
        let (s, l) = (&self.0[x as usize], &self.0[y as usize]);
        let (s, l) = if s.len() <= l.len() { (s, l) } else { (l, s) };
        s.iter().any(|a| l.binary_search(a).is_ok())
    }
    fn absorb(&mut self, into: u32, from: u32) {
        let from_list = std::mem::take(&mut self.0[from as usize]);
        let into_list = &mut self.0[into as usize];
        into_list.extend_from_slice(&from_list);
        into_list.sort_unstable();
        into_list.dedup();
    }
}

/// Clusters `agency_of.len()` records from `edges` (see the module docs for the rules).
///
/// Self-loops and NaN-weighted edges are ignored; an edge given as `a > b` is treated as `b–a`.
/// Deterministic: the result does not depend on the order of `edges` nor on thread count.
///
/// # Panics
/// If an edge names a record `>= agency_of.len()`, or there are more than `u32::MAX` records.
pub fn clusters(agency_of: &[u16], edges: &[Edge], opts: &ClusterOptions) -> Clustering {
    clusters_with(agency_of, edges, opts, &Constraints::default())
}

/// [`clusters`] honouring human verdicts (see the module docs). Deterministic like it: the result
/// depends neither on the order of `edges` nor on the order of the constraints.
///
/// # Panics
/// If an edge or a constraint names a record `>= agency_of.len()`.
pub fn clusters_with(
    agency_of: &[u16],
    edges: &[Edge],
    opts: &ClusterOptions,
    constraints: &Constraints,
) -> Clustering {
    clusters_review(agency_of, edges, &[], opts, constraints)
}

/// [`clusters_with`], then the **review edges** (pairs scored in the review band): two clusters
/// that the match edges left apart join when at least `opts.review_support` distinct review edges
/// link them, and the merge puts no two records of one agency together and breaks no
/// cannot-link. The support is counted on the clusters of the match edges; the pairs of clusters
/// are then joined strongest first (their best review edge, ties by cluster). One review edge
/// alone is a pair the model doubts; several between the same two groups of records are the same
/// person seen through several documents. Deterministic like [`clusters`].
///
/// # Panics
/// Like [`clusters_with`], also for a review edge naming a record `>= agency_of.len()`.
pub fn clusters_review(
    agency_of: &[u16],
    edges: &[Edge],
    review: &[Edge],
    opts: &ClusterOptions,
    constraints: &Constraints,
) -> Clustering {
    let n = agency_of.len();
    let in_range = |&(a, b): &(u32, u32)| (a as usize) < n && (b as usize) < n;
    assert!(
        constraints.must_link.iter().all(in_range) && constraints.cannot_link.iter().all(in_range),
        "clusters: a constraint names a record beyond {n}"
    );
    assert!(n <= u32::MAX as usize, "clusters: too many records");
    // One integer key per edge whose ascending order is (weight descending, a, b): equal keys
    // are equal edges, so even an unstable sort gives one result.
    let mut sorted: Vec<u128> = edges
        .par_iter()
        .filter(|e| e.a != e.b && !e.weight.is_nan())
        .map(|e| {
            assert!(
                (e.a as usize) < n && (e.b as usize) < n,
                "clusters: edge {}–{} names a record beyond {n}",
                e.a,
                e.b
            );
            let ab = u64::from(e.a.min(e.b)) << 32 | u64::from(e.a.max(e.b));
            u128::from(!ordered_bits(e.weight)) << 64 | u128::from(ab)
        })
        .collect();
    sorted.par_sort_unstable();

    let mut uf = UnionFind::new(n);
    let mut cannot = CannotSets::new(n, &constraints.cannot_link);
    assert!(
        review
            .iter()
            .all(|e| (e.a as usize) < n && (e.b as usize) < n),
        "clusters: a review edge names a record beyond {n}"
    );
    let support = opts.review_support;
    let (refused, by_cannot) = if agency_of.iter().all(|&a| a < 64) {
        let mut sets = Masks(agency_of.iter().map(|&a| 1u64 << a).collect());
        must_link(&mut uf, &mut sets, &mut cannot, &constraints.must_link);
        let (r, c) = greedy(&mut uf, &mut sets, &mut cannot, &sorted, agency_of, opts);
        join_by_review(&mut uf, &mut sets, &mut cannot, review, support);
        (r, c)
    } else {
        let mut sets = Lists(agency_of.iter().map(|&a| vec![a]).collect());
        must_link(&mut uf, &mut sets, &mut cannot, &constraints.must_link);
        let (r, c) = greedy(&mut uf, &mut sets, &mut cannot, &sorted, agency_of, opts);
        join_by_review(&mut uf, &mut sets, &mut cannot, review, support);
        (r, c)
    };
    let conflicts = constraints
        .cannot_link
        .iter()
        .filter(|&&(a, b)| a != b && uf.find(a) == uf.find(b))
        .count() as u64;

    // Number clusters by smallest record index.
    const UNSET: u32 = u32::MAX;
    let mut id_of_root = vec![UNSET; n];
    let mut cluster_of = Vec::with_capacity(n);
    let mut next = 0u32;
    for i in 0..n as u32 {
        let r = uf.find(i) as usize;
        if id_of_root[r] == UNSET {
            id_of_root[r] = next;
            next += 1;
        }
        cluster_of.push(id_of_root[r]);
    }
    Clustering {
        cluster_of,
        n_clusters: next,
        merges_refused: refused,
        refused_by_cannot_link: by_cannot,
        conflicts,
    }
}

/// The review stage of [`clusters_review`].
fn join_by_review<S: AgencySets>(
    uf: &mut UnionFind,
    sets: &mut S,
    cannot: &mut CannotSets,
    review: &[Edge],
    support: u32,
) {
    if support == 0 || review.is_empty() {
        return;
    }
    // Per pair of clusters (roots, smaller first): its distinct review edges and the best weight.
    let mut edges: Vec<(u32, u32, u64)> = review
        .iter()
        .filter(|e| e.a != e.b && !e.weight.is_nan())
        .map(|e| (e.a.min(e.b), e.a.max(e.b), ordered_bits(e.weight)))
        .collect();
    edges.sort_unstable();
    edges.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
    let mut by_pair: Vec<(u32, u32, u64)> = edges
        .iter()
        .filter_map(|&(a, b, w)| {
            let (x, y) = (uf.find(a), uf.find(b));
            (x != y).then_some((x.min(y), x.max(y), w))
        })
        .collect();
    by_pair.sort_unstable();
    let mut joins: Vec<(u64, u32, u32)> = Vec::new();
    let mut i = 0;
    while i < by_pair.len() {
        let mut j = i + 1;
        while j < by_pair.len() && by_pair[j].0 == by_pair[i].0 && by_pair[j].1 == by_pair[i].1 {
            j += 1;
        }
        if (j - i) as u64 >= u64::from(support) {
            let best = by_pair[i..j].iter().map(|x| x.2).max().expect("a run");
            joins.push((!best, by_pair[i].0, by_pair[i].1));
        }
        i = j;
    }
    joins.sort_unstable();
    for (_, a, b) in joins {
        let (x, y) = (uf.find(a), uf.find(b));
        if x == y || sets.overlaps(x, y) || cannot.forbids(uf, x, y) {
            continue;
        }
        let (keep, gone) = uf.union_roots(x, y);
        sets.absorb(keep, gone);
        cannot.absorb(keep, gone);
    }
}

/// Joins the records of every must-link (a partition: the order does not matter).
fn must_link<S: AgencySets>(
    uf: &mut UnionFind,
    sets: &mut S,
    cannot: &mut CannotSets,
    pairs: &[(u32, u32)],
) {
    for &(a, b) in pairs {
        let (x, y) = (uf.find(a), uf.find(b));
        if x != y {
            let (keep, gone) = uf.union_roots(x, y);
            sets.absorb(keep, gone);
            cannot.absorb(keep, gone);
        }
    }
}

/// Bits of a (non-NaN) `f64` whose unsigned order is the numeric (`total_cmp`) order.
fn ordered_bits(w: f64) -> u64 {
    let b = w.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

/// Inverse of [`ordered_bits`].
fn from_ordered_bits(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The records of each cluster, as linked lists kept at the roots (concatenated in O(1)).
struct Members {
    next: Vec<u32>,
    tail: Vec<u32>,
}

impl Members {
    const END: u32 = u32::MAX;

    /// The members of the clusters `uf` holds now (the must-links may have joined some).
    fn of(uf: &mut UnionFind) -> Members {
        let n = uf.parent.len();
        let mut m = Members {
            next: vec![Self::END; n],
            tail: (0..n as u32).collect(),
        };
        for i in 0..n as u32 {
            let r = uf.find(i);
            if r != i {
                let t = m.tail[r as usize];
                m.next[t as usize] = i;
                m.tail[r as usize] = i;
            }
        }
        m
    }

    fn iter(&self, root: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(root), |&r| {
            let n = self.next[r as usize];
            (n != Self::END).then_some(n)
        })
    }

    /// Appends the list of root `from` to root `into`'s.
    fn absorb(&mut self, into: u32, from: u32) {
        let t = self.tail[into as usize];
        self.next[t as usize] = from;
        self.tail[into as usize] = self.tail[from as usize];
    }
}

/// Most same-agency record pairs one merge may check (beyond: refused, as a pathological
/// cluster would make every merge quadratic).
const MAX_DUPLICATE_CHECKS: u64 = 1 << 20;

/// Best-edge-first merging over sorted edge keys; returns the number of merges refused by the
/// agency constraint and by a cannot-link. With `within_agency` (and not `one_to_one`), a merge
/// that puts records of one agency together is allowed when every such pair of records is itself
/// an edge of at least `duplicate_min_weight`: a duplicate inside an agency is accepted on the
/// evidence of its own pair, never through other agencies' records alone.
fn greedy<S: AgencySets>(
    uf: &mut UnionFind,
    sets: &mut S,
    cannot: &mut CannotSets,
    sorted: &[u128],
    agency_of: &[u16],
    opts: &ClusterOptions,
) -> (u64, u64) {
    let mut refused = 0u64;
    let mut by_cannot = 0u64;
    let duplicates_ok = !opts.one_to_one && opts.within_agency;
    // Same-agency pairs strong enough to share a cluster, as `a << 32 | b` (a < b).
    let strong: ahash::AHashSet<u64> = if duplicates_ok {
        sorted
            .iter()
            .filter(|&&key| {
                let (a, b) = ((key >> 32) as u32, key as u32);
                agency_of[a as usize] == agency_of[b as usize]
                    && from_ordered_bits(!((key >> 64) as u64)) >= opts.duplicate_min_weight
            })
            .map(|&key| key as u64)
            .collect()
    } else {
        ahash::AHashSet::new()
    };
    let mut members = duplicates_ok.then(|| Members::of(uf));
    for &key in sorted {
        let (a, b) = ((key >> 32) as u32, key as u32);
        let (x, y) = (uf.find(a), uf.find(b));
        if x == y {
            continue;
        }
        if cannot.forbids(uf, x, y) {
            by_cannot += 1;
            continue;
        }
        let allowed = !sets.overlaps(x, y)
            || members.as_ref().is_some_and(|m| {
                let (sx, sy) = (uf.size[x as usize], uf.size[y as usize]);
                u64::from(sx) * u64::from(sy) <= MAX_DUPLICATE_CHECKS
                    && m.iter(x).all(|r| {
                        m.iter(y).all(|s| {
                            agency_of[r as usize] != agency_of[s as usize]
                                || strong
                                    .contains(&(u64::from(r.min(s)) << 32 | u64::from(r.max(s))))
                        })
                    })
            });
        if allowed {
            let (keep, gone) = uf.union_roots(x, y);
            sets.absorb(keep, gone);
            cannot.absorb(keep, gone);
            if let Some(m) = members.as_mut() {
                m.absorb(keep, gone);
            }
        } else {
            refused += 1;
        }
    }
    (refused, by_cannot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts(one_to_one: bool, within_agency: bool, dup: f64) -> ClusterOptions {
        ClusterOptions {
            one_to_one,
            within_agency,
            duplicate_min_weight: dup,
            review_support: 0,
        }
    }

    fn with_support(support: u32) -> ClusterOptions {
        ClusterOptions {
            review_support: support,
            ..opts(false, true, 100.0)
        }
    }

    #[test]
    fn review_edges_join_two_clusters_when_enough_of_them_link_them() {
        // Records: 0 = A1, 1 = B1 (one person by a match edge); 2 = C1, 3 = D1 (another).
        let agency = [0, 1, 2, 3];
        let matches = [e(0, 1, 10.0), e(2, 3, 10.0)];
        let none = Constraints::default();
        let one = [e(0, 2, 1.0)];
        let c = clusters_review(&agency, &matches, &one, &with_support(2), &none);
        assert_eq!(
            c.cluster_of,
            vec![0, 0, 1, 1],
            "one review edge: still apart"
        );
        let two = [e(0, 2, 1.0), e(3, 1, 0.5)];
        let c = clusters_review(&agency, &matches, &two, &with_support(2), &none);
        assert_eq!(
            c.cluster_of,
            vec![0, 0, 0, 0],
            "two review edges: one person"
        );
        // The same edge twice is one edge; support 0 is off; support 1 joins on one.
        let twice = [e(0, 2, 1.0), e(2, 0, 1.0)];
        let c = clusters_review(&agency, &matches, &twice, &with_support(2), &none);
        assert_eq!(c.n_clusters, 2);
        let c = clusters_review(&agency, &matches, &two, &with_support(0), &none);
        assert_eq!(c.n_clusters, 2);
        let c = clusters_review(&agency, &matches, &one, &with_support(1), &none);
        assert_eq!(c.n_clusters, 1);
        // Without the match edges: four singletons, each pair linked by one edge only.
        let c = clusters_review(&agency, &[], &two, &with_support(2), &none);
        assert_eq!(c.n_clusters, 4);
    }

    #[test]
    fn review_edges_never_put_an_agency_twice_nor_break_a_cannot_link() {
        // 0 = A1, 1 = B1 joined; 2 = A2: two review edges, but A would be held twice.
        let agency = [0, 1, 0];
        let matches = [e(0, 1, 10.0)];
        let review = [e(0, 2, 1.0), e(1, 2, 1.0)];
        let c = clusters_review(
            &agency,
            &matches,
            &review,
            &with_support(2),
            &Constraints::default(),
        );
        assert_eq!(c.cluster_of, vec![0, 0, 1]);
        // 0 = A1, 1 = B1 joined; 2 = C1: allowed, unless a reviewer said 1 and 2 differ.
        let agency = [0, 1, 2];
        let c = clusters_review(
            &agency,
            &matches,
            &review,
            &with_support(2),
            &Constraints::default(),
        );
        assert_eq!(c.n_clusters, 1);
        let v = Constraints {
            must_link: vec![],
            cannot_link: vec![(2, 1)],
        };
        let c = clusters_review(&agency, &matches, &review, &with_support(2), &v);
        assert_eq!(c.cluster_of, vec![0, 0, 1]);
    }

    #[test]
    fn review_joins_go_strongest_first() {
        // Clusters {0 A, 1 B}, {2 C, 3 D}, {4 C, 5 E}: both of the last two are linked to the
        // first by two review edges, but only one can join it (C twice); the stronger does.
        let agency = [0, 1, 2, 3, 2, 4];
        let matches = [e(0, 1, 10.0), e(2, 3, 10.0), e(4, 5, 10.0)];
        let review = [e(0, 2, 1.0), e(1, 3, 1.0), e(0, 4, 2.0), e(1, 5, 0.5)];
        let c = clusters_review(
            &agency,
            &matches,
            &review,
            &with_support(2),
            &Constraints::default(),
        );
        assert_eq!(c.cluster_of, vec![0, 0, 1, 1, 0, 0]);
    }

    fn e(a: u32, b: u32, weight: f64) -> Edge {
        Edge { a, b, weight }
    }

    #[test]
    fn best_edge_first() {
        // Records: 0 = A1, 1 = A2, 2 = B1.
        let agency = [0, 0, 1];
        let edges = [e(0, 2, 0.9), e(1, 2, 0.8)];
        let c = clusters(&agency, &edges, &opts(false, false, 10.0));
        assert_eq!(c.cluster_of, vec![0, 1, 0]);
        assert_eq!(c.n_clusters, 2);
        assert_eq!(c.merges_refused, 1);
        // Reversed weights: A2 wins B1.
        let edges = [e(0, 2, 0.8), e(1, 2, 0.9)];
        let c = clusters(&agency, &edges, &opts(false, false, 10.0));
        assert_eq!(c.cluster_of, vec![0, 1, 1]);
    }

    #[test]
    fn within_agency_duplicates_need_strong_edges() {
        // 0 = A1, 1 = A2 (same person twice in A), 2 = B1.
        let agency = [0, 0, 1];
        let weak = [e(0, 1, 5.0), e(0, 2, 9.0), e(1, 2, 5.5)];
        let c = clusters(&agency, &weak, &opts(false, true, 6.0));
        assert_eq!(c.cluster_of, vec![0, 1, 0]);
        assert_eq!(c.merges_refused, 2);
        // A2 strongly linked to B1, itself strongly linked to A1, but A1–A2 weak: the duplicate
        // is not accepted through B1's record alone.
        let chain = [e(0, 1, 5.0), e(0, 2, 9.0), e(1, 2, 8.0)];
        let c = clusters(&agency, &chain, &opts(false, true, 6.0));
        assert_eq!(c.cluster_of, vec![0, 1, 0]);
        assert_eq!(c.merges_refused, 2);
        // A1–A2 strong on its own: the duplicate joins, through B1's edge or its own.
        let strong = [e(0, 1, 7.0), e(0, 2, 9.0), e(1, 2, 8.0)];
        let c = clusters(&agency, &strong, &opts(false, true, 6.0));
        assert_eq!(c.cluster_of, vec![0, 0, 0]);
        assert_eq!(c.merges_refused, 0);
        let bridge = [e(0, 1, 6.5), e(0, 2, 9.0), e(1, 2, 8.0)];
        let c = clusters(&agency, &bridge, &opts(false, true, 6.0));
        assert_eq!(
            c.cluster_of,
            vec![0, 0, 0],
            "joined by A2–B1 at 8.0, A1–A2 is 6.5"
        );
        // A third record of A, strongly linked to B1 but to neither A1 nor A2: refused.
        let agency3 = [0, 0, 1, 0];
        let third = [
            e(0, 1, 7.0),
            e(0, 2, 9.0),
            e(1, 2, 8.0),
            e(2, 3, 8.5),
            e(1, 3, 7.5),
        ];
        let c = clusters(&agency3, &third, &opts(false, true, 6.0));
        assert_eq!(c.cluster_of, vec![0, 0, 0, 1], "A3–A1 is no edge");
        let c = clusters(
            &agency3,
            &[&third[..], &[e(0, 3, 6.0)]].concat(),
            &opts(false, true, 6.0),
        );
        assert_eq!(c.cluster_of, vec![0, 0, 0, 0], "every A pair strong");
        // Not allowed without `within_agency`, nor with `one_to_one`.
        let c = clusters(&agency, &strong, &opts(false, false, 6.0));
        assert_eq!(c.cluster_of, vec![0, 1, 0]);
        let c = clusters(&agency, &strong, &opts(true, true, 6.0));
        assert_eq!(c.cluster_of, vec![0, 1, 0]);
    }

    #[test]
    fn singletons_and_ids_by_smallest_record() {
        let agency = [0, 1, 2, 0, 1];
        let c = clusters(
            &agency,
            &[e(3, 4, 1.0), e(1, 2, 2.0)],
            &opts(false, false, 0.0),
        );
        assert_eq!(c.cluster_of, vec![0, 1, 1, 2, 2]);
        assert_eq!(c.n_clusters, 3);
        let c = clusters(&[], &[], &opts(false, false, 0.0));
        assert_eq!(c.n_clusters, 0);
    }

    #[test]
    fn weight_keys_keep_order() {
        let ws = [
            f64::NEG_INFINITY,
            -3.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            7.25,
            f64::INFINITY,
        ];
        for pair in ws.windows(2) {
            assert!(ordered_bits(pair[0]) < ordered_bits(pair[1]));
        }
        for w in ws {
            assert_eq!(from_ordered_bits(ordered_bits(w)).to_bits(), w.to_bits());
        }
    }

    #[test]
    fn many_agencies_use_the_fallback() {
        // Agencies 100 and 200 (no bitmask), same logic.
        let agency = [100, 100, 200];
        let edges = [e(0, 2, 0.9), e(1, 2, 0.8)];
        let c = clusters(&agency, &edges, &opts(false, false, 10.0));
        assert_eq!(c.cluster_of, vec![0, 1, 0]);
        assert_eq!(c.merges_refused, 1);
    }

    fn verdicts(must: &[(u32, u32)], cannot: &[(u32, u32)]) -> Constraints {
        Constraints {
            must_link: must.to_vec(),
            cannot_link: cannot.to_vec(),
        }
    }

    #[test]
    fn a_cannot_link_splits_a_chain_at_its_weakest_edge() {
        // A chain 0 – 1 – 2 (three agencies): one cluster without verdicts.
        let agency = [0, 1, 2];
        let edges = [e(0, 1, 9.0), e(1, 2, 6.0)];
        let o = opts(false, false, 100.0);
        assert_eq!(clusters(&agency, &edges, &o).cluster_of, vec![0, 0, 0]);
        // The reviewer says 0 and 2 are different people: the weaker edge 1–2 goes.
        let c = clusters_with(&agency, &edges, &o, &verdicts(&[], &[(2, 0)]));
        assert_eq!(c.cluster_of, vec![0, 0, 1]);
        assert_eq!((c.refused_by_cannot_link, c.conflicts), (1, 0));
        // With the weights the other way round, 0–1 is the weak one.
        let edges = [e(0, 1, 6.0), e(1, 2, 9.0)];
        let c = clusters_with(&agency, &edges, &o, &verdicts(&[], &[(0, 2)]));
        assert_eq!(c.cluster_of, vec![0, 1, 1]);
    }

    #[test]
    fn a_must_link_joins_across_the_agency_constraint_and_without_an_edge() {
        // Two records of agency 0 and one of agency 1, no scored edge between 0 and 1.
        let agency = [0, 0, 1];
        let edges = [e(0, 2, 9.0), e(1, 2, 8.0)];
        let o = opts(false, false, 100.0);
        assert_eq!(clusters(&agency, &edges, &o).cluster_of, vec![0, 1, 0]);
        let c = clusters_with(&agency, &edges, &o, &verdicts(&[(1, 0)], &[]));
        assert_eq!(c.cluster_of, vec![0, 0, 0]);
        // A cannot-link inside a must-link component is a conflict, not honoured.
        let c = clusters_with(&agency, &[], &o, &verdicts(&[(0, 1), (1, 2)], &[(0, 2)]));
        assert_eq!(c.cluster_of, vec![0, 0, 0]);
        assert_eq!(c.conflicts, 1);
    }

    /// Records with agencies, and edges with weights in a small set (many ties).
    fn instance() -> impl Strategy<Value = (Vec<u16>, Vec<Edge>, bool)> {
        (2usize..40, prop::bool::ANY).prop_flat_map(|(n, wide)| {
            let ag = if wide { 0u16..200 } else { 0u16..4 };
            (
                prop::collection::vec(ag, n),
                prop::collection::vec((0..n as u32, 0..n as u32, 0u8..8), 0..120),
                prop::bool::ANY,
            )
                .prop_map(|(agency, raw, within)| {
                    let edges = raw
                        .into_iter()
                        .map(|(a, b, w)| e(a.min(b), a.max(b), f64::from(w)))
                        .collect();
                    (agency, edges, within)
                })
        })
    }

    proptest! {
        #[test]
        fn agency_constraint_holds((agency, edges, within) in instance(), support in 0u32..4) {
            let dup = 5.0;
            // The lighter edges are review edges: they join clusters, never an agency twice.
            let (matches, review): (Vec<Edge>, Vec<Edge>) =
                edges.iter().partition(|ed| ed.weight >= 3.0);
            let o = ClusterOptions { review_support: support, ..opts(false, within, dup) };
            let c = clusters_review(&agency, &matches, &review, &o, &Constraints::default());
            prop_assert_eq!(c.cluster_of.len(), agency.len());
            // Two records of one agency share a cluster only through a strong edge of their own.
            let strong: std::collections::BTreeSet<(u32, u32)> = edges
                .iter()
                .filter(|ed| ed.weight >= dup && ed.a != ed.b)
                .map(|ed| (ed.a.min(ed.b), ed.a.max(ed.b)))
                .collect();
            for i in 0..agency.len() {
                for j in i + 1..agency.len() {
                    if c.cluster_of[i] == c.cluster_of[j] && agency[i] == agency[j] {
                        prop_assert!(within, "duplicate agency without within_agency");
                        prop_assert!(strong.contains(&(i as u32, j as u32)), "{} and {} share a cluster without a strong pair", i, j);
                    }
                }
            }
            // Cluster ids in order of first record.
            let mut next = 0;
            for &k in &c.cluster_of {
                prop_assert!(k <= next);
                if k == next {
                    next += 1;
                }
            }
            prop_assert_eq!(next, c.n_clusters);
            // one_to_one: never a shared agency.
            let c = clusters(&agency, &edges, &opts(true, true, dup));
            for i in 0..agency.len() {
                for j in i + 1..agency.len() {
                    prop_assert!(!(c.cluster_of[i] == c.cluster_of[j] && agency[i] == agency[j]));
                }
            }
        }

        #[test]
        fn verdicts_are_honoured_and_their_order_does_not_matter(
            (agency, edges, within) in instance(),
            raw in prop::collection::vec((0u32..40, 0u32..40, prop::bool::ANY), 0..12),
        ) {
            let n = agency.len() as u32;
            let mut v = Constraints::default();
            for (a, b, m) in raw {
                let (a, b) = (a % n, b % n);
                if m { v.must_link.push((a, b)) } else { v.cannot_link.push((a, b)) }
            }
            let o = opts(false, within, 5.0);
            let c = clusters_with(&agency, &edges, &o, &v);
            for &(a, b) in &v.must_link {
                prop_assert_eq!(c.cluster_of[a as usize], c.cluster_of[b as usize]);
            }
            // Every cannot-link apart, except those the must-links join (counted).
            let mut joined = UnionFind::new(agency.len());
            for &(a, b) in &v.must_link {
                let (x, y) = (joined.find(a), joined.find(b));
                if x != y { joined.union_roots(x, y); }
            }
            let mut conflicts = 0;
            for &(a, b) in &v.cannot_link {
                if a != b && joined.find(a) == joined.find(b) {
                    conflicts += 1;
                } else if a != b {
                    prop_assert_ne!(c.cluster_of[a as usize], c.cluster_of[b as usize]);
                }
            }
            prop_assert_eq!(c.conflicts, conflicts);
            let mut r = v.clone();
            r.must_link.reverse();
            r.cannot_link.reverse();
            r.must_link.iter_mut().for_each(|p| *p = (p.1, p.0));
            prop_assert_eq!(clusters_with(&agency, &edges, &o, &r), c);
        }

        #[test]
        fn order_of_edges_does_not_matter(
            (agency, edges, within) in instance(),
            seed in any::<u64>(),
            support in 0u32..4,
        ) {
            let o = ClusterOptions { review_support: support, ..opts(false, within, 5.0) };
            let split = |es: &[Edge]| -> (Vec<Edge>, Vec<Edge>) {
                es.iter().partition(|ed| ed.weight >= 3.0)
            };
            let none = Constraints::default();
            let (m, r) = split(&edges);
            let a = clusters_review(&agency, &m, &r, &o, &none);
            let mut shuffled: Vec<Edge> = edges
                .iter()
                .map(|ed| if seed & 1 == 1 { e(ed.b, ed.a, ed.weight) } else { *ed })
                .collect();
            // Deterministic pseudo-random permutation.
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let (m, r) = split(&shuffled);
            let b = clusters_review(&agency, &m, &r, &o, &none);
            prop_assert_eq!(a, b);
        }
    }
}

#[cfg(test)]
mod scale {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `cargo test --release -- --ignored scale` : 1 M records, 10 M edges.
    #[test]
    #[ignore]
    fn scale_1m_records_10m_edges() {
        let n = 1_000_000u32;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let agency: Vec<u16> = (0..n).map(|_| rng.random_range(0..5u16)).collect();
        let edges: Vec<Edge> = (0..10_000_000)
            .map(|_| {
                let a = rng.random_range(0..n);
                let b = rng.random_range(0..n);
                Edge {
                    a: a.min(b),
                    b: a.max(b),
                    weight: f64::from(rng.random_range(0..10_000u32)) / 100.0,
                }
            })
            .collect();
        let t = std::time::Instant::now();
        let c = clusters(
            &agency,
            &edges,
            &ClusterOptions {
                one_to_one: false,
                within_agency: true,
                duplicate_min_weight: 90.0,
                review_support: 0,
            },
        );
        eprintln!(
            "clusters: {:?}, {} clusters, {} refused",
            t.elapsed(),
            c.n_clusters,
            c.merges_refused
        );
    }
}
