"""Tidy prose lines (invisible characters, runs of spaces) and recognise headings and tags."""

import re

from cachestore.compression.regions import LIST_ITEM_RE

# Only characters that never carry meaning go: the zero-width joiner and non-joiner stay,
# because emoji sequences and Persian or Indic scripts depend on them.
INVISIBLE_CHARACTERS = {
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u202f": " ",  # narrow no-break space
    "\u200b": "",  # zero-width space
    "\u2060": "",  # word joiner
    "\ufeff": "",  # byte order mark, or the deprecated zero-width no-break space
    "\u00ad": "",  # soft hyphen
}
TRAILING_WHITESPACE_RE = re.compile(r"[^\S\n]+$", re.MULTILINE)
# Runs after the first word only: leading indentation stays as written.
INTERNAL_SPACES_RE = re.compile(r"(?<=\S)(?:[ \t]{2,}|\t)")
TAG_LINE_RE = re.compile(r"^\s*</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>\s*$")
ATX_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+\S")
EMPHASIS_HEADING_RE = re.compile(r"^\s*(\*\*|__)[^*_].*\1:?\s*$")
SETEXT_UNDERLINE_CHARACTERS = frozenset("=-")


def tidy_prose_lines(lines: list[str]) -> list[str]:
    """Return the lines without invisible characters, runs of spaces or trailing whitespace."""
    # One pass over the joined text is several times faster than a pass per line.
    text = "\n".join(lines)
    for character, replacement in INVISIBLE_CHARACTERS.items():
        # Most prompts hold none of these; looking is far cheaper than str.translate.
        if character in text:
            text = text.replace(character, replacement)
    text = TRAILING_WHITESPACE_RE.sub("", text)
    tidied = INTERNAL_SPACES_RE.sub(" ", text).split("\n")
    if "<" in text:
        # Attribute values in a tag may hold deliberate runs of spaces.
        for index, line in enumerate(text.split("\n")):
            if is_tag_line(line):
                tidied[index] = line
    return tidied


def tidy_structured_line(line: str) -> str:
    """Return the line without trailing spaces; trailing tabs may end a tab-separated row."""
    return line.rstrip(" ")


def is_setext_underline(lines: list[str], index: int, ruler_flags: list[bool]) -> bool:
    """Return whether the ruler at index underlines the text line above it as a heading.

    A ruler both above and below a title is decoration, not a Markdown setext heading.
    """
    if not SETEXT_UNDERLINE_CHARACTERS.issuperset(lines[index].strip()) or index == 0:
        return False
    above = lines[index - 1]
    if not above.strip() or ruler_flags[index - 1] or is_heading(above) or LIST_ITEM_RE.match(above):
        return False
    return index < 2 or not ruler_flags[index - 2]


def is_heading(line: str) -> bool:
    """Return whether the line titles a section: Markdown, bold-only or an upper-case label."""
    first = line.lstrip()[:1]
    if first == "#":
        return bool(ATX_HEADING_RE.match(line))
    if first in ("*", "_") and EMPHASIS_HEADING_RE.match(line):
        return True
    return (
        line.isupper()
        and len(line.split()) <= 8
        and not line.rstrip().endswith((".", "!", "?"))
        and not LIST_ITEM_RE.match(line)
    )


def is_tag_line(line: str) -> bool:
    """Return whether the line is only an XML-style tag such as <instructions>."""
    return line.lstrip()[:1] == "<" and bool(TAG_LINE_RE.match(line))
