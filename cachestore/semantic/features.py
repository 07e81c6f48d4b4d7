"""Reduce a prompt to the features the verifier compares.

The reduction keeps everything that can change the answer (numbers, quoted
text, negations, tense, every content word and its order) and drops only what
cannot: case, accents, punctuation, contractions, greetings, thanks,
politeness frames, articles and the auxiliary "do".
"""

import re
import unicodedata
from dataclasses import dataclass

from cachestore.semantic import lexicon

BOUNDARY = "|"
# A colon introduces what the clause before it asks for ("Translate: good
# morning"), so the clause after it is never dropped as a greeting.
COLON = "|:"
_QUOTE_MARK = "\x00"
# Flexible negation: the "n't" of an inverted auxiliary ("why doesn't my
# script find"), which a paraphrase may place later ("does my script not find").
_INVERTED_NOT = "not^"
_AUXILIARIES = frozenset("do does did is are was were can could will would should has have had must may might".split())
_WH_WORDS = frozenset("how what which who whom whose when where why".split())

_QUOTES = re.compile(r'"([^"]+)"|`([^`]+)`|(?<![\w])\'(.+?)\'(?![\w])')
_TOKEN = re.compile(
    r"(?P<quote>\x00\d+\x00)"
    r"|(?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
    r"|(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)(?P<suffix>[^\W\d_]+)?"
    r"|(?P<word>[^\W\d_]\w*(?:'\w+)*(?:[.#+/]\w+)*[#+]*(?:\(\))?)"
    r"|(?P<minus>(?<![\w])-(?=\d)|(?<=\d)-(?=\d))"
    r"|(?P<boundary>[.!?;:,()\[\]{}¿¡…]|\s[-–—]+\s|[–—]|--)"
    # Every other symbol is kept: "2+2" is not "2-2", nor a pizza emoji a burger.
    r"|(?P<symbol>[^\w\s'\"-])"
)
_SYMBOLS = {
    "×": "*",
    "÷": "/",
    "&": "and",
    "$": "dollar",
    "€": "euro",
    "£": "gbp",
    "¥": "yen",
    "#": "hash",
    "|": "pipe",
    "°": "",
}
_CURRENCY = frozenset({"dollar", "euro", "gbp", "yen"})
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_NAME_PHRASES = tuple((re.compile(pattern), replacement) for pattern, replacement in lexicon.NAME_PHRASES)
_PHRASES = tuple((re.compile(pattern), replacement) for pattern, replacement in lexicon.PHRASES)


@dataclass(frozen=True)
class Features:
    """What a prompt asks, reduced to comparable parts."""

    words: tuple[str, ...]  # content words, prepositions, numbers, quotes; in order
    clause_starts: frozenset[int]  # indexes into words where a clause begins
    negations: tuple[tuple[int, bool], ...]  # (index into words, inverted auxiliary?)
    numbers: tuple[str, ...]
    quotes: tuple[str, ...]
    tense: frozenset[str]
    names: frozenset[str] = frozenset()  # words capitalised inside a sentence


# Not memoised: a cache of analyses would keep prompt text in memory after
# the request (privacy invariant 1), and one analysis costs ~50 us.
def analyse(text: str, *, synonyms: bool = True) -> Features:
    """Return the comparable features of one prompt."""
    text, quotes = _extract_quotes(_straighten(text))
    # Capitals carry meaning only in a text written in sentence case.
    sentence_case = not text.isupper() and not _is_title_case(text)
    names = _names(text) if sentence_case else frozenset()
    if not text.isupper():
        # "US" in capitals is the country; in an all-caps text it is ambiguous.
        text = re.sub(r"\bU\.?S\.?(?:A\.?)?(?![\w])", " usa ", text)
        if sentence_case:
            # A capital "A" inside a sentence is a label ("plan A", "vitamin
            # A"), not the article the stopword list drops.
            text = re.sub(r"(?<=[a-z0-9] )A(?![\w'])", "a_label", text)
    text = _strip_accents(text.lower())
    for pattern, replacement in _NAME_PHRASES:
        text = pattern.sub(replacement, text)
    joined = " ".join(_expand(_tokenise(text)))
    for pattern, replacement in _PHRASES:
        joined = pattern.sub(replacement, joined)
    tokens = joined.split()
    tokens = _drop_fillers(tokens)
    tense = frozenset(
        ({"past"} if lexicon.PAST_MARKERS.intersection(tokens) else set())
        | ({"future"} if lexicon.FUTURE_MARKERS.intersection(tokens) else set())
    )
    tokens = _canonical(tokens, quotes, synonyms=synonyms)
    tokens = _order_symmetric(tokens)
    return _features(tokens, tense, names)


