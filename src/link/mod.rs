//! The linkage side: everything the linkage unit runs on encoded files (no key, no raw data).
//!
//! - [`dice`]: the comparison kernels — Dice similarity of Bloom filters, one pair at a time
//!   (random access, per candidate pair and field) and all pairs above a threshold, with SIMD
//!   popcount paths chosen at run time and a portable fallback that gives identical results.
//! - [`bench`]: the `padan bench dice` benchmark (thresholded kernel against a raw AND+popcount
//!   loop measured in the same run).
pub mod bench;
pub mod dice;
