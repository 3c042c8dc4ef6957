//! The linkage side: everything the linkage unit runs on encoded files (no key, no raw data).
//!
//! ```text
//! records (read + check inputs) → block (keyed tokens ∪ LSH) → compare (levels, Dice kernels)
//!   → fit (scoring: u from random pairs, m and λ by EM) → score (weights, decisions)
//!   → resolve (scoring::clusters) → write (io::matchset::MatchSetWriter)
//! ```
//!
//! - [`records`]: the columnar in-memory view of all inputs ([`records::Records`]).
//! - [`block`], [`compare`]: candidate pairs and their comparison levels.
//! - [`dice`]: the comparison kernels — Dice similarity of Bloom filters, one pair at a time
//!   (random access, per candidate pair and field) and all pairs above a threshold, with SIMD
//!   popcount paths chosen at run time and a portable fallback that gives identical results.
//! - [`pipeline`]: one whole run ([`pipeline::LinkJob`]) as named stage functions.
//! - [`record_level`]: record-level mode, for inputs with only a record-level filter (imported
//!   CLKs): its own block, compare and score stages, then the pipeline's resolve and write.
//! - [`incremental`]: `padan link --previous`: link against a previous match set, comparing only
//!   pairs with an added or changed record, carrying `person_id`s forward, writing `changes.parquet`.
//! - [`decided`]: what the scoring stage of either mode hands to resolve and write.
//! - [`config`]: the `link.toml` configuration.
//! - [`bench`](mod@bench): the `padan bench dice` benchmark.
//! - [`budget`]: the memory guard (refuses a run whose candidate set would not fit).
//! - [`slots`]: salt slots (blocking on slot tags, comparison inside a shared slot).
pub mod bench;
pub mod block;
pub mod budget;
pub mod compare;
pub mod config;
pub mod decided;
pub mod dice;
pub mod distributed;
pub mod incremental;
pub mod pipeline;
pub mod record_level;
pub mod records;
pub mod slots;

pub use crate::io::manifest::Manifest;
pub use compare::TermFrequencies;
pub use config::{ComparisonConfig, LinkConfig, DEFAULT_CONFIG_TOML};
pub use pipeline::LinkJob;
