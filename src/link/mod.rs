//! The linkage side: everything the linkage unit runs on encoded files (no key, no raw data).
//!
//! ```text
//! data (read + check inputs) → block (keyed tokens ∪ LSH) → compare (levels, Dice kernels)
//!   → scoring::em (u from random pairs, m and λ by EM) → weights, decisions
//!   → scoring::resolve (clusters) → output (pairs, clusters, candidates, manifest)
//! ```
//!
//! - [`dice`]: the comparison kernels — Dice similarity of Bloom filters, one pair at a time
//!   (random access, per candidate pair and field) and all pairs above a threshold, with SIMD
//!   popcount paths chosen at run time and a portable fallback that gives identical results.
//! - [`bench`]: the `padan bench dice` benchmark.
//! - [`budget`]: the memory guard (refuses a run whose candidate set would not fit).
//! - [`config`]: the `link.toml` configuration.
//! - [`pipeline`]: one whole run ([`pipeline::LinkJob`]).
//! - [`slots`]: salt slots (blocking on slot tags, comparison inside a shared slot).
//! - [`record`]: record-level mode, for inputs with only a record-level filter (imported CLKs).
pub mod bench;
pub mod block;
pub mod budget;
pub mod compare;
pub mod config;
pub mod data;
pub mod dice;
pub mod output;
pub mod pipeline;
pub mod record;
pub mod slots;

pub use config::{LinkConfig, DEFAULT_CONFIG_TOML};
pub use pipeline::{LinkJob, Manifest};
