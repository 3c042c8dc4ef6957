//! `padan link` as the linkage unit runs it month after month: the same files in any order and at
//! any thread count give a byte-identical match set, and `person_id`s come from the content.

use std::collections::{BTreeMap, BTreeSet};

use super::harness::Dir;
use super::link::{encode_all, link, strings};

const MATCH_SET: [&str; 3] = ["pairs.parquet", "clusters.parquet", "manifest.json"];

#[test]
fn any_input_order_at_any_thread_count_gives_a_byte_identical_match_set() {
    let d = Dir::new();
    let inputs = encode_all(&d);
    let mut reversed = inputs.clone();
    reversed.reverse();
    let mut rotated = inputs.clone();
    rotated.rotate_left(3);
    let runs = [
        ("o1t1", &inputs, "1"),
        ("o2t2", &reversed, "2"),
        ("o3t1", &rotated, "1"),
        ("o3t2", &rotated, "2"),
    ];
    for (out, files, threads) in runs {
        link(&d, files, out, &["--threads", threads]).ok();
    }
    for f in MATCH_SET {
        let first = std::fs::read(d.path("o1t1").join(f)).unwrap();
        for (out, _, _) in &runs[1..] {
            let other = std::fs::read(d.path(out).join(f)).unwrap();
            assert!(first == other, "{f} of run {out} differs from run o1t1");
        }
    }
}