def _names(text: str) -> frozenset[str]:
    """Return the lower-cased words written with a capital inside a sentence.

    A writer who capitalises a word spells it on purpose ("Perl", "Pearl"),
    so the verifier never reads two such words as one misspelt.
    """
    found = re.findall(r"(?<![.!?:]\s)(?<!^)(?<=\s)([A-Z][^\W\d_]+)", text)
    return frozenset(_strip_accents(word.lower()) for word in found)


def _is_title_case(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text)
    return len(words) > 1 and sum(word[0].isupper() for word in words) > 0.6 * len(words)


def _straighten(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"'}))


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _extract_quotes(text: str) -> tuple[str, list[str]]:
    """Replace quoted spans by placeholders; their text is compared verbatim."""
    quotes: list[str] = []

    def keep(match: re.Match) -> str:
        inner = next(group for group in match.groups() if group is not None)
        inner = " ".join(_strip_accents(inner.lower()).split()).strip(" .,!?;:")
        quotes.append(inner)
        # A quoted sentence ends the sentence around it: "...: 'It broke.' Thanks!"
        ends_sentence = " . " if re.search(r"[.!?]\s*$", match.group()[1:-1]) else " "
        return f" {_QUOTE_MARK}{len(quotes) - 1}{_QUOTE_MARK}{ends_sentence}"

    return _QUOTES.sub(keep, text), quotes


def _tokenise(text: str) -> list[str]:
    tokens: list[str] = []
    currency = ""  # "$100" reads "100 dollar": the symbol waits for its number
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "suffix":
            kind = "number"
        if currency and kind != "number":
            tokens.append(currency)
            currency = ""
        if kind == "boundary":
            tokens.append(COLON if match.group() == ":" else BOUNDARY)
        elif kind == "number":
            number, suffix = match.group("number"), match.group("suffix")
            if suffix in _ORDINAL_SUFFIXES:
                tokens.append(f"#{_number(number)}th")
            elif suffix == "s" and "," not in number:
                tokens.append(f"#{_number(number)}s")  # a decade: 1990s
            else:
                tokens.append(f"#{_number(number)}")
                if suffix:
                    tokens.append(suffix)
            if currency:
                tokens.append(currency)
                currency = ""
        elif kind == "time":
            tokens.append(f"#{match.group()}")
        elif kind == "minus":
            tokens.append("-")
        elif kind == "symbol":
            symbol = _SYMBOLS.get(match.group(), match.group())
            if symbol in _CURRENCY:
                currency = symbol
            elif symbol:
                tokens.append(symbol)
        else:
            tokens.append(match.group())
    if currency:
        tokens.append(currency)
    return tokens


def _number(text: str) -> str:
    text = text.replace(",", "")
    # Keep decimals as written: version "3.10" is not "3.1".
    return text if "." in text else str(int(text))


def _expand(tokens: list[str]) -> list[str]:
    """Expand contractions and informal spellings; drop possessive "'s"."""
    expanded: list[str] = []
    for token in tokens:
        at_clause_start = not expanded or expanded[-1] in (BOUNDARY, COLON, *_WH_WORDS)
        replacement = lexicon.CONTRACTIONS.get(token) or lexicon.INFORMAL.get(token)
        if replacement is None and "'" in token:
            replacement = _split_contraction(token)
        if replacement is None:
            expanded.append(token)
            continue
        words = replacement.split()
        if at_clause_start and words[-1] == "not" and len(words) == 2 and words[0] in _AUXILIARIES:
            words[-1] = _INVERTED_NOT
        expanded.extend(words)
    return expanded


def _split_contraction(token: str) -> str:
    for suffix, replacement in lexicon.CONTRACTION_SUFFIXES:
        if token.endswith(suffix):
            return token[: -len(suffix)] + replacement
    if token.endswith("'s"):
        host = token[:-2]
        return f"{host} is" if host in lexicon.S_IS_HOSTS else host
    return token.replace("'", "")


def _drop_fillers(tokens: list[str]) -> list[str]:
    """Drop greeting and thanks clauses and strip politeness frames."""
    clauses: list[list[str]] = [[]]
    after_colon = [False]
    for token in tokens:
        if token in (BOUNDARY, COLON):
            clauses.append([])
            after_colon.append(token == COLON)
        else:
            clauses[-1].append(token)
    kept: list[list[str]] = []
    for clause, quoted_by_colon in zip(clauses, after_colon):
        if not clause:
            continue
        joined = " ".join(clause)
        while not _is_filler(joined):
            stripped = lexicon.LEADING_FRAMES.sub("", joined, count=1)
            if stripped == joined or not stripped:
                break
            joined = stripped
        if _is_filler(joined) and not quoted_by_colon:
            continue
        joined = re.sub(r"^tell me (?=the\b)", "what is ", joined)
        kept.append(joined.split())
    if not kept:
        # Nothing but courtesy ("Thank you!"): compare it as it is.
        kept = [clause for clause in clauses if clause]
    result: list[str] = []
    for clause in kept:
        if result:
            result.append(BOUNDARY)
        result.extend(clause)
    return result


def _is_filler(clause: str) -> bool:
    return set(clause.split()) <= lexicon.FILLER_CLAUSE_WORDS or bool(lexicon.FILLER_CLAUSES.fullmatch(clause))


def _canonical(tokens: list[str], quotes: list[str], *, synonyms: bool) -> list[str]:
    """Map every token to its canonical spelling; drop stopwords."""
    tokens = _merge_number_words(tokens)
    result: list[str] = []
    for position, token in enumerate(tokens):
        previous = result[-1] if result else ""
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if token.startswith(_QUOTE_MARK):
            result.append(f"'{quotes[int(token.strip(_QUOTE_MARK))]}'")
            continue
        if token in lexicon.STOPWORDS:
            continue
        after_number = previous.startswith("#")
        if after_number and following.startswith("#") and token in lexicon.OPERATORS:
            token = lexicon.OPERATORS[token]
        elif after_number and token in lexicon.UNITS_AFTER_NUMBER_ONLY:
            token = lexicon.UNITS_AFTER_NUMBER_ONLY[token]
        elif token in lexicon.UNITS:
            token = lexicon.UNITS[token]
        elif token in lexicon.ORDINALS:
            token = f"#{lexicon.ORDINALS[token]}"
        elif synonyms:
            token = lexicon.SYNONYMS.get(token, token)
        result.append(token)
    return result


def _merge_number_words(tokens: list[str]) -> list[str]:
    """Turn "twenty five" into "#25" and "one hundred" into "#100"."""
    result: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if not run:
            return
        total, current = 0, 0
        for word in run:
            if word in lexicon.NUMBER_WORDS:
                current += lexicon.NUMBER_WORDS[word]
            else:
                current = max(current, 1) * lexicon.NUMBER_SCALES[word]
                if lexicon.NUMBER_SCALES[word] >= 1000:
                    total, current = total + current, 0
        result.append(f"#{total + current}")
        run.clear()

    for token in tokens:
        if token in lexicon.NUMBER_WORDS or token in lexicon.NUMBER_SCALES:
            run.append(token)
        else:
            flush()
            result.append(token)
    flush()
    return result


def _order_symmetric(tokens: list[str]) -> list[str]:
    """Sort the two sides of "between A and B", whose order carries no meaning."""
    tokens = list(tokens)
    for head in (i for i, token in enumerate(tokens) if token in lexicon.SYMMETRIC_HEADS):
        try:
            conjunction = tokens.index("and", head + 1)
        except ValueError:
            continue
        end = conjunction + 1
        while end < len(tokens) and not _ends_conjunct(tokens[end]):
            end += 1
        left, right = tokens[head + 1 : conjunction], tokens[conjunction + 1 : end]
        if not left or not right or len(left) > 4 or len(right) > 4:
            continue
        if any(_ends_conjunct(token) for token in left):
            continue
        first, second = sorted([left, right])
        tokens[head + 1 : end] = [*first, "and", *second]
    return tokens


def _ends_conjunct(token: str) -> bool:
    return token in (BOUNDARY, _INVERTED_NOT) or token in lexicon.PREPOSITIONS or token in lexicon.NEGATIONS


def _features(tokens: list[str], tense: frozenset[str], names: frozenset[str]) -> Features:
    words: list[str] = []
    clause_starts = {0}
    negations: list[tuple[int, bool]] = []
    for token in tokens:
        if token == BOUNDARY:
            clause_starts.add(len(words))
        elif token == _INVERTED_NOT or token in lexicon.NEGATIONS:
            negations.append((len(words), token == _INVERTED_NOT))
        else:
            words.append(token)
    return Features(
        words=tuple(words),
        clause_starts=frozenset(index for index in clause_starts if index < len(words)),
        negations=tuple(negations),
        numbers=tuple(sorted(word[1:] for word in words if word.startswith("#") and len(word) > 1)),
        quotes=tuple(sorted(word for word in words if word.startswith("'"))),
        tense=tense,
        names=names,
    )
