"""Drop repeated instructions without dropping one whose meaning depends on where it stands.

A sentence or list item repeated verbatim (ignoring case and spacing) is dropped only when the
first copy already applies wherever the second stands: both sit in the same scope, or the first
sits at the top level of the prompt. A scope is the section heading or tag above the line, the
"When a refund is asked for:" line that introduces it, and the last "If ..." sentence before it in
its paragraph. So "Ask for the order number." under "Refunds:" and again under "Exchanges:" both
stay, while an instruction stated at the top and repeated in a closing reminder goes.

Prompts that grow by accretion also repeat a bullet under a new label ("- Rule 7: Be polite." after
"- Rule 2: Be polite."). A standing-instruction label (rule, guideline, policy, ...) is ignored
when comparing, unless the prompt mentions that label anywhere else ("see rule 7"): then the
line stays so the reference still resolves. Sequence labels ("Step 3:") are never ignored, since
repeating a step means doing it again.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from cachestore.compression.cleanup import is_heading, is_tag_line
from cachestore.compression.regions import LIST_ITEM_RE, LineKind

SENTENCE_BREAK_RE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]*])\s+")
SENTENCE_CLOSERS = "\"')]*"
CONDITION_RE = re.compile(
    r"^[\W_]*(?:if|when|whenever|unless|otherwise|in case|only|except|once|after|before|while|for)\b",
    re.IGNORECASE,
)
# Short fragments ("No.", "Yes, always.") are often repeated on purpose, as answers or emphasis.
MIN_DEDUPLICATED_WORDS = 3
BULLETS = frozenset("-*+•")
TOP_LEVEL = (None, None, None)
# Labels that name a standing instruction, not a position in a sequence; kept to words whose
# repeats cannot mean "do it again".
STANDING_LABEL_WORDS = "rule|guideline|policy|instruction|principle|requirement|constraint|directive|reminder|note|tip"
STANDING_LABEL_RE = re.compile(rf"^((?:{STANDING_LABEL_WORDS})\s*#?\s*(\d{{1,4}}))\s*[:.)-]\s+", re.IGNORECASE)
LABEL_MENTION_RE = re.compile(rf"\b({STANDING_LABEL_WORDS})s?\s*#?\s*(\d{{1,4}})\b", re.IGNORECASE)
# "rules 5-7", "rules 2 and 7", "guidelines 3, 4": numbers behind one label word that a single
# mention count would miss, so every label of that word counts as referenced.
LABEL_GROUP_RE = re.compile(
    rf"\b({STANDING_LABEL_WORDS})s?\s*#?\s*\d{{1,4}}\s*(?:-|–|—|,|&|\bto\b|\band\b|\bor\b|\bthrough\b)\s*#?\s*\d",
    re.IGNORECASE,
)
EVERY_NUMBER = -1


@dataclass
class _Scope:
    """Where the walk through the prompt stands, and which instructions it has already seen."""

    section: int | None = None
    intro: int | None = None
    intro_last_block: int = -1
    condition: tuple[int, int] | None = None
    block: int = -1
    seen: set = field(default_factory=set)
    # How often each standing label ("rule", "7") appears in the whole prompt.
    label_mentions: Counter = field(default_factory=Counter)

    def current(self):
        intro = self.intro if self.block <= self.intro_last_block else None
        return (self.section, intro, self.condition)

    def is_repeat(self, text):
        """Return whether the text was already said where it applies here; remember it if not."""
        key = text.casefold()  # prose lines arrive tidied: one space between words
        scope = self.current()
        if (key, scope) in self.seen or (key, TOP_LEVEL) in self.seen:
            return True
        self.seen.add((key, scope))
        return False


def remove_repeated_instructions(lines: list[str], kinds: list[LineKind], headings: set[int]) -> list[str | None]:
    """Return the lines with repeated instructions removed: a whole line becomes None."""
    result: list[str | None] = list(lines)
    scope = _Scope()
    section_starts = {
        index
        for index, line in enumerate(lines)
        if kinds[index] is LineKind.PROSE and (index in headings or is_heading(line) or is_tag_line(line))
    }
    title = _title_line(lines, kinds, section_starts)
    scope.label_mentions = _label_mentions(lines)
    starts_sentence = True
    for index, line in enumerate(lines):
        if kinds[index] is not LineKind.PROSE:
            continue
        if index == 0 or kinds[index - 1] is not LineKind.PROSE:
            scope.block += 1
            scope.condition = None
            starts_sentence = True
        if index in section_starts:
            if index != title:
                scope.section, scope.intro = index, None
            starts_sentence = True
            continue
        item = LIST_ITEM_RE.match(line)
        if item:
            result[index] = _without_repeated_item(lines, kinds, index, item, scope)
            starts_sentence = True
        else:
            result[index] = _without_repeated_sentences(lines, kinds, index, scope, starts_sentence)
            starts_sentence = _ends_sentence(line) or line.endswith(":")
        if line.endswith(":"):
            _open_intro(kinds, index, scope)
    return result


def _title_line(lines, kinds, section_starts):
    """Return the heading that names the whole prompt, or None.

    A heading on the first line names the prompt rather than opening a section, unless another
    heading of the same form follows it ("## Refunds" then "## Exchanges").
    """
    first_content = next((index for index, kind in enumerate(kinds) if kind is not LineKind.BLANK), None)
    if first_content not in section_starts:
        return None
    form = _heading_form(lines[first_content])
    if any(_heading_form(lines[index]) == form for index in section_starts if index != first_content):
        return None
    return first_content


def _heading_form(line):
    return line.lstrip()[: len(line.lstrip()) - len(line.lstrip().lstrip("#"))] or "label"


def _without_repeated_item(lines, kinds, index, item, scope):
    text = _without_unreferenced_label(lines[index][item.end() - 1 :], scope.label_mentions)
    # In numbered steps a repeat means "do it again", and a gap would break the numbering.
    ordered = lines[index].lstrip()[0] not in BULLETS
    if ordered or len(text.split()) < MIN_DEDUPLICATED_WORDS:
        return lines[index]
    # An item with nested items or continuation lines below it cannot go without re-parenting them.
    following = lines[index + 1] if index + 1 < len(lines) and kinds[index + 1] is LineKind.PROSE else ""
    has_children = len(following) - len(following.lstrip()) > len(item.group(1))
    if scope.is_repeat(text) and not has_children:
        return None
    return lines[index]


def _label_mentions(lines):
    """Count every mention of a standing label ("Rule 7", "rules #7") in the prompt."""
    mentions = Counter()
    for line in lines:
        for word, number in LABEL_MENTION_RE.findall(line):
            mentions[(word.casefold(), int(number))] += 1
        for word in LABEL_GROUP_RE.findall(line):
            mentions[(word.casefold(), EVERY_NUMBER)] += 1
    return mentions


def _without_unreferenced_label(text, label_mentions):
    """Return the item's text without its standing label, unless the prompt refers to that label."""
    label = STANDING_LABEL_RE.match(text)
    if label is None:
        return text
    word = LABEL_MENTION_RE.match(label.group(1)).group(1).casefold()
    if label_mentions[(word, int(label.group(2)))] > 1 or label_mentions[(word, EVERY_NUMBER)]:
        return text
    return text[label.end() :]


