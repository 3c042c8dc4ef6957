//! The calendar attack on date filters that are not salted, labelled through the NIK filter.
//! Key-less, like every attack here; it is Christen et al.'s pattern mining applied to a field
//! with a known structure, as the red-team exercise of the privacy issue did it.
//!
//! 1. **Calendar classes.** A date's filter holds its year's tokens and its day-and-month tokens
//!    (month, day, the unordered and the ordered day-month: `encode::tokens::date_tokens`). With
//!    its year group's core bits removed ([`super::partition`]), the filters of one calendar day
//!    (7 March of every year) share the bits of four tokens, against one token for two dates of
//!    the same month or day. Mining those shared bits groups the dates by calendar day: about
//!    366 classes spanning the years.
//! 2. **Digit masks from the year groups.** A NIK (public format: region, then DDMMYY with 40
//!    added to a woman's day, then a serial) holds its holder's two-digit year, so the NIK filters
//!    of one year group share that digit bigram's bits: every labelled year names one bigram.
//! 3. **Labelling.** The NIK filters of one calendar class and one sex share the bigrams of the
//!    day, of the day's last digit with the month's first, and of the month. Each class is scored
//!    against every calendar day by how the known bigram masks fit its shared bits, and classes
//!    take days greedily, best fit first, each day once. The masks of bigrams still unknown are
//!    then learned from the labelled classes, and the labelling runs again.
//!
//! Without a NIK filter the classes are found but not labelled: a flat calendar gives their
//! sizes nothing to align with.

use std::collections::HashMap;

use super::mining::{and_count, bit, bit_counts, merge_coinciding, popcount};
use super::partition::YearGroups;

/// The NIK filters that label the calendar classes.
pub struct NikFilters<'a> {
    /// Per record: its NIK filter (q = 2 digit bigrams, not salted).
    pub filters: &'a [Option<&'a [u64]>],
    /// The filter's public BLIP flip probability.
    pub noise: f64,
    /// Bits per bigram (the schema's `hashes`, public).
    pub hashes: usize,
    /// Per record: the attacker's guess of the sex (`Some(true)`: a woman), if any.
    pub female: &'a [Option<bool>],
}

/// What the calendar attack found.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Per record: the guessed (month, day) and the confidence (the class's fit margin).
    pub of: Vec<Option<((u8, u8), f64)>>,
    /// Calendar classes mined from the date filters.
    pub classes: usize,
    /// Of those, labelled with a day.
    pub labelled: usize,
}

/// Share of a class's filters a bit must be set in to be a shared bit (before noise).
const SHARED: f64 = 0.8;
/// Share of the NIK filters of a group a bit must be set in to be a shared bit (before noise):
/// lower than [`SHARED`], as a falsified or mistyped date puts foreign NIKs in a class.
const NIK_SHARED: f64 = 0.7;
/// How much more often than over all NIK filters a shared bit must be set in a group's.
const LIFT: f64 = 0.25;
/// NIK filters a (class, sex) or a year group needs for its shared bits to be taken.
const MIN_NIK: usize = 5;
/// Seeds that yield no class are tried at most this many times (noisy filters are all distinct).
const MAX_FAILED_SEEDS: usize = 2_000;
/// Labelling rounds (label, learn masks, label again).
const ROUNDS: usize = 4;

