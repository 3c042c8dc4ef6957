//! # padan — privacy-preserving record linkage
//!
//! padan (Indonesian *pemadanan data*, "data matching") finds which records of several agencies
//! belong to the same person without any agency handing over raw identities.
//!
//! ```text
//!  agency side (holds the secret key)                 linkage unit (no key, no raw data)
//!  extract.csv / .parquet                              A.padan.parquet  B.padan.parquet ...
//!    │  extract: read with the agency's column map        │  io: read + check compatibility
//!    ▼                                                    ▼
//!  normalize (names, passport, dates, NIK, sex, place)  link::block (keyed tokens + LSH)
//!    │  unusable rows → rejects.csv                       ▼
//!    ▼                                                 link::compare (Dice, SIMD popcount)
//!  encode (keyed blake3 Bloom filters + tokens)           ▼
//!    ▼                                                 link::score (Fellegi–Sunter, EM)
//!  A.padan.parquet ─────────── sent ──────────────▶       ▼
//!                                                      link::resolve (clusters) → match set
//! ```
//!
//! Each module hands plain data to the next; the `padan` binary only parses arguments, wires the
//! stages together and shows progress.
#![deny(missing_docs)]

pub mod agency;
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
pub mod schema;
pub mod scoring;
pub mod synth;

pub use error::{Error, Result};

/// The padan version, stored in every file it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
