"""Reading the competition's CSVs: what real files look like, and what a broken one says."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from pipeline import io
from pipeline.errors import PipelineError


def test_reads_bom_crlf_quoted_numbers_and_gzip_with_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "CHUNKED_BYTES", 1000)  # read in chunks, as big files are
    path = tmp_path / "train.csv"
    path.write_bytes(b'\xef\xbb\xbflabel,pixel0\r\n1,"7"\r\n' + b"0,3\r\n" * 2 * io.CHUNK_ROWS)
    seen: list[tuple[int, int, int]] = []
    frame = io.read_csv(path, lambda done, size, rows: seen.append((done, size, rows)))
    assert frame.columns.tolist() == ["label", "pixel0"] and len(frame) == 2 * io.CHUNK_ROWS + 1
    assert frame["pixel0"].iloc[0] == 7
    assert len(seen) >= 2 and seen[-1] == (path.stat().st_size, path.stat().st_size, len(frame))
    assert [rows for _, _, rows in seen] == sorted({rows for _, _, rows in seen})  # rows so far, growing

    packed = tmp_path / "test.csv.gz"
    packed.write_bytes(gzip.compress(b"pixel0\n1\n2\n"))
    assert io.find_raw(tmp_path, "test") == packed
    assert io.read_csv(packed)["pixel0"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("body", "label_dtype", "pixel_dtype"),
    [
        ("label, pixel0 ,pixel1\n3, 7 ,255\n4,0,0\n", "uint8", "uint8"),  # spaces around numbers: the shortcut
        ("label,pixel0,pixel1\n3,7,255\n300,0,0\n4,1,1\n", "int64", "uint8"),  # a label over 255 mid-file
        ("id,pixel0,pixel1\n1,7,255\n" + "".join(f"{i},0,0\n" for i in range(2, 302)), "int64", "uint8"),  # ids
        ("label,pixel0,pixel1\n3,7,256\n4,0,0\n", "int64", "int64"),  # 256 is no uint8: read again
        ("label,pixel0,pixel1\n3,7,\n4,0,0\n", "int64", "float64"),  # an empty pixel: read again
        ("label,pixel0,pixel1\n cat,7,255\n dog,0,0\n", "str", "int64"),  # text: read again, spaces skipped
        ("label,pixel0,pixel1\n\u00b2,7,255\n4,0,0\n", "str", "int64"),  # a digit Python's int() refuses
    ],
)
def test_pixel_columns_read_as_uint8_when_they_fit_and_as_before_otherwise(
    tmp_path: Path, body: str, label_dtype: str, pixel_dtype: str
) -> None:
    path = tmp_path / "train.csv"
    path.write_text(body)
    fast = io.read_csv(path, uint8_columns=re.compile(r"pixel\d+"))
    plain = io.read_csv(path)
    first = plain.columns[0]
    assert fast.columns.tolist() == plain.columns.tolist() == [first, "pixel0", "pixel1"]
    assert (str(fast[first].dtype), str(fast["pixel1"].dtype)) == (label_dtype, pixel_dtype)
    assert fast.astype(str).equals(plain.astype(str))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("label,pixel0\n", "has a header but no data rows"),
        ("label,pixel0\n1,2\n1,2,3\n", "line 3 has 3 fields but the header has 2"),
        ("label,a,a\n1,2,3\n", "column 'a' appears more than once"),
    ],
)
def test_broken_csv_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "train.csv"
    path.write_text(text)
    with pytest.raises(PipelineError, match=message):
        io.read_csv(path)


def test_missing_file_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"train.csv not found; put the competition's train.csv"):
        io.find_raw(tmp_path, "train")
    assert io.find_raw(tmp_path, "sample_submission", required=False) is None
