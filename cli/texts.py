"""Reading the texts an operator hands a command: stdin lines or a CSV's ``text`` column.

Validated at the edge: a missing file, a CSV without a ``text`` column or undecodable bytes
end the command with exit code 2 and a message naming the file and row; rows keep their order
(row numbers count data rows from 0).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def read_texts(data: Path | None) -> list[str]:
    """The ``text`` column of ``data``, or the lines of stdin (newline stripped) without it."""
    if data is None:
        return [line.rstrip("\r\n") for line in sys.stdin]
    if not data.is_file():
        raise fail(f"{data}: no such file")
    try:
        with data.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {c.strip().lower(): c for c in reader.fieldnames or []}
            if "text" not in columns:
                raise fail(f"{data}: the header must have a 'text' column")
            return [row.get(columns["text"]) or "" for row in reader]
    except UnicodeDecodeError as exc:
        raise fail(f"{data}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise fail(f"{data}: unreadable CSV ({exc})") from exc
