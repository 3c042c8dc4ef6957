"""padan from Python gives what the CLI gives: the same encoded files (byte for byte from a path,
row for row from a table or data frame), the same match set, evaluation and report."""

from __future__ import annotations

import json
import tempfile

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import padan
from conftest import AGENCIES, FIXTURES, KEY, synth

DELIMITERS = {"imigrasi": "\t", "kpppa": ";"}
ENCODINGS = {"kemensos": "cp1252"}  # kemensos exports Windows-1252


def read_extract_as_strings(agency: str) -> pa.Table:
    """The extract as a pyarrow table of text columns (empty cells as empty strings), as an
    analyst would load it."""
    csv, _ = synth(agency)
    encoding = ENCODINGS.get(agency, "utf-8")
    header = csv.read_text(encoding=encoding).splitlines()[0].split(DELIMITERS.get(agency, ","))
    return pacsv.read_csv(
        csv,
        read_options=pacsv.ReadOptions(encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=DELIMITERS.get(agency, ",")),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header}, strings_can_be_null=False
        ),
    )


def cli_encode(cli, tmp_path, agency: str) -> pa.Table:
    csv, cols = synth(agency)
    out = tmp_path / f"cli-{agency}.padan.parquet"
    cli("encode", "--key", KEY, "--columns", cols, "--input", csv, "--out", out, "--quiet")
    return out


@pytest.mark.parametrize("agency", AGENCIES)
def test_encode_of_a_path_is_the_cli_file_byte_for_byte(cli, tmp_path, agency):
    csv, cols = synth(agency)
    cli_out = cli_encode(cli, tmp_path, agency)
    out = tmp_path / f"py-{agency}.padan.parquet"
    enc = padan.encode(csv, key=KEY, columns=cols, out=out)
    assert out.read_bytes() == cli_out.read_bytes()
    rejects = pathlib_bytes(str(out) + ".rejects.csv")
    assert rejects == pathlib_bytes(str(cli_out) + ".rejects.csv")
    assert enc.table.equals(pq.read_table(cli_out), check_metadata=True)
    assert enc.summary["rows_encoded"] == enc.table.num_rows
    assert enc.rejects.num_rows == len(rejects.splitlines()) - 1
    # `table, rejects = padan.encode(...)`
    table, rej = enc
    assert table is enc.table and rej is enc.rejects


def pathlib_bytes(p: str) -> bytes:
    with open(p, "rb") as f:
        return f.read()


def without_line(t: pa.Table) -> list:
    # A CSV row is named by its line in the file (the header is line 1), a table row by its
    # 1-based position: the same row, numbered one apart.
    return sorted(zip(*(t.column(c).to_pylist() for c in t.column_names if c != "line")))


@pytest.mark.parametrize("agency", AGENCIES)
def test_encode_of_a_pyarrow_table_equals_the_cli_row_for_row(cli, tmp_path, agency):
    _, cols = synth(agency)
    cli_out = cli_encode(cli, tmp_path, agency)
    enc = padan.encode(read_extract_as_strings(agency), key=KEY, columns=cols)
    expected = pq.read_table(cli_out)
    assert enc.table.equals(expected, check_metadata=True)
    cli_rejects = padan._read_rejects(str(cli_out) + ".rejects.csv")
    assert without_line(enc.rejects) == without_line(cli_rejects)
    lines = [int(x) for x in enc.rejects.column("line").to_pylist()]
    cli_lines = [int(x) for x in cli_rejects.column("line").to_pylist()]
    assert lines == [x - 1 for x in cli_lines]


def test_pandas_and_polars_frames_encode_like_the_pyarrow_table(tmp_path):
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    _, cols = synth("polri")
    t = read_extract_as_strings("polri")
    base = padan.encode(t, key=KEY, columns=cols).table
    df = t.to_pandas()
    assert isinstance(df, pd.DataFrame)
    # A non-default index is not a column of the extract.
    df.index = df.index * 3 + 7
    assert padan.encode(df, key=KEY, columns=cols).table.equals(base, check_metadata=True)
    pf = pl.from_arrow(t)
    assert padan.encode(pf, key=KEY, columns=cols).table.equals(base, check_metadata=True)
    assert padan.encode(pf.lazy(), key=KEY, columns=cols).table.equals(base, check_metadata=True)
    # A record batch reader streams its batches.
    reader = pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=100))
    assert padan.encode(reader, key=KEY, columns=cols).table.equals(base, check_metadata=True)


