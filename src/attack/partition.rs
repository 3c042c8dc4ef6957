//! The year partition, key-less: every record born in one year shares the date filter bits of
//! that year's tokens (year and half-year buckets), so mining those co-occurring bits splits the
//! records into year groups; adjacent years share a half-year token, which orders the groups into
//! a chain, and the public birth-year range fixes where the chain lies and its direction.
//!
//! Mining, per group: the most common unassigned filter is the seed; its nearest filters (most
//! bits in common) are mostly of its year, so the seed's bits set in nearly all of them are the
//! year's *core*; every filter holding (nearly) the whole core joins the group. Groups whose cores
//! nearly coincide are merged.

use std::collections::HashMap;

use super::mining::{and_count, bit, merge_coinciding, popcount};

/// The year groups of a set of date filters.
#[derive(Debug, Clone, Default)]
pub struct YearGroups {
    /// Per record: its group (`None`: no filter).
    pub of: Vec<Option<usize>>,
    /// Per group: the year the attacker gives it (`None`: not placed on the chain).
    pub year: Vec<Option<i32>>,
    /// Per group: how sure the placement is (the log-likelihood margin of the chosen placement
    /// over the best other one, per record; 0 when not placed).
    pub confidence: Vec<f64>,
    /// Per group: its core, the date filter bits set in nearly all of its members (the year's
    /// tokens).
    pub cores: Vec<Vec<u64>>,
}

