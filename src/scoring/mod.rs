//! Scoring and resolution: turn compared candidate pairs into match weights and clusters.
//!
//! * [`patterns`] — the distinct comparison vectors (levels per field) of a set of pairs, counted.
//! * [`em`] — Fellegi–Sunter: patterns → m/u fitted by EM → per-field weights, match weight,
//!   probability.
//! * [`train`] — the fit per block kind (`model.training = "blocks"`).
//! * [`slotfit`] — the model of slot schemas: the shared-key pattern as a comparison, each field
//!   conditioned on what the shared keys bind.
//! * [`resolve`] — edges above the match threshold → clusters, best edge first, respecting
//!   the one-record-per-agency constraint (with strong within-agency duplicates allowed).
//!
//! Both are pure, deterministic algorithms (no I/O): the same input gives bit-identical output
//! whatever the number of rayon threads.

pub mod em;
pub mod patterns;
pub mod resolve;
pub mod slotfit;
pub mod train;

pub use em::{
    cap_exact_u, estimate_u, fit, probability_from_weight, split_exact_u, weight_for_probability,
    EmOptions, EmReport, FieldParams, Model, Patterns,
};
pub use resolve::{
    clusters, clusters_review, clusters_with, ClusterOptions, Clustering, Constraints, Edge,
};
pub use train::{fit_by_blocks, KindFit, KindPatterns, Trained};
