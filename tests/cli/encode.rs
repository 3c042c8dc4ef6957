//! `padan encode` on the seven synthetic agency extracts (fixtures/synth).

use std::collections::BTreeSet;

use super::harness::{
    check_counts, kv_metadata, read_rejects, record_ids, rejects_of, synth_extract, Dir, AGENCIES,
};

#[test]
fn every_synthetic_agency_encodes_with_complete_bookkeeping() {
    let d = Dir::new();
    let mut total = 0;
    for agency in AGENCIES {
        let out = format!("{agency}.padan.parquet");
        d.encode_synth(agency, &out, &[]).ok();
        let out = d.path(&out);
        let (read, encoded, _) = check_counts(&out);
        // Every data line of the extract was read (the synthetic extracts have no multi-line cells).
        // (kemensos's is Windows-1252 with CRLF line ends: count bytes, not UTF-8 lines)
        let bytes = std::fs::read(synth_extract(agency)).unwrap();
        let lines = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64;
        assert_eq!(read, lines - 1, "{agency}: rows read");
        assert!(encoded > 0, "{agency}: rows encoded");
        total += read;

        let kv = kv_metadata(&out);
        assert_eq!(kv["padan.format"], "encoded");
        assert_eq!(kv["padan.agency"], agency);
        assert_eq!(kv["padan.key_fingerprint"], "490a-100f-f493");
        assert_eq!(kv["padan.pseudonymized_ids"], "false");
        assert_eq!(
            kv["padan.encoding_version"],
            padan::io::encoded::ENCODING_VERSION.to_string()
        );
        assert_eq!(kv["padan.version"], env!("CARGO_PKG_VERSION"));
        for k in [
            "padan.dropped_by_reason",
            "padan.flags_by_reason",
            "padan.schema",
        ] {
            serde_json::from_str::<serde_json::Value>(&kv[k])
                .unwrap_or_else(|e| panic!("{agency}: {k} is JSON: {e}"));
        }
        // The library reads back what the binary wrote.
        let f = padan::io::encoded::EncodedFile::read(&out).expect("EncodedFile::read");
        assert_eq!(f.len() as u64, encoded);
        assert_eq!(f.meta.schema_fingerprint, kv["padan.schema_fingerprint"]);

        // Record ids are the agency's, unique, in extract order minus the rejected rows.
        let ids = record_ids(&out);
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{agency}: unique ids");
    }
    assert_eq!(total, 1444, "the synthetic fixtures hold 1444 records");
    // Nothing but the outputs is left in the directory: temporary files were renamed.
    let mut names: Vec<String> = std::fs::read_dir(d.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = AGENCIES
        .iter()
        .flat_map(|a| {
            [
                format!("{a}.padan.parquet"),
                format!("{a}.padan.parquet.rejects.csv"),
            ]
        })
        .collect();
    want.sort();
    assert_eq!(names, want);
}

/// Byte-identical output (encoded file and rejects) at 1 and 2 threads.
fn assert_deterministic(d: &Dir, name: &str, encode: impl Fn(&str, &[&str])) {
    let a = format!("{name}.t1.padan.parquet");
    let b = format!("{name}.t2.padan.parquet");
    encode(&a, &["--threads", "1"]);
    encode(&b, &["--threads", "2"]);
    let (a, b) = (d.path(&a), d.path(&b));
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "{name}: encoded files differ between --threads 1 and --threads 2"
    );
    assert_eq!(
        std::fs::read(rejects_of(&a)).unwrap(),
        std::fs::read(rejects_of(&b)).unwrap(),
        "{name}: rejects differ between --threads 1 and --threads 2"
    );
}

#[test]
fn output_is_byte_identical_at_one_and_two_threads() {
    let d = Dir::new();
    for agency in AGENCIES {
        assert_deterministic(&d, agency, |out, t| {
            d.encode_synth(agency, out, t).ok();
        });
        // Small batches: many batches through the reader thread and the writer.
        assert_deterministic(&d, &format!("{agency}-b37"), |out, t| {
            let mut args = vec!["--batch-rows", "37"];
            args.extend_from_slice(t);
            d.encode_synth(agency, out, &args).ok();
        });
    }
}

