"""Errors are padan.PadanError subclasses with the CLI's message and exit code, and no message or
warning ever holds a cell value (every cell but the ids is a sentinel)."""

from __future__ import annotations

import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import padan
from conftest import KEY, synth

SENTINEL = "ZQXSENTINEL"


def sentinel_table(n: int = 50, **extra) -> pa.Table:
    cols = {
        "id": [f"r{i}" for i in range(n)],
        "nama": [f"{SENTINEL}{i:04d}" for i in range(n)],
        "lahir": [f"{SENTINEL}-{i}" for i in range(n)],
        "nik": [f"{SENTINEL}{i}99" for i in range(n)],
    }
    cols.update(extra)
    return pa.table(cols)


FLAGS = dict(agency="s", id_column="id", column={"name": "nama", "dob": "lahir", "nik": "nik"})


def no_sentinel(*texts):
    for t in texts:
        assert SENTINEL not in str(t), t


def test_all_rows_rejected_is_too_many_rejects_without_a_value(tmp_path):
    # Every name is a sentinel; the NIK and dates are not valid: rows are rejected.
    t = sentinel_table(nama=[""] * 50)
    with pytest.raises(padan.TooManyRejectsError) as e:
        padan.encode(t, key=KEY, out=tmp_path / "x.padan.parquet", **FLAGS)
    assert e.value.exit_code == 7
    assert "rejected" in str(e.value)
    no_sentinel(e.value, e.value.args)
    assert not (tmp_path / "x.padan.parquet").exists()
    rejects = (tmp_path / "x.padan.parquet.rejects.csv").read_text()
    no_sentinel(rejects)


def test_rejects_name_rows_and_columns_not_values(tmp_path):
    enc = padan.encode(sentinel_table(), key=KEY, max_reject_rate=1.0, **FLAGS)
    assert enc.rejects.num_rows > 0
    no_sentinel(enc.rejects.to_pylist(), enc.summary)
    # The encoded table holds filters and tokens only.
    for col in enc.table.columns:
        if pa.types.is_binary(col.type) or pa.types.is_fixed_size_binary(col.type):
            for v in col.to_pylist():
                assert v is None or SENTINEL.encode() not in v
        else:
            no_sentinel(col.to_pylist())


def test_unsupported_column_type_is_an_input_error_naming_the_column():
    t = sentinel_table(nama=[[f"{SENTINEL}"]] * 50)  # a list column
    with pytest.raises(padan.InputError) as e:
        padan.encode(t, key=KEY, **FLAGS)
    assert "'nama'" in str(e.value) and e.value.exit_code == 3
    no_sentinel(e.value)


def test_missing_column_is_named_by_header():
    with pytest.raises(padan.PadanError) as e:
        padan.encode(sentinel_table(), key=KEY, agency="s", id_column="id",
                     column={"name": "no_such_column"})
    assert "no_such_column" in str(e.value)
    no_sentinel(e.value)


def test_a_non_encoded_table_given_to_link_is_refused_without_a_value(tmp_path):
    with pytest.raises(padan.PadanError) as e:
        padan.link([sentinel_table(), sentinel_table()])
    no_sentinel(e.value)
    assert e.value.exit_code in (3, 4, 5)


def test_messages_and_exit_codes_are_the_cli_s(cli, tmp_path):
    csv, cols = synth("kemlu")
    missing_key = tmp_path / "no.key"
    p = cli("encode", "--key", missing_key, "--columns", cols, "--input", csv,
            "--out", tmp_path / "a.padan.parquet", check=False)
    with pytest.raises(padan.FileError) as e:
        padan.encode(csv, key=missing_key, columns=cols, out=tmp_path / "b.padan.parquet")
    assert p.returncode == e.value.exit_code == 5
    assert p.stderr.strip() == f"error: {e.value}"
    assert isinstance(e.value, OSError)

    # A key file that is not a key: same message.
    bad = tmp_path / "bad.key"
    bad.write_text(f"{SENTINEL}\n")
    p = cli("encode", "--key", bad, "--columns", cols, "--input", csv,
            "--out", tmp_path / "a.padan.parquet", check=False)
    with pytest.raises(padan.PadanError) as e:
        padan.encode(csv, key=bad, columns=cols, out=tmp_path / "b.padan.parquet")
    assert p.returncode == e.value.exit_code
    assert p.stderr.strip() == f"error: {e.value}"
    no_sentinel(e.value)

    # Two files of the same agency: incompatible, as in the CLI.
    a = tmp_path / "k.padan.parquet"
    padan.encode(csv, key=KEY, columns=cols, out=a)
    p = cli("link", "--out", tmp_path / "cli-ms", a, a, check=False)
    with pytest.raises(padan.PadanError) as e:
        padan.link([a, a])
    assert p.returncode == e.value.exit_code
    assert p.stderr.strip() == f"error: {e.value}"


def test_outputs_are_refused_when_they_exist_unless_force(tmp_path):
    csv, cols = synth("kemlu")
    out = tmp_path / "k.padan.parquet"
    padan.encode(csv, key=KEY, columns=cols, out=out)
    with pytest.raises(padan.ConfigError, match="already exists"):
        padan.encode(csv, key=KEY, columns=cols, out=out)
    padan.encode(csv, key=KEY, columns=cols, out=out, force=True)
    csv2, cols2 = synth("polri")
    p = tmp_path / "p.padan.parquet"
    padan.encode(csv2, key=KEY, columns=cols2, out=p)
    padan.link([out, p], out=tmp_path / "ms")
    with pytest.raises(padan.ConfigError, match="already holds files"):
        padan.link([out, p], out=tmp_path / "ms")
    padan.link([out, p], out=tmp_path / "ms", force=True)


def test_argument_errors_are_config_errors():
    with pytest.raises(padan.ConfigError):
        padan.encode(sentinel_table(), key=KEY, agency="s")  # no column map
    with pytest.raises(padan.ConfigError):
        padan.encode(sentinel_table(), key=KEY, pseudonymize_ids=True, **FLAGS)  # no lookup=
    with pytest.raises(padan.ConfigError):
        padan.encode(sentinel_table(), key=KEY, date_order="dym", **FLAGS)
    with pytest.raises(TypeError):
        padan.encode(object(), key=KEY, **FLAGS)
    with pytest.raises(padan.FileError):
        padan.read_match_set("no-such-match-set")


def test_link_warnings_hold_no_value(tmp_path):
    enc = padan.encode(sentinel_table(), key=KEY, max_reject_rate=1.0, **FLAGS)
    other = padan.encode(
        sentinel_table(id=[f"q{i}" for i in range(50)]), key=KEY, max_reject_rate=1.0,
        **{**FLAGS, "agency": "t"},
    )
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            ms = padan.link([enc, other])
            no_sentinel(ms.manifest)
        except padan.PadanError as e:
            no_sentinel(e)
    no_sentinel(*[x.message for x in w])
    _ = pq  # the module is used by the other tests
