#!/usr/bin/env python3
"""Writes fixtures/formats/: the same few synthetic records in the formats agencies export.

Run once from the repository root (needs openpyxl, odfpy, pandas, pyarrow):
    python3 scripts/make_format_fixtures.py
The records are invented; none is a real person.
"""
import datetime as dt
import gzip
import os

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OUT = os.path.join("fixtures", "formats")
HEADER = ["id", "nama", "tgl_lahir", "jk", "nik"]
# The NIK of F4 went through a spreadsheet as a number: 15 significant digits, shown in
# scientific notation.
ROWS = [
    ["F1", "Siti Aminah", "1990-03-07", "P", "3201014703900001"],
    ["F2", "Budi Santoso", "1985-11-21", "L", "3578012111850002"],
    ["F3", "Dewi Lestari", "2001-01-30", "P", ""],
    ["F4", "Agus Salim", "1979-06-02", "L", "3.27101E+15"],
]


def text(rows, sep):
    return "".join(sep.join(r) + "\r\n" for r in [HEADER] + rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "people.csv"), "w", newline="") as f:
        f.write(text(ROWS, ","))
    with gzip.GzipFile(os.path.join(OUT, "people.csv.gz"), "wb", mtime=0) as f:
        f.write(text(ROWS, ",").encode())
    # Excel's "Unicode text": UTF-16 little endian with BOM, tab-separated.
    with open(os.path.join(OUT, "people-utf16.txt"), "wb") as f:
        f.write(b"\xff\xfe" + text(ROWS, "\t").encode("utf-16-le"))
    with open(os.path.join(OUT, "people-pipe.txt"), "w", newline="") as f:
        f.write(text(ROWS, "|"))
    # Excel's sep= line, then two title rows above the header.
    with open(os.path.join(OUT, "people-title.csv"), "w", newline="") as f:
        f.write("sep=;\r\nLaporan Data Korban;;;;\r\nPer 31 Desember 2024;;;;\r\n")
        f.write(text(ROWS, ";"))

    # A workbook: a notes sheet first, the data on sheet "Korban" under a title row; ids and
    # NIKs typed as text, F4's NIK as a number, dates as date cells.
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Catatan"
    notes["A1"] = "Ekspor dari sistem kasus"
    ws = wb.create_sheet("Korban")
    ws.append(["Laporan Data Korban"])
    ws.append(HEADER)
    for r in ROWS:
        d = dt.datetime.strptime(r[2], "%Y-%m-%d")
        nik = 3271010206790000 if r[0] == "F4" else (r[4] or None)
        ws.append([r[0], r[1], d, r[3], nik])
    for row in ws.iter_rows(min_row=3, min_col=3, max_col=3):
        for c in row:
            c.number_format = "DD/MM/YYYY"
    wb.save(os.path.join(OUT, "people.xlsx"))

    # The sentinel workbook for the no-identity test: every cell a sentinel, no header.
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(5):
        ws.append([f"ZQXV{3000 + r * 4 + c:05d}K" for c in range(4)])
    wb.save(os.path.join(OUT, "sentinel.xlsx"))

    # An OpenDocument spreadsheet (pandas with odfpy): dates as date cells, F4's NIK a number.
    ods = pd.DataFrame(
        {
            "id": [r[0] for r in ROWS],
            "nama": [r[1] for r in ROWS],
            "tgl_lahir": [dt.datetime.strptime(r[2], "%Y-%m-%d") for r in ROWS],
            "jk": [r[3] for r in ROWS],
            "nik": [r[4] if r[0] != "F4" else 3271010206790000 for r in ROWS],
        },
        dtype=object,
    )
    ods.to_excel(os.path.join(OUT, "people.ods"), sheet_name="Korban", index=False, engine="odf")

    # pandas: float64 NIK (a gap makes pandas store integers as float), timestamp dates,
    # a categorical (dictionary) sex, large_string names.
    df = pd.DataFrame(
        {
            "id": [r[0] for r in ROWS[:3]],
            "nama": [r[1] for r in ROWS[:3]],
            "tgl_lahir": pd.to_datetime([r[2] for r in ROWS[:3]]),
            "jk": pd.Categorical([r[3] for r in ROWS[:3]]),
            "nik": [3201014703900001.0, 3578012111850002.0, float("nan")],
        }
    )
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.set_column(1, "nama", table.column("nama").cast(pa.large_string()))
    pq.write_table(table, os.path.join(OUT, "people-pandas.parquet"))
    with open(os.path.join(OUT, "people-3rows.csv"), "w", newline="") as f:
        f.write(text(ROWS[:3], ","))


if __name__ == "__main__":
    main()
