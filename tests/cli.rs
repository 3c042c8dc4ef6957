//! padan's integration tests: one test binary that runs the real `padan` binary on fixtures.
//!
//! Layout (files under `tests/cli/`):
//!
//! | module | what |
//! | --- | --- |
//! | `harness` | temp-dir harness: runs the binary, checks it never panics, reads Parquet and rejects |
//! | `keygen` | `padan keygen` / `padan fingerprint` |
//! | `schema` | `padan schema default` / `padan schema check` |
//! | `encode` | `padan encode` on the synthetic fixtures: counts, metadata, thread determinism |
//! | `formats` | the formats agencies export (fixtures/formats): xlsx, gzip, UTF-16, pipe, title rows, stdin, pandas Parquet; reject-rate limit; `--json` |
//! | `kat` | known-answer vectors (fixtures/kat): the encoding is an API |
//! | `plaintext` | no plaintext identifier in any encoded file |
//! | `malformed` | malformed extracts (fixtures/malformed) and bad key files: clear errors or counted rejects |
//! | `link` | `padan link`, `evaluate`, `report`, `demo`: invariants, quality floors (synthetic, Febrl4), determinism, refusals, no identifier values |
//! | `attack` | `padan attack`: unhardened encodings fall to the attacks, the default schema holds them under 1 % |
//! | `props` | property tests through the CLI: every row is encoded or rejected |
//! | `python` | the encoded file in pyarrow, polars and DuckDB (tests/python/check_encoded.py) |
//! | `python_package` | the Python package (`pip install .`): its pytest suite, python/tests, against this binary |
//! | `reveal` | `padan encode --decoys` and `padan reveal`: decoys deterministic and hidden, reveal resolves own ids, drops decoys, refuses wrong agency / lookup |
//! | `review` | the clerical review loop on `padan synth` data: `review export`, verdicts from the truth, `link --decisions` (honoured, F1 not lower, a non-match splits a chain), `evaluate --decisions` (each band within its interval), `reveal` of a review file, no identity in review outputs |
//! | `incremental` | `padan link --previous`: a month linked incrementally against a full run, person ids carried, merges, splits and dropped records in changes.parquet, refusals |
//! | `order` | `padan link` over the linkage unit's runs: byte-identical results in any input order and thread count, content-derived person ids |
//! | `sentinel` | every command fed malformed inputs whose every cell is a sentinel: no sentinel in any output |
//! | `regression` | one test per bug found |
//! | `help` | every command's `--help` shows examples and exit codes; `padan completions`, `padan man` |
//! | `truth_lookup` | `evaluate` and `report --truth` with and without `--lookup` for a pseudonymized agency |
//! | `readme` | the README's console blocks run from a copy of the repository root as printed |
//! | `overwrite` | every writer refuses an existing output unless `--force` |
//!
//! Run them with `cargo test --test cli` (add a name filter, e.g. `cargo test --test cli kat`).

mod cli {
    pub mod harness;

    mod attack;
    mod encode;
    mod formats;
    mod help;
    mod incremental;
    mod kat;
    mod keygen;
    mod link;
    mod malformed;
    mod order;
    mod overwrite;
    pub mod plaintext;
    mod props;
    mod python;
    mod python_package;
    mod readme;
    mod regression;
    mod reveal;
    mod review;
    mod schema;
    mod sentinel;
    mod truth_lookup;
}