def test_typed_columns_read_as_a_parquet_extract_would(cli, tmp_path):
    # pandas' typical frame: an integer NIK with gaps (float64), a datetime birth date.
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "nama": ["SITI AMINAH", "BUDI SANTOSO", "DEWI"],
            "nik": [3201014703900001.0, None, 3171010101800002.0],
            "lahir": pd.to_datetime(["1990-03-07", "1985-12-01", None]),
        }
    )
    parquet = tmp_path / "extract.parquet"
    df.to_parquet(parquet, index=False)
    flags = dict(agency="x", id_column="id", column={"name": "nama", "nik": "nik", "dob": "lahir"})
    cli_out = tmp_path / "cli.padan.parquet"
    cli(
        "encode", "--key", KEY, "--agency", "x", "--id-column", "id", "--column", "name=nama",
        "--column", "nik=nik", "--column", "dob=lahir", "--input", parquet, "--out", cli_out,
        "--quiet",
    )
    enc = padan.encode(df, key=KEY, **flags)
    assert enc.table.equals(pq.read_table(cli_out), check_metadata=True)
    # The Parquet extract by path: the CLI's file byte for byte.
    out = tmp_path / "py.padan.parquet"
    padan.encode(parquet, key=KEY, out=out, **flags)
    assert out.read_bytes() == cli_out.read_bytes()