/// Splits records by year (see the module doc). `filters[i]` is record `i`'s date filter,
/// `noise` the filter's public BLIP probability, `years` the public birth-year range.
///
/// `record[i]`, when given, is record `i`'s record-level filter: the date's tokens set a few
/// bits there too, in a much sparser filter, so the cores of two adjacent years overlap there far
/// above chance; it sharpens the chain.
pub fn year_groups(
    filters: &[Option<&[u64]>],
    record: &[Option<&[u64]>],
    noise: f64,
    years: (i32, i32),
) -> YearGroups {
    // Distinct filters with their multiplicity (without BLIP one date gives one filter).
    let mut index: HashMap<&[u64], usize> = HashMap::new();
    let mut distinct: Vec<&[u64]> = Vec::new();
    let mut weight: Vec<usize> = Vec::new();
    let mut of_distinct: Vec<Option<usize>> = Vec::with_capacity(filters.len());
    for f in filters {
        of_distinct.push(f.map(|f| {
            *index.entry(f).or_insert_with(|| {
                distinct.push(f);
                weight.push(0);
                distinct.len() - 1
            })
        }));
        if let Some(d) = of_distinct.last().copied().flatten() {
            weight[d] += 1;
        }
    }
    let d = distinct.len();
    let mut out = YearGroups {
        of: vec![None; filters.len()],
        ..YearGroups::default()
    };
    if d == 0 {
        return out;
    }
    let words = distinct[0].len();
    let span = (years.1 - years.0 + 1).max(1) as usize;
    let t = (d / (2 * span)).clamp(3, 100);
    let mut group_of: Vec<Option<usize>> = vec![None; d];
    let mut cores: Vec<Vec<u64>> = Vec::new();
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| weight[b].cmp(&weight[a]).then(distinct[a].cmp(distinct[b])));
    for &seed in &order {
        if group_of[seed].is_some() {
            continue;
        }
        let mut near: Vec<(u32, usize)> = (0..d)
            .filter(|&j| j != seed && group_of[j].is_none())
            .map(|j| (and_count(distinct[seed], distinct[j]), j))
            .collect();
        near.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        near.truncate(t);
        let g = cores.len();
        let mut core = vec![0u64; words];
        if near.len() >= 2 {
            let need = (near.len() as f64 * 0.85 * (1.0 - noise)).ceil() as usize;
            for b in 0..words * 64 {
                if bit(distinct[seed], b)
                    && near.iter().filter(|(_, j)| bit(distinct[*j], b)).count() >= need
                {
                    core[b >> 6] |= 1 << (b & 63);
                }
            }
        }
        let size = popcount(&core) as usize;
        if size < 8 {
            // No structure around this filter: a group of its own.
            group_of[seed] = Some(g);
            cores.push(distinct[seed].to_vec());
            continue;
        }
        let allow = (size as f64 * (2.0 * noise + 0.05)).ceil() as u32;
        for j in 0..d {
            if group_of[j].is_none() && and_count(distinct[j], &core) + allow >= size as u32 {
                group_of[j] = Some(g);
            }
        }
        group_of[seed] = Some(g);
        cores.push(core);
    }
    // Merge groups whose cores nearly coincide (a core that caught a few chance bits).
    let merged = merge_coinciding(&cores, 8);
    let mut merged_core: Vec<Vec<u64>> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    for (g, core) in cores.iter().enumerate() {
        let id = merged[g];
        if id == merged_core.len() {
            merged_core.push(core.clone());
            sizes.push(0);
        } else {
            for (a, b) in merged_core[id].iter_mut().zip(core) {
                *a &= b;
            }
        }
    }
    for (i, dd) in of_distinct.iter().enumerate() {
        if let Some(dd) = dd {
            let g = merged[group_of[*dd].expect("every filter grouped")];
            out.of[i] = Some(g);
            sizes[g] += 1;
        }
    }
    // Each group's core again, from all its members: the bits set in nearly all of them.
    let mut counts = vec![vec![0usize; words * 64]; merged_core.len()];
    for (i, dd) in of_distinct.iter().enumerate() {
        if let (Some(dd), Some(g)) = (dd, out.of[i]) {
            for (b, c) in counts[g].iter_mut().enumerate() {
                if bit(distinct[*dd], b) {
                    *c += 1;
                }
            }
        }
    }
    for (g, core) in merged_core.iter_mut().enumerate() {
        let need = (sizes[g] as f64 * 0.9 * (1.0 - noise)).ceil() as usize;
        for (b, &c) in counts[g].iter().enumerate() {
            let on = sizes[g] >= 2 && c >= need;
            if on {
                core[b >> 6] |= 1 << (b & 63);
            } else {
                core[b >> 6] &= !(1 << (b & 63));
            }
        }
    }
    // Purify: each filter joins the group whose core it holds most completely (a filter of an
    // adjacent year holds only the shared half-year token's share of a core); then the cores
    // are taken again from the new members.
    let usable: Vec<usize> = (0..merged_core.len())
        .filter(|&g| popcount(&merged_core[g]) >= 8)
        .collect();
    if !usable.is_empty() {
        let mut moved: HashMap<usize, usize> = HashMap::new();
        for (dd, f) in distinct.iter().enumerate() {
            let best = usable
                .iter()
                .map(|&g| {
                    let c = popcount(&merged_core[g]) as f64;
                    (and_count(f, &merged_core[g]) as f64 / c, c as u32, g)
                })
                .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
            if let Some((share, _, g)) = best {
                if share >= 0.9 * (1.0 - noise) {
                    moved.insert(dd, g);
                }
            }
        }
        sizes.iter_mut().for_each(|x| *x = 0);
        for c in counts.iter_mut() {
            c.iter_mut().for_each(|x| *x = 0);
        }
        for (i, dd) in of_distinct.iter().enumerate() {
            if let Some(dd) = dd {
                if let Some(&g) = moved.get(dd) {
                    out.of[i] = Some(g);
                }
                let g = out.of[i].expect("grouped");
                sizes[g] += 1;
                for (b, c) in counts[g].iter_mut().enumerate() {
                    if bit(distinct[*dd], b) {
                        *c += 1;
                    }
                }
            }
        }
        for (g, core) in merged_core.iter_mut().enumerate() {
            let need = (sizes[g] as f64 * 0.9 * (1.0 - noise)).ceil() as usize;
            for (b, &c) in counts[g].iter().enumerate() {
                if sizes[g] >= 2 && c >= need {
                    core[b >> 6] |= 1 << (b & 63);
                } else {
                    core[b >> 6] &= !(1 << (b & 63));
                }
            }
        }
    }
    // The record-level cores: bits set in nearly all of a group's record filters, but core in
    // few groups (a bit core everywhere is a common q-gram of another field, not a year token).
    let g_n = merged_core.len();
    let mut rec_cores: Vec<Vec<u64>> = Vec::new();
    if let Some(rw) = record.iter().flatten().map(|r| r.len()).next() {
        let mut rc = vec![vec![0usize; rw * 64]; g_n];
        let mut rn = vec![0usize; g_n];
        for (i, r) in record.iter().enumerate() {
            if let (Some(r), Some(g)) = (r, out.of.get(i).copied().flatten()) {
                if r.len() != rw {
                    continue;
                }
                rn[g] += 1;
                for (b, c) in rc[g].iter_mut().enumerate() {
                    if bit(r, b) {
                        *c += 1;
                    }
                }
            }
        }
        rec_cores = (0..g_n)
            .map(|g| {
                let mut w = vec![0u64; rw];
                if rn[g] >= 2 {
                    for (b, &c) in rc[g].iter().enumerate() {
                        if c as f64 >= 0.9 * rn[g] as f64 {
                            w[b >> 6] |= 1 << (b & 63);
                        }
                    }
                }
                w
            })
            .collect();
        let mut core_in = vec![0usize; rw * 64];
        for w in &rec_cores {
            for (b, c) in core_in.iter_mut().enumerate() {
                if bit(w, b) {
                    *c += 1;
                }
            }
        }
        for w in rec_cores.iter_mut() {
            for (b, &c) in core_in.iter().enumerate() {
                if c > 4 {
                    w[b >> 6] &= !(1 << (b & 63));
                }
            }
        }
    }
    let (year, confidence) = place_chain(&merged_core, &rec_cores, &sizes, years, words * 64);
    out.year = year;
    out.confidence = confidence;
    out.cores = merged_core;
    out
}

