"""Splitting a byte stream of server-sent events into whole events."""


class EventSplitter:
    """Collects bytes and returns each complete event (the text between blank lines)."""

    def __init__(self):
        self._pending = b""
        # The last read ended in CR: a LF starting the next read is the second half of that CRLF.
        self._after_cr = False

    def feed(self, data):
        """Return the events completed by `data`; lines may end in LF, CRLF or CR (the SSE spec allows all three)."""
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
        if data:
            self._after_cr = data.endswith(b"\r")
        buffer = self._pending + data
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events = buffer.split(b"\n\n")
        self._pending = events.pop()
        return [event for event in events if event.strip()]

    @property
    def leftover(self):
        return self._pending


def event_fields(event):
    """Return (event name or None, data bytes) of one event."""
    name = None
    data_lines = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            data_lines.append(line[5:].lstrip(b" "))
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("latin-1")
    return name, b"\n".join(data_lines)


def data_event(payload):
    return b"data: " + payload + b"\n\n"


DONE_EVENT = b"data: [DONE]\n\n"


def openai_error_event(error_type, message):
    """An in-band error event the openai SDK raises on, instead of a made-up clean finish."""
    import orjson

    return data_event(orjson.dumps({"error": {"message": message, "type": error_type, "param": None, "code": None}}))


def anthropic_error_event(error_type, message):
    import orjson

    payload = orjson.dumps({"type": "error", "error": {"type": "api_error", "message": f"{error_type}: {message}"}})
    return b"event: error\ndata: " + payload + b"\n\n"