/// Runs the calendar attack. `dob[r]` is record `r`'s date filter (not salted), `noise` its
/// public BLIP probability, `hashes` its bits per token, `groups` the year partition of the same
/// filters.
pub fn calendar(
    dob: &[Option<&[u64]>],
    noise: f64,
    hashes: usize,
    groups: &YearGroups,
    nik: Option<&NikFilters>,
) -> Calendar {
    let n = dob.len();
    let mut out = Calendar {
        of: vec![None; n],
        ..Calendar::default()
    };
    let classes = calendar_classes(dob, noise, hashes, groups);
    let n_classes = classes.iter().flatten().max().map_or(0, |&c| c + 1);
    out.classes = n_classes;
    let Some(nik) = nik else { return out };
    if n_classes == 0 {
        return out;
    }
    // The NIK filters' shared bits per (class, sex) and per labelled year group.
    let words = match nik.filters.iter().flatten().next() {
        Some(f) => f.len(),
        None => return out,
    };
    let bucket = |r: usize| match nik.female.get(r).copied().flatten() {
        Some(false) => 0,
        Some(true) => 1,
        None => 2,
    };
    let mut members: Vec<[Vec<&[u64]>; 3]> = vec![Default::default(); n_classes];
    for r in 0..n {
        if let (Some(c), Some(f)) = (classes[r], nik.filters[r]) {
            if f.len() == words {
                members[c][bucket(r)].push(f);
            }
        }
    }
    let all: Vec<&[u64]> = nik
        .filters
        .iter()
        .flatten()
        .copied()
        .filter(|f| f.len() == words)
        .collect();
    let mut counts = vec![0u32; words * 64];
    bit_counts(&all, &(0..all.len()).collect::<Vec<_>>(), &mut counts);
    let base: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / all.len().max(1) as f64)
        .collect();
    let nik_core =
        |fs: &[&[u64]]| shared_bits(fs, NIK_SHARED * (1.0 - nik.noise), Some(&base), MIN_NIK);
    let class_cores: Vec<[Option<Vec<u64>>; 3]> = members
        .iter()
        .map(|m| std::array::from_fn(|s| nik_core(&m[s])))
        .collect();
    let mut masks: Vec<Option<Vec<u64>>> = vec![None; 100];
    let max_mask = nik.hashes + nik.hashes / 2;
    let min_mask = nik.hashes.div_ceil(2);
    let mut by_group: Vec<Vec<&[u64]>> = vec![Vec::new(); groups.year.len()];
    for r in 0..n {
        if let (Some(g), Some(f)) = (groups.of.get(r).copied().flatten(), nik.filters[r]) {
            if f.len() == words {
                by_group[g].push(f);
            }
        }
    }
    // A year group's shared bits hold its two-digit year's bigram, and that of the year's last
    // digit with the serial's first (mostly 0): the second is shared by the years with the same
    // last digit, so bits shared with their groups are left out.
    let year_cores: Vec<(i32, Vec<u64>)> = by_group
        .iter()
        .enumerate()
        .filter_map(|(g, fs)| Some((groups.year[g]?, nik_core(fs)?)))
        .collect();
    for (year, core) in &year_cores {
        let mut own = core.clone();
        for (other, oc) in &year_cores {
            if other != year && other.rem_euclid(10) == year.rem_euclid(10) {
                for (a, b) in own.iter_mut().zip(oc) {
                    *a &= !b;
                }
            }
        }
        let bits = popcount(&own) as usize;
        let id = year.rem_euclid(100) as usize;
        if (min_mask..=max_mask).contains(&bits) && masks[id].is_none() {
            masks[id] = Some(own);
        }
    }
    // Month and day groups of classes, from the bits their date filters share.
    let mut dob_members: Vec<Vec<&[u64]>> = vec![Vec::new(); n_classes];
    for r in 0..n {
        if let (Some(c), Some(f)) = (classes[r], dob[r]) {
            dob_members[c].push(f);
        }
    }
    let dob_cores: Vec<Vec<u64>> = dob_members
        .iter()
        .map(|fs| {
            let w = fs.first().map_or(1, |f| f.len());
            let fs: Vec<&[u64]> = fs.iter().copied().filter(|f| f.len() == w).collect();
            shared_bits(&fs, SHARED * (1.0 - noise), None, 2).unwrap_or_else(|| vec![0; w])
        })
        .collect();
    let (months, day_groups) = if dob_cores.iter().all(|c| c.len() == dob_cores[0].len()) {
        token_groups(&dob_cores, hashes)
    } else {
        (Vec::new(), Vec::new())
    };
    let days = calendar_days();
    let mut label: Vec<Option<(usize, f64)>> = vec![None; n_classes];
    for round in 0..ROUNDS {
        label = assign(
            &fits(&class_cores, &masks, &days),
            &days,
            &months,
            &day_groups,
        );
        if round + 1 == ROUNDS {
            break;
        }
        // Learn the masks still unknown from the classes labelled so far.
        let mut learned = 0;
        for (id, mask) in masks.iter_mut().enumerate() {
            if mask.is_some() {
                continue;
            }
            let mut holders: Vec<&[u64]> = Vec::new();
            for (c, l) in label.iter().enumerate() {
                let Some((d, conf)) = *l else { continue };
                if conf <= 0.0 {
                    continue;
                }
                for (s, core) in class_cores[c].iter().enumerate() {
                    if let Some(core) = core {
                        if predicted(s, days[d]).contains(&(id as u8)) {
                            holders.push(core);
                        }
                    }
                }
            }
            if holders.len() < 2 {
                continue;
            }
            if let Some(core) = shared_bits(&holders, SHARED, None, 2) {
                if (min_mask..=max_mask).contains(&(popcount(&core) as usize)) {
                    *mask = Some(core);
                    learned += 1;
                }
            }
        }
        if learned == 0 {
            break;
        }
    }
    out.labelled = label.iter().filter(|l| l.is_some()).count();
    for (r, c) in classes.iter().enumerate() {
        if let Some(c) = *c {
            out.of[r] = label[c].map(|(d, conf)| (days[d], conf));
        }
    }
    out
}