/// Orders the groups into chains by shared core bits (adjacent years share a half-year token),
/// then places the longest chain on the year axis: offset and direction maximizing the public
/// prior's likelihood of the group sizes (uniform inside the range, rare outside).
fn place_chain(
    cores: &[Vec<u64>],
    rec_cores: &[Vec<u64>],
    sizes: &[usize],
    years: (i32, i32),
    m: usize,
) -> (Vec<Option<i32>>, Vec<f64>) {
    let n = cores.len();
    let mut year = vec![None; n];
    let mut conf = vec![0.0; n];
    // Only groups with a real core take part (singletons without structure do not).
    let real: Vec<usize> = (0..n)
        .filter(|&g| sizes[g] >= 2 && popcount(&cores[g]) >= 8)
        .collect();
    if real.is_empty() {
        return (year, conf);
    }
    // The chain: a path through the main groups (the small ones are chance splinters) maximizing
    // the summed lift of neighbours — greedy edges first (Kruskal with degree ≤ 2), then local
    // search (segment reversal and moves) until no change improves it.
    let mut by_size: Vec<usize> = real.iter().map(|&g| sizes[g]).collect();
    by_size.sort_unstable();
    let median = by_size[by_size.len() / 2];
    let main: Vec<usize> = real
        .iter()
        .copied()
        .filter(|&g| sizes[g] * 5 >= median)
        .collect();
    let k = main.len();
    let mut lift = vec![0f64; k * k];
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for a in 0..k {
        for b in a + 1..k {
            let (ga, gb) = (main[a], main[b]);
            let expect = popcount(&cores[ga]) as f64 * popcount(&cores[gb]) as f64 / m as f64;
            let mut l = and_count(&cores[ga], &cores[gb]) as f64 - expect;
            if let (Some(ra), Some(rb)) = (rec_cores.get(ga), rec_cores.get(gb)) {
                // A shared token sets fewer bits there: weighed up to the date filter's scale.
                l += REC_WEIGHT * and_count(ra, rb) as f64;
            }
            lift[a * k + b] = l;
            lift[b * k + a] = l;
            pairs.push((l, a, b));
        }
    }
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut deg = vec![0usize; k];
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut comp: Vec<usize> = (0..k).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (_, a, b) in pairs {
        if deg[a] >= 2 || deg[b] >= 2 {
            continue;
        }
        let (ra, rb) = (root(&mut comp, a), root(&mut comp, b));
        if ra == rb {
            continue;
        }
        comp[ra] = rb;
        deg[a] += 1;
        deg[b] += 1;
        adj[a].push(b);
        adj[b].push(a);
    }
    let mut path: Vec<usize> = Vec::with_capacity(k);
    if let Some(s) = (0..k).find(|&x| deg[x] <= 1) {
        let (mut prev, mut cur) = (usize::MAX, s);
        path.push(s);
        while let Some(&next) = adj[cur].iter().find(|&&x| x != prev) {
            path.push(next);
            prev = cur;
            cur = next;
        }
    }
    improve_path(&mut path, &lift, k);
    let best_chain: Vec<usize> = path.iter().map(|&i| main[i]).collect();
    let best_weight: usize = best_chain.iter().map(|&g| sizes[g]).sum();
    if best_chain.is_empty() {
        return (year, conf);
    }
    let span = (years.1 - years.0 + 1).max(1);
    let len = best_chain.len() as i32;
    let inside = -(span as f64).ln();
    let outside = inside + (1e-3f64).ln();
    let score = |start: i32, dir: i32| -> f64 {
        best_chain
            .iter()
            .enumerate()
            .map(|(k, &g)| {
                let y = start + dir * k as i32;
                let lp = if (years.0..=years.1).contains(&y) {
                    inside
                } else {
                    outside
                };
                sizes[g] as f64 * lp
            })
            .sum()
    };
    let mut placements: Vec<(f64, i32, i32)> = Vec::new();
    for dir in [1, -1] {
        // The chain's first group lands on `start`; it covers start..start+dir*(len-1).
        for offset in -len..=span {
            let start = if dir == 1 {
                years.0 + offset
            } else {
                years.1 - offset
            };
            placements.push((score(start, dir), start, dir));
        }
    }
    placements.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (top, start, dir) = placements[0];
    let second = placements.get(1).map_or(top, |p| p.0);
    let margin = (top - second) / best_weight.max(1) as f64;
    for (k, &g) in best_chain.iter().enumerate() {
        year[g] = Some(start + dir * k as i32);
        conf[g] = margin;
    }
    (year, conf)
}