#[test]
fn output_is_byte_identical_at_one_and_two_threads_when_chunks_run_in_parallel() {
    // The fixtures are smaller than one parallel chunk (1024 rows), so build a 4-fold bigger
    // extract from all of bp2mi's rows (ids made unique) to make both threads work, each with its
    // own caches, and with --pseudonymize-ids on.
    let d = Dir::new();
    let (input, n_rows) = super::harness::big_extract(&d);
    let cols = super::harness::synth_columns("bp2mi").display().to_string();
    assert_deterministic(&d, "big", |out, t| {
        let lookup = format!("{out}.lookup.csv");
        let mut args = vec![
            "--columns",
            cols.as_str(),
            "--pseudonymize-ids",
            "--lookup",
            lookup.as_str(),
        ];
        args.extend_from_slice(t);
        d.encode(&input, out, &args).ok();
    });
    assert_eq!(
        std::fs::read(d.path("big.t1.padan.parquet.lookup.csv")).unwrap(),
        std::fs::read(d.path("big.t2.padan.parquet.lookup.csv")).unwrap()
    );
    let (read, _, _) = check_counts(&d.path("big.t2.padan.parquet"));
    assert_eq!(read, n_rows as u64);
}

#[test]
fn pseudonymized_ids_are_keyed_stable_and_the_lookup_stays_beside_the_extract() {
    let d = Dir::new();
    let cols = super::harness::synth_columns("kemlu").display().to_string();
    let input = d.write("kemlu.csv", std::fs::read(synth_extract("kemlu")).unwrap());
    d.encode(
        &input,
        "kemlu.padan.parquet",
        &["--columns", &cols, "--pseudonymize-ids"],
    )
    .ok();
    let out = d.path("kemlu.padan.parquet");
    let kv = kv_metadata(&out);
    assert_eq!(kv["padan.pseudonymized_ids"], "true");
    let ids = record_ids(&out);
    assert!(ids.iter().all(|i| i.starts_with("ps-")), "{ids:?}");
    // The default lookup is beside the extract: EXTRACT.padan-lookup.csv.
    let lookup = d.path("kemlu.padan-lookup.csv");
    let mut r = csv::Reader::from_path(&lookup).expect("the lookup file");
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["record_id", "pseudonym"]
    );
    let pairs: Vec<(String, String)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].to_string())
        })
        .collect();
    assert_eq!(pairs.len(), ids.len());
    assert_eq!(
        pairs.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
        ids,
        "lookup in file order"
    );
    assert!(pairs.iter().all(|(o, _)| o.starts_with("KML-")));
    // Same key, same agency → same pseudonyms; another agency name → other pseudonyms.
    d.encode(
        &input,
        "again.padan.parquet",
        &[
            "--columns",
            &cols,
            "--pseudonymize-ids",
            "--lookup",
            "l2.csv",
        ],
    )
    .ok();
    assert_eq!(record_ids(&d.path("again.padan.parquet")), ids);
    d.encode(
        &input,
        "other.padan.parquet",
        &[
            "--columns",
            &cols,
            "--agency",
            "kemlu2",
            "--pseudonymize-ids",
            "--lookup",
            "l3.csv",
        ],
    )
    .ok();
    let other = record_ids(&d.path("other.padan.parquet"));
    assert!(ids.iter().zip(&other).all(|(a, b)| a != b));
}

#[test]
fn encode_flags_are_equivalent_to_a_column_map() {
    let d = Dir::new();
    d.encode_synth("kemlu", "map.padan.parquet", &[]).ok();
    d.encode(
        &synth_extract("kemlu"),
        "flags.padan.parquet",
        &[
            "--agency",
            "kemlu",
            "--id-column",
            "no_kasus",
            "--column",
            "name=nama_lengkap",
            "--column",
            "passport=no_paspor",
            "--column",
            "dob=tgl_lahir",
            "--column",
            "sex=jenis_kelamin",
            "--column",
            "birthplace=tempat_lahir",
            "--date-order",
            "dmy",
        ],
    )
    .ok();
    assert!(
        std::fs::read(d.path("map.padan.parquet")).unwrap()
            == std::fs::read(d.path("flags.padan.parquet")).unwrap(),
        "--columns FILE and --id-column/--column flags give the same file"
    );
}

#[test]
fn the_summary_counts_every_rejected_dropped_and_flagged_reason() {
    let d = Dir::new();
    let cols = super::harness::synth_columns("polri").display().to_string();
    let r = d
        .padan([
            "encode".as_ref(),
            "--key".as_ref(),
            super::harness::test_key().as_os_str(),
            "--columns".as_ref(),
            cols.as_ref(),
            "--input".as_ref(),
            synth_extract("polri").as_os_str(),
            "--out".as_ref(),
            "polri.padan.parquet".as_ref(),
        ])
        .ok();
    let log = read_rejects(&rejects_of(&d.path("polri.padan.parquet")));
    assert!(!log.is_empty(), "polri's extract has flagged rows");
    for l in &log {
        assert!(
            r.stdout.contains(&l.reason),
            "reason {} in the summary: {}",
            l.reason,
            r.stdout
        );
    }
    assert!(r.stdout.contains("490a-100f-f493"), "key fingerprint shown");
}
