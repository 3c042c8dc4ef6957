//! # padan — privacy-preserving record linkage
//!
//! padan (Indonesian *pemadanan data*, "data matching") finds which records of several agencies
//! belong to the same person without any agency handing over raw identities.
//!
//! ```text
//!  agency side (holds the secret key)                 linkage unit (no key, no raw data)
//!  extract.csv / .parquet                              A.padan.parquet  B.padan.parquet ...
//!    │  extract: read with the agency's column map        │  link::records: read + check inputs
//!    ▼                                                    ▼
//!  normalize (names, passport, dates, NIK, sex, place)  link::block (keyed tokens + LSH)
//!    │  unusable rows → rejects.csv                       ▼
//!    ▼                                                 link::compare (link::dice kernels, SIMD)
//!  encode (keyed blake3 Bloom filters + tokens)           ▼
//!    ▼                                                 scoring::{patterns, em, train} (fit, score)
//!  io::encoded → A.padan.parquet ───── sent ──────▶       ▼
//!  io::lookup → lookup.csv (kept)                      scoring::resolve (clusters)
//!                                                         ▼
//!                                                      io::matchset + io::manifest → match set
//!                                                         │
//!        reveal (agency: own ids back) ◀──────────────────┼──────▶ evaluate (io::truth, metrics)
//!                                                         └──────▶ report (HTML + SVG)
//! ```
//!
//! Each module hands plain data to the next; every file format has one owner in [`io`]; the
//! `padan` binary only parses arguments, wires the stages together and shows progress. The module
//! map, the data flow and the owner of each file format are in [`architecture`].
#![deny(missing_docs)]

pub mod agency;
pub mod architecture {
    #![doc = include_str!("../docs/architecture.md")]
}
pub mod attack;
pub mod cli;
pub mod encode;
pub mod error;
pub mod evaluate;
pub mod extract;
pub mod io;
pub mod keys;
pub mod link;
pub mod metrics;
pub mod normalize;
pub mod population;
pub mod report;
pub mod reveal;
pub mod review;
pub mod schema;
pub mod scoring;
pub mod synth;

pub use error::{Error, Result};

/// The padan version, stored in every file it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
