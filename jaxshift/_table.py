"""Point tables as text: a CSV of numbers parsed, checked and written back labelled.

The command line's ``cluster`` reads its input with :func:`read_csv` and writes
``-o`` with :func:`labelled_lines`: every input line unchanged, the label appended.
A problem is a :class:`TableError` with a one-line message that names the file and
the line (and, when another delimiter parses the file, the delimiter to use).
"""

from __future__ import annotations

import csv
import math
from typing import NamedTuple

DELIMITERS = (",", ";", "\t", "|", " ")


class TableError(Exception):
    """A CSV file that cannot be read as a table of finite numbers (one-line message)."""


def count(n, noun):
    """``"1 point"``, ``"2 points"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class Table(NamedTuple):
    """A parsed CSV file: its physical ``lines`` (line endings kept), its records as
    ``(first line, last line, fields)`` (1-based, blank records included), the index
    of the header record or ``None``, the indices of the data records and their values."""

    lines: list
    records: list
    header: int | None
    rows: list
    values: list


def records_of(lines, delimiter):
    """``[(first line, last line, fields)]``: every CSV record, blank ones included."""
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=delimiter == " ")
    out, last = [], 0
    for fields in reader:
        out.append((last + 1, reader.line_num, fields))
        last = reader.line_num
    return out


def numbers(fields):
    """The fields as floats, or ``None`` when one is not a number."""
    try:
        return [float(c) for c in fields]
    except ValueError:
        return None


def parse(lines, delimiter):
    """``(Table, None)``, or ``(None, (line, message))`` for the first problem."""
    records = records_of(lines, delimiter)
    filled = [i for i, (_, _, f) in enumerate(records) if any(c.strip() for c in f)]
    if not filled:
        return None, (None, "no data")
    header = None
    first = records[filled[0]]
    if all(numbers([c]) is None for c in first[2]):  # no field a number: a header
        header, filled = filled[0], filled[1:]
        if not filled:
            return None, (first[0], "a header but no data rows")
    width = len(records[filled[0]][2])
    values = []
    for i in filled:
        line, _, fields = records[i]
        vals = numbers(fields)
        if vals is None:
            return None, (line, f"not all numbers: {delimiter.join(fields)!r}")
        if len(vals) != width:
            return None, (line, f"{count(len(vals), 'field')}, expected {width} (as line {records[filled[0]][0]})")
        for text, v in zip(fields, vals, strict=True):
            if not math.isfinite(v):
                return None, (line, f"{text.strip()!r} is not a finite number")
        values.append(vals)
    if header is not None and len(records[header][2]) != width:
        return None, (records[header][0], f"the header has {count(len(records[header][2]), 'field')} but the data rows {width}")
    return Table(lines, records, header, filled, values), None


def read_csv(path, delimiter):
    """The CSV file at ``path`` as a :class:`Table` of finite numbers, or a one-line
    failure that names the line, and the delimiter to use when another one parses."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            lines = list(f)
        table, problem = parse(lines, delimiter)
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TableError(f"{path}: is a folder, not a CSV file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"cannot read {path}: {exc}") from None
    if problem is None:
        return table
    line, message = problem
    where = f"{path}, line {line}" if line is not None else path
    if line is not None:
        for other in DELIMITERS:
            if other == delimiter:
                continue
            try:
                alt, bad = parse(lines, other)
            except csv.Error:
                continue
            if bad is None and len(alt.values[0]) > 1:
                hint = f"the file parses with the delimiter {other!r}: use --delimiter {other!r}" + (
                    " (a tab)" if other == "\t" else ""
                )
                filled = [(n, f) for n, _, f in records_of(lines, delimiter) if any(c.strip() for c in f)]
                if all(len(f) == 1 for _, f in filled):
                    raise TableError(
                        f"{path}: with the delimiter {delimiter!r} every line is one field "
                        f"(line {filled[0][0]}: {filled[0][1][0]!r}); {hint}"
                    )
                raise TableError(f"{where}: {message}; {hint}")
    raise TableError(f"{where}: {message}")


def labelled_lines(table, labels, delimiter):
    """The input lines, each record unchanged with ``delimiter`` and its label
    appended ('label' on the header), blank lines as they were."""
    label_of = dict(zip(table.rows, (str(int(v)) for v in labels), strict=True))
    if table.header is not None:
        label_of[table.header] = "label"
    out = []
    for i, (first, last, _) in enumerate(table.records):
        text = "".join(table.lines[first - 1:last])
        if i in label_of:
            body = text.rstrip("\r\n")
            text = body + delimiter + label_of[i] + text[len(body):]
        out.append(text)
    return "".join(out)