def _without_repeated_sentences(lines, kinds, index, scope, starts_sentence):
    line = lines[index]
    body = line.lstrip(" \t")
    indentation = line[: len(line) - len(body)]
    pieces = SENTENCE_BREAK_RE.split(body)
    last_line_of_block = index + 1 >= len(lines) or kinds[index + 1] is not LineKind.PROSE
    kept = []
    for position, piece in enumerate(pieces):
        # A hard-wrapped sentence shows up as fragments; only whole sentences may be compared.
        whole_sentence = (position > 0 or starts_sentence) and (
            _ends_sentence(piece) or (position == len(pieces) - 1 and last_line_of_block)
        )
        eligible = whole_sentence and len(piece.split()) >= MIN_DEDUPLICATED_WORDS
        if not (eligible and scope.is_repeat(piece)):
            kept.append(piece)
        if CONDITION_RE.match(piece):
            scope.condition = (index, position)
    if not kept:
        return None
    return indentation + " ".join(kept)


def _open_intro(kinds, index, scope):
    """Scope what follows a line ending in a colon: its block, or the next one if it ends it."""
    scope.intro = index
    scope.intro_last_block = scope.block
    next_index = index + 1
    if next_index < len(kinds) and kinds[next_index] is LineKind.PROSE:
        return
    while next_index < len(kinds) and kinds[next_index] is LineKind.BLANK:
        next_index += 1
    if next_index < len(kinds) and kinds[next_index] is LineKind.PROSE:
        scope.intro_last_block = scope.block + 1


def _ends_sentence(text):
    return text.rstrip(SENTENCE_CLOSERS)[-1:] in (".", "!", "?")