/// Weight of a record-level core bit shared by two groups in the chain's lift.
const REC_WEIGHT: f64 = 3.0;

/// Summed lift of a path's neighbours.
fn path_score(path: &[usize], lift: &[f64], k: usize) -> f64 {
    path.windows(2).map(|w| lift[w[0] * k + w[1]]).sum()
}

/// Local search on a path: reverse a segment, or move a segment (up to 3 groups, either way
/// round) elsewhere, while that raises the summed lift. Deterministic.
fn improve_path(path: &mut Vec<usize>, lift: &[f64], k: usize) {
    let n = path.len();
    if n < 3 {
        return;
    }
    let mut score = path_score(path, lift, k);
    for _ in 0..200 {
        let mut improved = false;
        for i in 0..n {
            for j in i + 1..n {
                let mut p = path.clone();
                p[i..=j].reverse();
                let sc = path_score(&p, lift, k);
                if sc > score + 1e-9 {
                    *path = p;
                    score = sc;
                    improved = true;
                }
            }
        }
        for len in 1..=3.min(n - 1) {
            for i in 0..=n - len {
                for rev in [false, true] {
                    let mut seg: Vec<usize> = path[i..i + len].to_vec();
                    if rev {
                        seg.reverse();
                    }
                    let mut rest: Vec<usize> = path[..i].to_vec();
                    rest.extend_from_slice(&path[i + len..]);
                    for at in 0..=rest.len() {
                        let mut p = rest[..at].to_vec();
                        p.extend_from_slice(&seg);
                        p.extend_from_slice(&rest[at..]);
                        let sc = path_score(&p, lift, k);
                        if sc > score + 1e-9 {
                            *path = p;
                            score = sc;
                            improved = true;
                            break;
                        }
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Toy date filters: each token sets 20 keyed bits of 256.
    fn token_bits(tok: &str) -> Vec<usize> {
        let h = blake3::hash(tok.as_bytes());
        let bytes = h.as_bytes();
        (0..20)
            .map(|i| u16::from_le_bytes([bytes[i], bytes[i + 1]]) as usize % 256)
            .collect()
    }

    fn filter(y: i32, m: u32, d: u32) -> Vec<u64> {
        let mut w = vec![0u64; 4];
        for t in [
            format!("y{y}"),
            format!("h{}", y.div_euclid(2)),
            format!("o{}", (y + 1).div_euclid(2)),
            format!("m{m}"),
            format!("d{d}"),
            format!("f{y}.{m}.{d}"),
        ] {
            for b in token_bits(&t) {
                w[b >> 6] |= 1 << (b & 63);
            }
        }
        w
    }

    #[test]
    fn year_groups_are_pure_and_ordered() {
        let mut truth = Vec::new();
        let mut filters = Vec::new();
        for y in 1970..=1989 {
            let n = if y < 1975 { 2 } else { 40 }; // a thin tail at the old end
            for k in 0..n {
                truth.push(y);
                filters.push(filter(y, 1 + (k * 7 % 12), 1 + (k * 11 % 28)));
            }
        }
        let refs: Vec<Option<&[u64]>> = filters.iter().map(|f| Some(f.as_slice())).collect();
        let g = year_groups(&refs, &[], 0.0, (1975, 1989));
        // Purity: most records sit in a group whose majority year is theirs.
        let mut per: HashMap<usize, HashMap<i32, usize>> = HashMap::new();
        for (i, gi) in g.of.iter().enumerate() {
            *per.entry(gi.unwrap())
                .or_default()
                .entry(truth[i])
                .or_insert(0) += 1;
        }
        let pure: usize = per.values().map(|m| m.values().max().unwrap()).sum();
        assert!(pure * 10 >= truth.len() * 9, "{pure} of {}", truth.len());
        // Placement: most records get their own year.
        let right = (0..truth.len())
            .filter(|&i| g.year[g.of[i].unwrap()] == Some(truth[i]))
            .count();
        assert!(right * 10 >= truth.len() * 8, "{right} of {}", truth.len());
    }
}
