"""Sort a prompt's lines into those free to tidy and those whose layout must survive.

Fenced code is kept byte for byte. Unfenced code and data (indented blocks, JSON, YAML, tables,
tab-separated rows, box drawings) are found by heuristics that lean towards protecting: a prose
block wrongly protected only compresses less, while code wrongly tidied could change meaning.
"""

import bisect
import enum
import itertools
import re
import unicodedata

FENCE_OPEN_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
# Patterns searched for in the whole text at once, with a newline before every line: a literal
# first character lets the regex engine skip ahead, far faster than a match per line.
FENCE_LINE_RE = re.compile(r"\n[ \t]*(?:`{3}|~{3})")
BRACKET_LINE_RE = re.compile(r"\n[ \t]*[\[{]")
INDENTED_LINE_RE = re.compile(r"\n[ \t]")
BOX_VERTICAL_RE = re.compile(r"[│┃║╎╏┆┇┊┋]")
LIST_ITEM_RE = re.compile(r"^([ \t]*)(?:[-*+•]|\d{1,3}[.)]|[A-Za-z][.)])[ \t]+\S")
MAPPING_KEY_RE = re.compile(r"^\s*[\w\"'.-]+:(?:\s|$)")
BARE_KEY_RE = re.compile(r"^[\w.-]+:$")
# Lines that only tables, tab-indented code (Makefiles) or code in general write; prose that
# happens to match is merely left untidied.
STRUCTURED_LINE_START_RE = re.compile(
    r"\n(?:[ \t]*\|"
    r"|[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*(?:\n|$)"
    r"|\t"
    r"|[ \t]*(?:def \w+\(|async def |class \w+[:(]|import \w|from [\w.]+ import |function[ \t]*\w*\(|"
    r"(?:const|let|var) \w+[ \t]*=|#include|#!|<\?xml|<!DOCTYPE|(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP) |}))"
)
CODE_LINE_END_RE = re.compile(r"[;{][ \t]*(?:\n|$)")
TAB_SEPARATED_ROW_RE = re.compile(r"\n[ \t]*\S[^\n]*\t")
BRACKET_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}()]')
CLOSING_BRACKETS = {"]": "[", "}": "{", ")": "("}
BRACKET_TAIL_RE = re.compile(r"^[,;]?\s*$")
# Three dashes stay: they are a Markdown section break and a YAML document marker.
MIN_RULER_LENGTH = 4
MIN_EMOJI_RULER_LENGTH = 3
RULER_CHARACTERS = frozenset("=-*#~_+•·") | frozenset(chr(code) for code in range(0x2500, 0x2580))
EMOJI_JOINERS = frozenset("\ufe0f\ufe0e\u200d")
# A JSON or list example longer than this is treated as prose rather than scanned to the end.
MAX_BRACKET_BLOCK_LINES = 2000


class LineKind(enum.Enum):
    PROSE = "prose"  # free to normalise, deduplicate and drop when decorative
    BLANK = "blank"  # whitespace only, between prose; runs collapse to one
    STRUCTURED = "structured"  # layout carries meaning: only trailing spaces go
    VERBATIM = "verbatim"  # fenced code: not one byte changes


def classify_lines(lines: list[str]) -> list[LineKind]:
    """Return the kind of every line, protecting code, data and tables."""
    kinds = [LineKind.BLANK if not line.strip() else LineKind.PROSE for line in lines]
    text = _TextLines(lines)
    _mark_fences(lines, kinds, sorted(text.matching(FENCE_LINE_RE)))
    _mark_bracket_blocks(lines, kinds, sorted(text.matching(BRACKET_LINE_RE)))
    _mark_structured_blocks(lines, kinds, text)
    _mark_blank_lines_inside_code(lines, kinds)
    return kinds


class _TextLines:
    """The lines joined, each after a newline, to find those a pattern matches in one search."""

    def __init__(self, lines):
        self.text = "\n" + "\n".join(lines)
        self.line_starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))

    def matching(self, pattern):
        """Return the indices of the lines where the pattern finds a match."""
        return {bisect.bisect_right(self.line_starts, match.start()) - 1 for match in pattern.finditer(self.text)}


def is_ruler(line: str) -> bool:
    """Return whether the tidied line is only decoration: a ruler of symbols or emoji."""
    first = line.lstrip()[:1]
    if not first or first.isalnum():
        return False  # the common case, prose, answered without looking further
    characters = line.replace(" ", "")
    if len(characters) >= MIN_RULER_LENGTH and RULER_CHARACTERS.issuperset(characters):
        return True
    if unicodedata.category(first) != "So":
        return False
    symbols = [character for character in characters if character not in EMOJI_JOINERS]
    return len(symbols) >= MIN_EMOJI_RULER_LENGTH and all(
        unicodedata.category(character) == "So" for character in symbols
    )


