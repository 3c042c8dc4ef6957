"""``padan.spark`` in Spark local mode gives ``padan link``'s match set: the same clusters, the
same pairs (row for row) and the same counts and model in the manifest, on the synthetic
fixtures of seven agencies encoded with the default schema (salt slots: the slot model) and with
a field schema; also with ``within_agency = false`` (the agency rule inside blocks) and from
``python -m padan.spark``.

Skipped when pyspark is not installed, except when ``CI`` is set (.ci/run installs it and Java),
where it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import AGENCIES, FIXTURES, KEY, synth

# A field schema (no salt slots: the per-field model, u from random pairs).
SCHEMA = FIXTURES / "kat" / "schema-hardened.toml"

try:
    import pyspark  # noqa: F401

    HAVE_SPARK = True
except ImportError:  # pragma: no cover
    HAVE_SPARK = False

if not HAVE_SPARK:
    if os.environ.get("CI"):
        pytest.fail("pyspark is not installed; CI is set, so the Spark test must run", pytrace=False)
    pytest.skip("pyspark is not installed (pip install pyspark)", allow_module_level=True)

import padan.spark  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    s = padan.spark.session("local[2]", partitions=4, memory="1g")
    yield s
    s.stop()


def _encode(cli, d, schema):
    files = []
    for a in AGENCIES:
        csv, cols = synth(a)
        out = d / f"{a}.padan.parquet"
        args = [] if schema is None else ["--schema", schema]
        cli("encode", *args, "--key", KEY, "--columns", cols, "--input", csv, "--out", out,
            "--quiet")
        files.append(out)
    return d, files


@pytest.fixture(scope="module")
def encoded(cli, tmp_path_factory):
    return _encode(cli, tmp_path_factory.mktemp("spark"), SCHEMA)


@pytest.fixture(scope="module")
def encoded_default(cli, tmp_path_factory):
    """The fixtures encoded with the default schema (``padan schema default``: salt slots)."""
    d = tmp_path_factory.mktemp("spark-default")
    schema = d / "schema.toml"
    schema.write_text(cli("schema", "default").stdout)
    assert "[[slots]]" in schema.read_text()
    return _encode(cli, d, schema)


def same_match_set(ours, theirs):
    for name in ("clusters.parquet", "pairs.parquet"):
        a, b = pq.read_table(ours / name), pq.read_table(theirs / name)
        assert a.num_rows > 0
        assert a.equals(b), name
    m1 = json.loads((ours / "manifest.json").read_text())
    m2 = json.loads((theirs / "manifest.json").read_text())
    for k in ("counts", "thresholds", "model", "schema_fingerprint", "key_fingerprint", "inputs"):
        assert m1[k] == m2[k], k


def _link_both(spark, cli, files, tmp_path, within, order=lambda fs: fs):
    """``padan link`` and ``padan.spark.link`` on the same files and config; the Spark manifest."""
    config = None
    args = []
    if not within:
        config = tmp_path / "link.toml"
        config.write_text("[blocking]\nwithin_agency = false\n")
        args = ["--config", config]
    cli("link", "--out", tmp_path / "cli", "--quiet", *args, *files)
    m = padan.spark.link(
        spark, [str(f) for f in order(files)], out=str(tmp_path / "spark"),
        config=None if config is None else str(config),
    )
    assert m["counts"]["clusters_multi"] > 100
    same_match_set(tmp_path / "spark", tmp_path / "cli")
    return m


@pytest.mark.parametrize("within", [True, False])
def test_spark_link_equals_padan_link(spark, cli, encoded, tmp_path, within):
    # The command-line order does not matter (canonical order), as for padan link.
    _link_both(spark, cli, encoded[1], tmp_path, within, order=lambda fs: list(reversed(fs)))


def test_python_m_padan_spark(cli, encoded, tmp_path):
    d, files = encoded[0], encoded[1][:3]
    cli("link", "--out", tmp_path / "cli", "--quiet", *files)
    p = subprocess.run(
        [sys.executable, "-m", "padan.spark", *map(str, files), "--out", str(tmp_path / "spark"),
         "--partitions", "2", "--driver-memory", "1g"],
        capture_output=True, text=True,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "clusters" in p.stdout
    same_match_set(tmp_path / "spark", tmp_path / "cli")


@pytest.mark.parametrize("within", [True, False])
def test_spark_link_of_the_default_slot_schema_equals_padan_link(
    spark, cli, encoded_default, tmp_path, within
):
    m = _link_both(spark, cli, encoded_default[1], tmp_path, within)
    assert m["model"]["training"] == "slots"
    assert m["model"]["slots"]["binding"]["slots"] == ["slot_dmy", "slot_name_place"]
    assert m["counts"]["candidates_by_block"]["slot_dmy"] > 0


def test_unsupported_config_is_a_config_error(spark, encoded, tmp_path):
    d, files = encoded
    config = tmp_path / "link.toml"
    config.write_text("[blocking]\nknn_k = 10\n")
    with pytest.raises(padan.ConfigError, match="knn_k"):
        padan.spark.link(spark, [str(f) for f in files], out=str(tmp_path / "o"), config=str(config))