@pytest.fixture(scope="module")
def cli_match_set(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    files = []
    for a in AGENCIES:
        csv, cols = synth(a)
        out = d / f"{a}.padan.parquet"
        cli("encode", "--key", KEY, "--columns", cols, "--input", csv, "--out", out, "--quiet")
        files.append(out)
    cli("link", "--write-candidates", "--out", d / "ms", "--quiet", *files)
    return d, files


def test_link_gives_the_cli_match_set_row_for_row(cli_match_set, tmp_path):
    d, files = cli_match_set
    encoded = []
    for a in AGENCIES:
        csv, cols = synth(a)
        encoded.append(padan.encode(csv, key=KEY, columns=cols, out=tmp_path / f"{a}.padan.parquet"))
    ms = padan.link(encoded, out=tmp_path / "ms", write_candidates=True)
    for name in ("pairs.parquet", "clusters.parquet", "candidates.parquet"):
        ours, theirs = pq.read_table(tmp_path / "ms" / name), pq.read_table(d / "ms" / name)
        assert ours.num_rows > 0
        assert ours.equals(theirs), name
    assert ms.pairs.equals(pq.read_table(d / "ms" / "pairs.parquet"))
    assert ms.clusters.equals(pq.read_table(d / "ms" / "clusters.parquet"))
    cli_manifest = json.loads((d / "ms" / "manifest.json").read_text())
    for k in ("counts", "thresholds", "model", "schema_fingerprint", "key_fingerprint"):
        assert ms.manifest[k] == cli_manifest[k], k
    # The same match set read back by path.
    again = padan.read_match_set(tmp_path / "ms")
    assert again.pairs.equals(ms.pairs) and again.candidates.equals(ms.candidates)


def test_link_of_in_memory_tables_gives_the_same_clusters(cli_match_set):
    d, files = cli_match_set
    tables = [pq.read_table(f) for f in files]
    ms = padan.link(tables)
    assert ms.clusters.equals(pq.read_table(d / "ms" / "clusters.parquet"))
    assert ms.pairs.equals(pq.read_table(d / "ms" / "pairs.parquet"))
    assert ms.candidates is None


def test_evaluate_is_the_cli_json(cli, cli_match_set):
    d, _ = cli_match_set
    truth = FIXTURES / "synth" / "truth.csv"
    ours = padan.evaluate(d / "ms", truth=truth)
    theirs = json.loads(cli("evaluate", d / "ms", "--truth", truth, "--json").stdout)
    assert ours == theirs
    assert ours["clusters"]["pairwise"]["f1"] > 0.8


def test_report_writes_the_cli_report(cli, cli_match_set, tmp_path):
    d, _ = cli_match_set
    out = padan.report(d / "ms", tmp_path / "report.html", truth=FIXTURES / "synth" / "truth.csv")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert out == str(tmp_path / "report.html")
    assert html.lstrip().lower().startswith("<!doctype html")
    cli("report", d / "ms", "--out", tmp_path / "cli.html", "--truth", FIXTURES / "synth" / "truth.csv")
    # Same sections (the run time inside differs).
    assert html.count("<h2") == (tmp_path / "cli.html").read_text(encoding="utf-8").count("<h2")
    with pytest.raises(padan.ConfigError, match="already exists"):
        padan.report(d / "ms", tmp_path / "report.html")


def test_encoded_rows_come_back_in_memory_without_a_file(cli, tmp_path, monkeypatch):
    # The encoder's record batches are handed over as they are made: no encoded file is written
    # (the temporary directory is left empty), and the table is the CLI's file row for row,
    # metadata for metadata, whatever the batch size.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    _, cols = synth("bp2mi")
    cli_out = cli_encode(cli, tmp_path, "bp2mi")
    expected = pq.read_table(cli_out)
    enc = padan.encode(read_extract_as_strings("bp2mi"), key=KEY, columns=cols, batch_rows=7)
    assert list(scratch.iterdir()) == []
    assert enc.out is None
    assert enc.table.schema.equals(expected.schema, check_metadata=True)
    assert enc.table.schema.metadata == expected.schema.metadata
    assert enc.table.equals(expected, check_metadata=True)
    # One chunk per encoder batch (7 rows, fewer where rows were rejected), in order.
    assert enc.table.column("record_id").num_chunks > enc.table.num_rows // 7
    assert all(len(c) <= 7 for c in enc.table.column("record_id").chunks)
    # The same rows again: the same table (deterministic order, whatever the thread count).
    again = padan.encode(read_extract_as_strings("bp2mi"), key=KEY, columns=cols, threads=1)
    assert again.table.equals(enc.table, check_metadata=True)
    # On request the file is written there (lazily) and is an encoded file the CLI reads.
    assert pq.read_table(enc.path).equals(expected, check_metadata=True)
    assert enc.path.startswith(str(scratch))


def test_pseudonymized_ids_with_decoys_come_back_like_the_cli_file(cli, tmp_path):
    csv, cols = synth("kemlu")
    cli_out = tmp_path / "cli.padan.parquet"
    cli("encode", "--key", KEY, "--columns", cols, "--input", csv, "--out", cli_out,
        "--pseudonymize-ids", "--lookup", tmp_path / "cli.lookup.csv", "--decoys", "0.5",
        "--batch-rows", "40", "--quiet")
    enc = padan.encode(csv, key=KEY, columns=cols, pseudonymize_ids=True,
                       lookup=tmp_path / "py.lookup.csv", decoys=0.5, batch_rows=40)
    assert enc.table.equals(pq.read_table(cli_out), check_metadata=True)
    assert enc.summary["decoys"] > 0
    assert enc.table.schema.metadata[b"padan.pseudonymized_ids"] == b"true"
    assert (tmp_path / "py.lookup.csv").read_bytes() == (tmp_path / "cli.lookup.csv").read_bytes()


def test_out_writes_the_cli_file_and_returns_the_same_table(cli, tmp_path):
    _, cols = synth("polri")
    cli_out = cli_encode(cli, tmp_path, "polri")
    out = tmp_path / "py.padan.parquet"
    enc = padan.encode(read_extract_as_strings("polri"), key=KEY, columns=cols, out=out)
    assert enc.out == str(out) and enc.path == str(out)
    assert out.read_bytes() == cli_out.read_bytes()
    assert enc.table.equals(pq.read_table(cli_out), check_metadata=True)
    assert enc.rejects.num_rows > 0


def test_streamed_tables_link_like_the_cli_files(cli, cli_match_set, tmp_path):
    d, files = cli_match_set
    encoded = []
    for a in AGENCIES:
        _, cols = synth(a)
        enc = padan.encode(read_extract_as_strings(a), key=KEY, columns=cols)
        assert enc.out is None
        encoded.append(enc)
    # padan.link on the results (written to encoded files for the core on the way)...
    ms = padan.link(encoded)
    assert ms.pairs.num_rows > 0
    assert ms.pairs.equals(pq.read_table(d / "ms" / "pairs.parquet"))
    assert ms.clusters.equals(pq.read_table(d / "ms" / "clusters.parquet"))
    # ...and the tables written to Parquet by pyarrow, linked by the CLI.
    paths = []
    for a, enc in zip(AGENCIES, encoded):
        p = tmp_path / f"{a}.padan.parquet"
        pq.write_table(enc.table, p)
        paths.append(p)
    cli("link", "--out", tmp_path / "ms", "--quiet", *paths)
    for name in ("pairs.parquet", "clusters.parquet"):
        assert pq.read_table(tmp_path / "ms" / name).equals(pq.read_table(d / "ms" / name)), name


def test_too_many_rejects_in_memory_is_refused_with_no_table(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    t = pa.table({"id": [f"r{i}" for i in range(20)], "nama": [""] * 20, "lahir": ["x"] * 20})
    with pytest.raises(padan.TooManyRejectsError) as e:
        padan.encode(t, key=KEY, agency="s", id_column="id",
                     column={"name": "nama", "dob": "lahir"})
    assert e.value.exit_code == 7
    assert list(scratch.iterdir()) == []