def _mark_fences(lines, kinds, candidates):
    position = 0
    while position < len(candidates):
        index = candidates[position]
        position += 1
        match = FENCE_OPEN_RE.match(lines[index])
        # A backtick fence whose info string holds a backtick is inline code, not a fence.
        if not match or (match.group(1)[0] == "`" and "`" in match.group(2)):
            continue
        fence = match.group(1)
        closing = next((later for later in candidates[position:] if _closes_fence(lines[later], fence)), None)
        if closing is None:
            if not match.group(2).strip() and len(fence) >= MIN_RULER_LENGTH:
                continue  # a lone "~~~~~~" that nothing closes is a ruler, not a fence
            closing = len(lines) - 1  # unclosed, it runs to the end, as CommonMark reads it
        for line_index in range(index, closing + 1):
            kinds[line_index] = LineKind.VERBATIM
        position = bisect.bisect_right(candidates, closing)


def _closes_fence(line, fence):
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def _mark_bracket_blocks(lines, kinds, candidates):
    covered_until = -1
    for index in candidates:
        if index <= covered_until or kinds[index] is not LineKind.PROSE:
            continue
        end = _bracket_block_end(lines, kinds, index)
        if end is not None:
            for position in range(index, end + 1):
                kinds[position] = LineKind.STRUCTURED
            covered_until = end


def _bracket_block_end(lines, kinds, start):
    """Return the line closing the bracket opened on lines[start], or None if prose follows it."""
    open_brackets = []
    for index in range(start, min(len(lines), start + MAX_BRACKET_BLOCK_LINES)):
        if kinds[index] is LineKind.VERBATIM:
            return None
        line = lines[index]
        for token in BRACKET_TOKEN_RE.finditer(line):
            bracket = token.group()
            if bracket in CLOSING_BRACKETS:
                if not open_brackets or open_brackets.pop() != CLOSING_BRACKETS[bracket]:
                    return None
                if not open_brackets:
                    # "[Note] Be brief." opens and closes a bracket but is a sentence.
                    return index if BRACKET_TAIL_RE.match(line[token.end() :]) else None
            elif bracket in "[{(":
                open_brackets.append(bracket)
    return None


def _mark_structured_blocks(lines, kinds, text):
    signal_lines = (
        text.matching(STRUCTURED_LINE_START_RE) | text.matching(CODE_LINE_END_RE) | text.matching(BOX_VERTICAL_RE)
    )
    tab_separated_rows = text.matching(TAB_SEPARATED_ROW_RE)
    indented_lines = text.matching(INDENTED_LINE_RE)
    for block in _prose_blocks(kinds):
        structured = (
            not signal_lines.isdisjoint(block)
            or len(tab_separated_rows.intersection(block)) >= 2
            or (not indented_lines.isdisjoint(block) and _has_layout_indentation([lines[index] for index in block]))
        )
        if structured:
            for index in block:
                kinds[index] = LineKind.STRUCTURED


def _prose_blocks(kinds):
    """Yield the index lists of maximal runs of prose lines."""
    block = []
    for index, kind in enumerate(kinds):
        if kind is LineKind.PROSE:
            block.append(index)
        elif block:
            yield block
            block = []
    if block:
        yield block


def _has_layout_indentation(block):
    """Return whether indentation in the block means more than a nested prose list."""
    # Rulers are decoration about to go; a title between two of them is still prose.
    text_lines = [line for line in block if not is_ruler(line.strip())]
    framed = is_ruler(block[0].strip()) and is_ruler(block[-1].strip())
    if framed and len(text_lines) == 1 and not MAPPING_KEY_RE.match(text_lines[0]):
        return False  # a title framed by rulers, indented only to centre it
    block = text_lines
    previous_is_item = False
    previous_indentation = None
    for index, line in enumerate(block):
        indentation = line[: len(line) - len(line.lstrip())]
        if LIST_ITEM_RE.match(line):
            previous_is_item, previous_indentation = True, None
            continue
        if not indentation:
            next_is_indented = index + 1 < len(block) and block[index + 1][0].isspace()
            if next_is_indented and BARE_KEY_RE.match(line.strip()):
                return True  # a YAML key opening a nested mapping or sequence
            previous_is_item, previous_indentation = False, ""
            continue
        if MAPPING_KEY_RE.match(line) or line.rstrip()[-1] in "{}[(;":
            return True
        # An indented line may continue the item above it, or be part of a paragraph indented
        # by a ragged one to three spaces throughout; any other indentation is layout.
        ragged_paragraph = (
            indentation == " " * len(indentation)
            and len(indentation) <= 3
            and (index == 0 or previous_indentation == indentation)
        )
        if not (previous_is_item or ragged_paragraph):
            return True
        previous_indentation = None if previous_is_item else indentation
    return False


def _mark_blank_lines_inside_code(lines, kinds):
    """Keep blank lines exactly where protected lines continue, indented, after them."""
    previous_kind = None
    index = 0
    while index < len(lines):
        if kinds[index] is not LineKind.BLANK:
            previous_kind = kinds[index]
            index += 1
            continue
        end = index
        while end < len(lines) and kinds[end] is LineKind.BLANK:
            end += 1
        continues_code = (
            previous_kind is LineKind.STRUCTURED
            and end < len(lines)
            and kinds[end] is LineKind.STRUCTURED
            and lines[end][0].isspace()
        )
        if continues_code:
            for position in range(index, end):
                kinds[position] = LineKind.STRUCTURED
        index = end
