"""Lossless system-prompt compression: the same instructions in fewer tokens.

Prose loses what the model never needed: runs of spaces, trailing whitespace, extra blank lines,
invisible characters, decorative rulers and instructions repeated where they already apply. Code,
data and tables keep their layout (see `regions`); fenced code keeps every byte.
"""

from cachestore.compression.cleanup import is_setext_underline, tidy_prose_lines, tidy_structured_line
from cachestore.compression.dedup import remove_repeated_instructions
from cachestore.compression.regions import LineKind, classify_lines, is_ruler


def compress_system_prompt(text: str) -> str:
    """Return the prompt with the same instructions in fewer characters, never more.

    Compressing the result again changes nothing: the tests hold this over random mixtures of
    prose, code and decoration, so one pass is enough.
    """
    compressed = _compress_once(text)
    return compressed if len(compressed) <= len(text) else text


def _compress_once(text):
    # Line endings are transport, not content; even fenced code comes out with LF.
    text = text.replace("\r\n", "\n").removeprefix("\ufeff")
    lines = text.split("\n")
    kinds = classify_lines(lines)
    _tidy(lines, kinds)
    headings = _drop_rulers(lines, kinds)
    return _join(remove_repeated_instructions(lines, kinds, headings), kinds)


def _tidy(lines, kinds):
    """Tidy every line in place as its kind allows; prose left empty becomes a blank line."""
    prose_indices = []
    for index, kind in enumerate(kinds):
        if kind is LineKind.PROSE:
            prose_indices.append(index)
        elif kind is LineKind.STRUCTURED:
            lines[index] = tidy_structured_line(lines[index])
        elif kind is LineKind.BLANK:
            lines[index] = ""
    tidied = tidy_prose_lines([lines[index] for index in prose_indices])
    for index, line in zip(prose_indices, tidied):
        lines[index] = line
        if not line:
            kinds[index] = LineKind.BLANK


def _drop_rulers(lines, kinds):
    """Blank out decorative rulers and return the lines that a kept underline makes headings."""
    ruler_flags = [kind is LineKind.PROSE and is_ruler(line) for line, kind in zip(lines, kinds)]
    headings = set()
    for index, is_ruler_line in enumerate(ruler_flags):
        if not is_ruler_line:
            continue
        if index > 0 and kinds[index - 1] is LineKind.PROSE and is_setext_underline(lines, index, ruler_flags):
            headings.add(index - 1)
        else:
            # A blank line, not nothing, so the paragraphs on either side stay apart.
            lines[index] = ""
            kinds[index] = LineKind.BLANK
    for index in range(1, len(lines) - 1):
        framed = ruler_flags[index - 1] and ruler_flags[index + 1] and kinds[index] is LineKind.PROSE
        if framed and kinds[index - 1] is kinds[index + 1] is LineKind.BLANK:
            # A title between rulers is indented only to centre it; unframed, it would read as code.
            lines[index] = lines[index].lstrip()
    return headings


def _join(lines, kinds):
    """Join the kept lines, with one blank line wherever prose had any, none at the ends."""
    output = []
    blank_pending = False
    for line, kind in zip(lines, kinds):
        if line is None:
            continue
        if kind is LineKind.BLANK:
            blank_pending = bool(output)
            continue
        if blank_pending:
            output.append("")
            blank_pending = False
        output.append(line)
    return "\n".join(output)
