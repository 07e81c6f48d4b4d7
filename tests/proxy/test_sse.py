"""The SSE splitter and parser the stream relays read providers' streams with: every framing the spec allows."""

import pytest

from proxy.providers.sse import EventSplitter, event_fields

STREAM = (
    b": ping\n\n"
    b'event: message_start\ndata: {"a": 1}\n\n'
    b"data: first line\ndata: second line\n\n"
    b'event: error\ndata:{"type": "error"}\n\n'
)
EXPECTED = [
    (None, b""),
    ("message_start", b'{"a": 1}'),
    (None, b"first line\nsecond line"),
    ("error", b'{"type": "error"}'),
]


def split(stream, piece_size):
    splitter = EventSplitter()
    events = []
    for start in range(0, len(stream), piece_size):
        events.extend(splitter.feed(stream[start : start + piece_size]))
    return [event_fields(event) for event in events], splitter.leftover


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("piece_size", [1, 2, 3, 7, 1000])
def test_every_event_is_found_whatever_the_line_ends_and_wherever_the_reads_split(line_end, piece_size):
    events, leftover = split(STREAM.replace(b"\n", line_end), piece_size)
    assert events == EXPECTED
    assert leftover.strip() == b""


def test_an_event_without_its_closing_blank_line_stays_pending():
    splitter = EventSplitter()
    assert splitter.feed(b"data: whole\n\ndata: cut off") == [b"data: whole"]
    assert splitter.leftover == b"data: cut off"


def test_other_fields_and_unknown_lines_are_ignored():
    assert event_fields(b"id: 7\nretry: 1000\nevent: ping\nnonsense\ndata: x") == ("ping", b"x")
