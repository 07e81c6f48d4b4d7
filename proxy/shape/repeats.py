"""Code pasted again in a later turn, sent once: a repeated run of lines becomes a pointer.

Coding assistants send the whole file again on every turn ("here is the updated file; what next?"),
so a conversation carries one more copy of the same lines per turn. A provider's prompt cache
cannot help: each copy is new text at the end of the prompt, billed in full (Anthropic: written to
its cache at 1.25x) and then read again on every later turn.

With the workspace's `repeated_code` option on, each fenced code block of a user message is
compared with the code blocks of the messages before it. Every run of at least MIN_RUN_LINES
consecutive lines that appears, in the same order, in one earlier block is replaced by one line
naming the run's first and last lines and how many lines it spans: the model can read them a few
messages earlier, word for word, so nothing is lost; but the prompt no longer shows the file whole
in one place, which is why the option is off unless a workspace turns it on (docs/benchmarks.md).

A message's rewrite depends only on the messages before it, so the history a client sends back
is rewritten the same way on every turn and the provider's cached prefix stays valid.
"""

import asyncio
import difflib
import re
from decimal import Decimal

from proxy import tokens

# Shorter runs (a closing brace, a blank line and a return) repeat by chance.
MIN_RUN_LINES = 8
# How many earlier code blocks a block is compared with, latest first; bounds the work per request.
MAX_EARLIER_BLOCKS = 6
# A fence of exactly three backticks or tildes: a longer one ("````") wraps other fences, left whole.
_FENCED_BLOCK = re.compile(
    r"^(?P<fence>```|~~~)(?![`~])[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*\r?$", re.MULTILINE | re.DOTALL
)
# Past this many lines a block is sent as it is: comparing it would cost more than a request should.
MAX_BLOCK_LINES = 2000
_MAX_POINTER_LINE = 80


async def without_repeated_code(ctx, messages: list, target) -> list:
    """Return the messages to send with repeated code elided, recording the saving (request path, stage 2).

    Comparing a long coding chat's code blocks takes milliseconds (~8 ms for ten turns of a
    400-line file), so it runs off the event loop.
    """
    elided, removed_characters = await asyncio.get_running_loop().run_in_executor(None, elide_repeated_code, messages)
    if removed_characters:
        price = await ctx.runtime.prices.price(target.provider, target.model)
        if price is not None:
            saved = price.input * (removed_characters // tokens.CHARACTERS_PER_TOKEN) / Decimal(1_000_000)
            ctx.record.savings["compression"] = ctx.record.savings.get("compression", 0.0) + float(saved)
    return elided


def elide_repeated_code(messages: list) -> tuple[list, int]:
    """Return the messages with repeated runs of code replaced by pointers, and the characters removed.

    Only user messages with plain-text content are rewritten; every message's code blocks are
    remembered for the messages after it. The list is returned as is when nothing repeats.
    """
    earlier_blocks: list[list[str]] = []
    rewritten: list = []
    removed_characters = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or "```" not in content and "~~~" not in content:
            rewritten.append(message)
            continue
        blocks = list(_FENCED_BLOCK.finditer(content))
        new_content = content
        if message.get("role") == "user" and earlier_blocks:
            new_content = _elide_blocks(content, blocks, earlier_blocks[-MAX_EARLIER_BLOCKS:])
        earlier_blocks.extend(block.group("body").splitlines() for block in blocks)
        if new_content == content:
            rewritten.append(message)
        else:
            removed_characters += len(content) - len(new_content)
            rewritten.append({**message, "content": new_content})
    return (rewritten, removed_characters) if removed_characters else (messages, 0)


def _elide_blocks(content: str, blocks: list, earlier_blocks: list[list[str]]) -> str:
    """Return the content with each block's repeated runs replaced, blocks rewritten from the last."""
    for block in reversed(blocks):
        lines = block.group("body").splitlines()
        elided = _elide_lines(lines, earlier_blocks)
        if elided is not lines:
            body = "\n".join(elided) + "\n"
            content = content[: block.start("body")] + body + content[block.end("body") :]
    return content


def _elide_lines(lines: list[str], earlier_blocks: list[list[str]]) -> list[str]:
    """Return the block's lines with the runs repeated from its closest earlier block replaced."""
    if not MIN_RUN_LINES <= len(lines) <= MAX_BLOCK_LINES:
        return lines
    own = set(lines)
    closest = max(earlier_blocks, key=lambda earlier: len(own.intersection(earlier)))
    matcher = difflib.SequenceMatcher(None, closest, lines, autojunk=False)
    runs = [match for match in matcher.get_matching_blocks() if match.size >= MIN_RUN_LINES]
    if not runs:
        return lines
    elided: list[str] = []
    position = 0
    for _, start, size in runs:
        pointer = _pointer(lines[start], lines[start + size - 1], size)
        if len(pointer) >= sum(len(line) + 1 for line in lines[start : start + size]):
            continue  # short lines: the pointer would be longer than what it stands for
        elided.extend(lines[position:start])
        elided.append(pointer)
        position = start + size
    if not position:
        return lines
    elided.extend(lines[position:])
    return elided


def _pointer(first: str, last: str, size: int) -> str:
    """Return the line that stands for a repeated run: its size, its first and its last line."""
    return (
        f"[... {size} lines unchanged from the earlier version above, "
        f"from `{_shortened(first.strip())}` to `{_shortened(last.strip())}` ...]"
    )


def _shortened(line: str) -> str:
    return line if len(line) <= _MAX_POINTER_LINE else line[: _MAX_POINTER_LINE - 3] + "..."
