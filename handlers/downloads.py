"""Streamed file downloads (audit export, bulk export): written in 64 KiB pieces as they are
produced, so memory stays flat however large the file."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

FLUSH_BYTES = 64 * 1024
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


async def send_download(
    request: web.Request, filename: str, fmt: str, chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    """Answer with ``chunks`` as the attachment ``filename`` in format ``fmt``."""
    response = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    await response.prepare(request)
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) >= FLUSH_BYTES:
            await response.write(bytes(buffer))
            buffer.clear()
    await response.write(bytes(buffer))
    await response.write_eof()
    return response


# Spreadsheets run a cell that starts with one of these as a formula (=HYPERLINK(...) and
# worse): such a cell is written with a leading apostrophe, which they show as text (OWASP,
# "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


async def csv_chunks(
    header: Iterable[str], rows: AsyncIterator[Iterable[object]]
) -> AsyncIterator[bytes]:
    """CSV text for ``header`` then ``rows``, in pieces of about ``FLUSH_BYTES``; no cell can
    start a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    async for row in rows:
        writer.writerow([_as_text(cell) for cell in row])
        if out.tell() >= FLUSH_BYTES:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()