/// Every calendar day as (month, day), 29 February included.
fn calendar_days() -> Vec<(u8, u8)> {
    const LEN: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12u8)
        .flat_map(|m| (1..=LEN[m as usize - 1]).map(move |d| (m, d)))
        .collect()
}

/// The NIK digit bigrams a holder of sex bucket `s` (0 man, 1 woman, 2 unknown) born on `day`
/// has in common with every other such holder: DD (40 added for a woman), the day's last digit
/// with the month's first, MM. Unknown sex leaves out DD. Bigram `ab` is id `10a + b`.
fn predicted(s: usize, (m, d): (u8, u8)) -> Vec<u8> {
    let dd = d + if s == 1 { 40 } else { 0 };
    let (d1, d2, m1, m2) = (dd / 10, dd % 10, m / 10, m % 10);
    let mut v = vec![d2 * 10 + m1, m1 * 10 + m2];
    if s != 2 {
        v.push(d1 * 10 + d2);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Each class's fit to every calendar day: for every sex whose NIK filters the class has, +1 for
/// each predicted bigram whose known mask is wholly among the class's shared bits (−1 when none
/// of it is), −1 for each known mask wholly there that is not predicted. `None`: no NIK filters.
fn fits(
    cores: &[[Option<Vec<u64>>; 3]],
    masks: &[Option<Vec<u64>>],
    days: &[(u8, u8)],
) -> Vec<Option<Vec<f64>>> {
    let known: Vec<usize> = (0..masks.len()).filter(|&i| masks[i].is_some()).collect();
    cores
        .iter()
        .map(|k| {
            if k.iter().all(Option::is_none) {
                return None;
            }
            // Per sex: the share of each known mask's bits among the class's shared bits.
            let frac: [Vec<f64>; 3] = std::array::from_fn(|s| {
                let mut v = vec![f64::NAN; masks.len()];
                if let Some(core) = &k[s] {
                    for &i in &known {
                        let m = masks[i].as_ref().expect("known");
                        v[i] = and_count(m, core) as f64 / popcount(m).max(1) as f64;
                    }
                }
                v
            });
            Some(
                days.iter()
                    .map(|&day| {
                        let mut score = 0.0;
                        for (s, f) in frac.iter().enumerate() {
                            if k[s].is_none() {
                                continue;
                            }
                            let pred = predicted(s, day);
                            for &i in &known {
                                if pred.contains(&(i as u8)) {
                                    score += 2.0 * f[i] - 1.0;
                                } else if f[i] >= 0.9 {
                                    score -= 1.0;
                                }
                            }
                        }
                        score
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Labels the classes. Per class: the day's index and the margin of the class's best fit over
/// its second best.
///
/// Classes of one month group (they share a month token in the date filter) take one month
/// together: the month their summed fits favour, each month for one group, best first. Classes
/// of one day group then take one day together the same way, within their months. A class
/// outside the groups, or whose pair is no calendar day, takes its own best fit among the days
/// still free, best fits first, each day once.
fn assign(
    fit: &[Option<Vec<f64>>],
    days: &[(u8, u8)],
    months: &[Vec<usize>],
    day_groups: &[Vec<usize>],
) -> Vec<Option<(usize, f64)>> {
    let k = fit.len();
    let index: HashMap<(u8, u8), usize> = days.iter().enumerate().map(|(i, &d)| (d, i)).collect();
    let margin: Vec<f64> = fit
        .iter()
        .map(|f| {
            let Some(f) = f else { return 0.0 };
            let mut v = f.clone();
            v.sort_by(|a, b| b.total_cmp(a));
            v[0] - v.get(1).copied().unwrap_or(0.0).max(0.0)
        })
        .collect();
    // Greedy unique assignment of values to groups by summed fit.
    fn greedy(votes: Vec<(f64, usize, u8)>, groups: usize) -> Vec<Option<u8>> {
        let mut votes: Vec<_> = votes.into_iter().filter(|v| v.0 > 0.0).collect();
        votes.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut of = vec![None; groups];
        let mut used = std::collections::HashSet::new();
        for (_, g, v) in votes {
            if of[g].is_none() && !used.contains(&v) {
                of[g] = Some(v);
                used.insert(v);
            }
        }
        of
    }
    let mut month_of: Vec<Option<u8>> = vec![None; k];
    let mut votes = Vec::new();
    for (g, members) in months.iter().enumerate() {
        for m in 1..=12u8 {
            let v: f64 = members
                .iter()
                .filter_map(|&c| fit[c].as_ref())
                .map(|f| {
                    days.iter()
                        .enumerate()
                        .filter(|(_, d)| d.0 == m)
                        .map(|(i, _)| f[i])
                        .fold(f64::MIN, f64::max)
                })
                .sum();
            votes.push((v, g, m));
        }
    }
    for (g, m) in greedy(votes, months.len()).into_iter().enumerate() {
        for &c in &months[g] {
            month_of[c] = month_of[c].or(m);
        }
    }
    let mut day_of: Vec<Option<u8>> = vec![None; k];
    let mut votes = Vec::new();
    for (g, members) in day_groups.iter().enumerate() {
        for d in 1..=31u8 {
            let v: f64 = members
                .iter()
                .filter_map(|&c| Some((c, fit[c].as_ref()?)))
                .map(|(c, f)| match month_of[c] {
                    Some(m) => index.get(&(m, d)).map_or(0.0, |&i| f[i]),
                    None => (1..=12u8)
                        .filter_map(|m| index.get(&(m, d)).map(|&i| f[i]))
                        .fold(f64::MIN, f64::max),
                })
                .sum();
            votes.push((v, g, d));
        }
    }
    for (g, d) in greedy(votes, day_groups.len()).into_iter().enumerate() {
        for &c in &day_groups[g] {
            day_of[c] = day_of[c].or(d);
        }
    }
    let mut label: Vec<Option<(usize, f64)>> = vec![None; k];
    let mut taken = vec![false; days.len()];
    for c in 0..k {
        if let (Some(m), Some(d), Some(_)) = (month_of[c], day_of[c], &fit[c]) {
            if let Some(&i) = index.get(&(m, d)) {
                label[c] = Some((i, margin[c]));
                taken[i] = true;
            }
        }
    }
    // The rest, on their own.
    let mut rest: Vec<(f64, usize, usize)> = Vec::new();
    for c in (0..k).filter(|&c| label[c].is_none()) {
        let Some(f) = &fit[c] else { continue };
        for (i, &s) in f.iter().enumerate() {
            let month_ok = month_of[c].is_none_or(|m| days[i].0 == m);
            if s > 0.0 && month_ok {
                rest.push((s, c, i));
            }
        }
    }
    rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, c, i) in rest {
        if label[c].is_none() && !taken[i] {
            taken[i] = true;
            label[c] = Some((i, margin[c]));
        }
    }
    label
}

/// Groups of calendar classes that share one date token, from the bits shared by each class's
/// date filters: pattern mining over the classes (each token's bits are held by exactly the
/// classes with its value). The month groups (a month token: 18 classes or more) and the day
/// groups (a day token: 4 to 14 classes; the day-and-month tokens hold one or two).
fn token_groups(cores: &[Vec<u64>], hashes: usize) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let f: Vec<&[u64]> = cores.iter().map(Vec::as_slice).collect();
    let (mut months, mut day_groups) = (Vec::new(), Vec::new());
    let Some(words) = f.first().map(|w| w.len()) else {
        return (months, day_groups);
    };
    let m = words * 64;
    let mut counts = vec![0u32; m];
    bit_counts(&f, &(0..f.len()).collect::<Vec<_>>(), &mut counts);
    let all_freq: Vec<f64> = counts.iter().map(|&c| c as f64 / f.len() as f64).collect();
    let mut order: Vec<usize> = (0..m).filter(|&b| counts[b] >= 4).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let mut claimed = vec![false; m];
    let mut scratch = vec![0u32; m];
    let mut in_month = vec![false; f.len()];
    let mut in_day = vec![false; f.len()];
    for b0 in order {
        if claimed[b0] {
            continue;
        }
        let pat = super::mining::mine_from(&f, &all_freq, b0, hashes, 1.0, &mut scratch);
        claimed[b0] = true;
        if pat.bits.len() * 2 < hashes {
            continue;
        }
        for &b in &pat.bits {
            claimed[b] = true;
        }
        let h = pat.holders.len();
        let (list, seen) = if h >= 18 {
            (&mut months, &mut in_month)
        } else if (4..=14).contains(&h) {
            (&mut day_groups, &mut in_day)
        } else {
            continue;
        };
        // A class belongs to one month and one day: the first group found keeps it.
        let fresh: Vec<usize> = pat.holders.into_iter().filter(|&c| !seen[c]).collect();
        if fresh.len() * 2 >= h {
            for &c in &fresh {
                seen[c] = true;
            }
            list.push(fresh);
        }
    }
    (months, day_groups)
}

/// The bits set in at least `share` of the filters, when there are `min` of them, and (with
/// `base`, each bit's share over all filters) set in at least [`LIFT`] more of them than over
/// all: a bit common to every NIK (a frequent region or serial digit pair) tells nothing.
fn shared_bits(fs: &[&[u64]], share: f64, base: Option<&[f64]>, min: usize) -> Option<Vec<u64>> {
    if fs.len() < min.max(1) {
        return None;
    }
    let words = fs[0].len();
    let mut counts = vec![0u32; words * 64];
    bit_counts(fs, &(0..fs.len()).collect::<Vec<_>>(), &mut counts);
    let need = (share * fs.len() as f64).ceil() as u32;
    let mut core = vec![0u64; words];
    for (b, &c) in counts.iter().enumerate() {
        let lifted = base.is_none_or(|base| c as f64 / fs.len() as f64 - base[b] >= LIFT);
        if c >= need && lifted {
            core[b >> 6] |= 1 << (b & 63);
        }
    }
    Some(core)
}

/// Per record: its calendar class (see the module doc).
fn calendar_classes(
    dob: &[Option<&[u64]>],
    noise: f64,
    hashes: usize,
    groups: &YearGroups,
) -> Vec<Option<usize>> {
    let n = dob.len();
    // Distinct filters with their multiplicity, and each one's residual: its bits outside its
    // year group's core.
    let mut index: HashMap<&[u64], usize> = HashMap::new();
    let mut distinct: Vec<&[u64]> = Vec::new();
    let mut weight: Vec<usize> = Vec::new();
    let mut residual: Vec<Vec<u64>> = Vec::new();
    let mut of_distinct: Vec<Option<usize>> = Vec::with_capacity(n);
    for (r, f) in dob.iter().enumerate() {
        let Some(f) = *f else {
            of_distinct.push(None);
            continue;
        };
        let d = *index.entry(f).or_insert_with(|| {
            distinct.push(f);
            weight.push(0);
            let core = groups
                .of
                .get(r)
                .copied()
                .flatten()
                .and_then(|g| groups.cores.get(g))
                .filter(|c| c.len() == f.len() && popcount(c) >= 8);
            residual.push(match core {
                Some(c) => f.iter().zip(c).map(|(a, b)| a & !b).collect(),
                None => f.to_vec(),
            });
            distinct.len() - 1
        });
        weight[d] += 1;
        of_distinct.push(Some(d));
    }
    let d = distinct.len();
    if d == 0 {
        return vec![None; n];
    }
    let bits = distinct[0].len() * 64;
    // A calendar day's four tokens set about this many distinct bits; a core needs half of
    // them (a date without day or month has one token or none: no class).
    let four = bits as f64 * (1.0 - (-(4.0 * hashes as f64) / bits as f64).exp());
    let min_core = (0.5 * four).max(8.0) as u32;
    let per_day = (d as f64 / 366.0).max(1.0);
    let t = ((per_day / 3.0) as usize).clamp(3, 30);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| weight[b].cmp(&weight[a]).then(distinct[a].cmp(distinct[b])));
    let mut class_of: Vec<Option<usize>> = vec![None; d];
    let mut tried = vec![false; d];
    let mut cores: Vec<Vec<u64>> = Vec::new();
    let mut failed = 0;
    for &seed in &order {
        if class_of[seed].is_some() || tried[seed] || popcount(&residual[seed]) < min_core {
            continue;
        }
        if failed >= MAX_FAILED_SEEDS {
            break;
        }
        tried[seed] = true;
        let mut near: Vec<(u32, usize)> = (0..d)
            .filter(|&j| j != seed && class_of[j].is_none())
            .map(|j| (and_count(&residual[seed], &residual[j]), j))
            .collect();
        let keep = t.min(near.len());
        if keep < 2 {
            failed += 1;
            continue;
        }
        near.select_nth_unstable_by(keep - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        near.truncate(keep);
        let need = (near.len() as f64 * SHARED * (1.0 - noise)).ceil() as usize;
        let mut core = vec![0u64; residual[seed].len()];
        for b in 0..bits {
            // Counted on the neighbours' whole filters: each lost its own year core's bits.
            if bit(&residual[seed], b)
                && near.iter().filter(|(_, j)| bit(distinct[*j], b)).count() >= need
            {
                core[b >> 6] |= 1 << (b & 63);
            }
        }
        let size = popcount(&core);
        if size < min_core {
            failed += 1;
            continue;
        }
        let allow = (size as f64 * (2.0 * noise + 0.05)).ceil() as u32;
        let c = cores.len();
        for j in 0..d {
            // On the whole filter: a bit of the class core may be one of the candidate's own
            // year core, taken out of its residual.
            if class_of[j].is_none() && and_count(distinct[j], &core) + allow >= size {
                class_of[j] = Some(c);
            }
        }
        class_of[seed] = Some(c);
        cores.push(core);
    }
    // Classes whose cores nearly coincide are one calendar day found twice.
    let class = merge_coinciding(&cores, 0);
    of_distinct
        .into_iter()
        .map(|dd| dd.and_then(|dd| class_of[dd]).map(|c| class[c]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::tokens::{date_tokens, Tokens};
    use crate::normalize::date::PartialDate;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A keyed Bloom filter stand-in: `k` positions per token from a seeded hash (cached: the
    /// same tokens recur).
    fn filter(tokens: &[Vec<u8>], bits: usize, k: usize, key: u64) -> Vec<u64> {
        type Positions = HashMap<(Vec<u8>, u64), Vec<usize>>;
        thread_local! {
            static CACHE: std::cell::RefCell<Positions> = Default::default();
        }
        let mut w = vec![0u64; bits / 64];
        for t in tokens {
            let pos = CACHE.with(|c| {
                c.borrow_mut()
                    .entry((t.clone(), key))
                    .or_insert_with(|| {
                        (0..k)
                            .map(|i| {
                                let mut h = blake3::Hasher::new();
                                h.update(&key.to_le_bytes());
                                h.update(&(i as u64).to_le_bytes());
                                h.update(t);
                                let x = h.finalize();
                                u64::from_le_bytes(x.as_bytes()[..8].try_into().unwrap()) as usize
                                    % bits
                            })
                            .collect()
                    })
                    .clone()
            });
            for b in pos {
                w[b >> 6] |= 1 << (b & 63);
            }
        }
        w
    }

    fn dob_filter(y: i32, m: u8, d: u8) -> Vec<u64> {
        let mut t = Tokens::default();
        date_tokens(
            &PartialDate {
                year: y,
                month: Some(m),
                day: Some(d),
            },
            &mut t,
        );
        let toks: Vec<Vec<u8>> = t.iter().map(<[u8]>::to_vec).collect();
        filter(&toks, 256, 20, 7)
    }

    fn nik_filter(nik: &str) -> Vec<u64> {
        let mut t = Tokens::default();
        crate::encode::tokens::push_qgrams(nik, 2, &mut t);
        let toks: Vec<Vec<u8>> = t.iter().map(<[u8]>::to_vec).collect();
        filter(&toks, 256, 10, 8)
    }

    /// A population of people born over the public range's 41 years, with NIKs; the year partition is taken as the
    /// true years (its own tests cover it), with the year cores mined from the filters.
    #[allow(clippy::type_complexity)]
    fn population(
        people: usize,
        nik_share: f64,
    ) -> (
        Vec<Vec<u64>>,
        Vec<Option<Vec<u64>>>,
        Vec<bool>,
        Vec<(i32, u8, u8)>,
        YearGroups,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let days = calendar_days();
        let (mut dob, mut nik, mut female, mut truth) = (vec![], vec![], vec![], vec![]);
        for _ in 0..people {
            let y = rng.random_range(1968..2009);
            let (m, d) = days[rng.random_range(0..days.len())];
            let d = if m == 2 && d == 29 && y % 4 != 0 {
                28
            } else {
                d
            };
            let f = rng.random_bool(0.6);
            dob.push(dob_filter(y, m, d));
            nik.push(rng.random_bool(nik_share).then(|| {
                let dd = d + if f { 40 } else { 0 };
                nik_filter(&format!(
                    "32{:02}{:02}{dd:02}{m:02}{:02}{:04}",
                    rng.random_range(1..80),
                    rng.random_range(1..25),
                    y % 100,
                    rng.random_range(1..3000)
                ))
            }));
            female.push(f);
            truth.push((y, m, d));
        }
        let of: Vec<Option<usize>> = truth.iter().map(|t| Some((t.0 - 1968) as usize)).collect();
        let year: Vec<Option<i32>> = (1968..2009).map(Some).collect();
        let cores = (0..41)
            .map(|g| {
                let fs: Vec<&[u64]> = (0..people)
                    .filter(|&r| of[r] == Some(g))
                    .map(|r| dob[r].as_slice())
                    .collect();
                shared_bits(&fs, 0.9, None, 2).unwrap()
            })
            .collect();
        let groups = YearGroups {
            of,
            confidence: vec![1.0; 41],
            year,
            cores,
        };
        (dob, nik, female, truth, groups)
    }

    fn run(nik_share: f64, with_nik: bool) -> (f64, usize) {
        let (dob, nik, female, truth, groups) = population(12_000, nik_share);
        let dob_refs: Vec<Option<&[u64]>> = dob.iter().map(|f| Some(f.as_slice())).collect();
        let nik_refs: Vec<Option<&[u64]>> = nik.iter().map(|f| f.as_deref()).collect();
        let fem: Vec<Option<bool>> = female.iter().map(|&f| Some(f)).collect();
        let nf = NikFilters {
            filters: &nik_refs,
            noise: 0.0,
            hashes: 10,
            female: &fem,
        };
        let cal = calendar(&dob_refs, 0.0, 20, &groups, with_nik.then_some(&nf));
        let right = cal
            .of
            .iter()
            .zip(&truth)
            .filter(|(g, t)| g.is_some_and(|((m, d), _)| m == t.1 && d == t.2))
            .count();
        (right as f64 / truth.len() as f64, cal.classes)
    }

    #[test]
    fn calendar_days_are_found_and_labelled_through_the_nik() {
        let (share, classes) = run(0.6, true);
        assert!((340..=400).contains(&classes), "{classes} classes");
        // 86 % when measured (12,000 people, 60 % with a NIK): the day or month is lost mostly
        // where a bigram's mask stays unknown.
        assert!(share > 0.75, "{share}");
    }

    #[test]
    fn without_a_nik_the_classes_stay_unlabelled() {
        let (share, classes) = run(0.6, false);
        assert!((340..=400).contains(&classes), "{classes} classes");
        assert_eq!(share, 0.0);
    }

    #[test]
    fn predicted_bigrams_follow_the_nik_format() {
        // 7 March, a man: "0703" → 07, 70, 03; a woman: "4703" → 47, 70, 03.
        assert_eq!(predicted(0, (3, 7)), vec![3, 7, 70]);
        assert_eq!(predicted(1, (3, 7)), vec![3, 47, 70]);
        assert_eq!(predicted(2, (11, 21)), vec![11]);
        assert_eq!(calendar_days().len(), 366);
    }
}
