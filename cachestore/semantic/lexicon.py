"""Word lists for the semantic-cache verifier.

Every list here is general English, not fitted to one evaluation set. Adding
a word to SYNONYMS, UNITS, STOPWORDS, INFORMAL or the filler patterns loosens
the verifier, so those stay small and exact; a word missing from them only
costs a cache miss. CONTRAST_PAIRS works the other way: it vetoes typo
matches ("on"/"off" is never a slip) and names the reason for a rejection.
"""

import re

# Contractions, after curly apostrophes have been straightened. "'s" after
# anything not listed is a possessive and is dropped (see features.py).
CONTRACTIONS = {
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "y'all": "you all",
    "it's": "it is",
    "that's": "that is",
    "there's": "there is",
    "here's": "here is",
    "what's": "what is",
    "who's": "who is",
    "where's": "where is",
    "when's": "when is",
    "why's": "why is",
    "how's": "how is",
    "he's": "he is",
    "she's": "she is",
}
# Informal spellings that are unambiguous in a question to an assistant.
# Deliberately absent: "r" (the R language), "id" (an identifier), "lets".
INFORMAL = {
    "whats": "what is",
    "thats": "that is",
    "hows": "how is",
    "wheres": "where is",
    "whos": "who is",
    "whens": "when is",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "cant": "can not",
    "wont": "will not",
    "shouldnt": "should not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "hasnt": "has not",
    "havent": "have not",
    "hadnt": "had not",
    "im": "i am",
    "ive": "i have",
    "youre": "you are",
    "theyre": "they are",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "thx": "thanks",
    "ty": "thanks",
    "tnx": "thanks",
    "wanna": "want to",
    "gonna": "going to",
}
CONTRACTION_SUFFIXES = (
    ("n't", " not"),
    ("'re", " are"),
    ("'ve", " have"),
    ("'ll", " will"),
    ("'d", " would"),
    ("'m", " am"),
)
# Words after which "'s" means "is" (or "has"), not a possessive.
S_IS_HOSTS = frozenset("it that there here what who where when why how he she".split())

NEGATIONS = frozenset("not no never nothing none nobody nowhere neither nor noone".split())
PAST_MARKERS = frozenset("was were did had".split())
FUTURE_MARKERS = frozenset("will shall".split())

# Dropped before comparing: articles, copulas and the auxiliary "do". Tense
# auxiliaries are read before they go (features.Features.tense).
STOPWORDS = frozenset(
    "a an the do does did is are am be been being was were will shall there that "
    "some any please kindly just really actually basically".split()
)

# Prepositions head a phrase that can move ("in Python, how..." / "how... in
# Python?") and are kept as words: "from A to B" must not equal "from B to A".
PREPOSITIONS = frozenset(
    "about above across after against along among around at before behind below "
    "beneath beside between beyond by during except for from in inside near of "
    "on onto over per since than through throughout to toward towards under until "
    "unlike upon via with within without using versus vs".split()
)
SYMMETRIC_HEADS = frozenset({"between"})  # "between A and B" == "between B and A"

# One canonical spelling per class. Only near-exact synonyms in the sense a
# question would use them; when in doubt a pair is left out (a cache miss).
_SYNONYM_CLASSES = """
big large | bigger larger | biggest largest
fast quick quickly rapid rapidly | faster quicker | fastest quickest
tall high | taller higher | tallest highest
begin start commence | began started | begun | beginning starting
buy purchase | bought purchased | buying purchasing
help assist | helping assisting
show display
remove eliminate | removing eliminating
delete erase | deleting erasing
cost price fee | costs prices fees
shipping delivery | ship deliver | shipped delivered
explain describe
fix repair | fixing repairing
need require | needs requires
use utilize utilise | using utilizing utilising
main primary principal
often frequently | usually typically normally | maybe perhaps
enough sufficient | nearest closest | wrong incorrect
hard difficult | smart intelligent | rich wealthy | brief short | cheap inexpensive
car automobile | movie film | photo photograph | kid child | kids children
mom mother mum | dad father | doctor physician | lawyer attorney
sofa couch | fridge refrigerator | tv television | phone telephone
info information | docs documentation | repo repository | config configuration
db database | js javascript
write draft | summarize summarise | summary synopsis
what which | who whom
""".strip()
SYNONYMS = {
    word: words[0]
    for group in re.split(r"\s*[|\n]\s*", _SYNONYM_CLASSES)
    for words in [group.split()]
    for word in words
}

# Units: the number already carries the quantity, so plurals and abbreviations
# of one unit are the same token. "m", "min" and "second" are ambiguous
# as words and only count as units right after a number (features.py).
_UNIT_CLASSES = """
kilogram kilograms kg kgs kilo kilos | gram grams | pound pounds lb lbs
ounce ounces oz | ton tons | tonne tonnes
kilometer kilometers kilometre kilometres km kms | meter meters metre metres
centimeter centimeters centimetre centimetres cm | millimeter millimeters mm
mile miles | foot feet ft | inch inches | yard yards yd
liter liters litre litres | milliliter milliliters ml | gallon gallons gal
cup cups | tablespoon tablespoons tbsp | teaspoon teaspoons tsp
hour hours hr hrs | minute minutes mins | sec secs seconds
celsius centigrade | fahrenheit | percent % pct | mph | kmh kph km/h
dollar dollars usd | euro euros eur | yen jpy | gbp
""".strip()
UNITS = {
    word: words[0] for group in re.split(r"\s*[|\n]\s*", _UNIT_CLASSES) for words in [group.split()] for word in words
}
UNITS_AFTER_NUMBER_ONLY = {
    "m": "meter",
    "min": "minute",
    "second": "sec",
    "s": "sec",
    "h": "hour",
    "g": "gram",
    "l": "liter",
    "mi": "mile",
    "c": "celsius",
    "f": "fahrenheit",
    "k": "thousand",
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "yr": "year",
    "yrs": "year",
}
# Country names with dots, applied to the lower-cased text before tokenising.
NAME_PHRASES = (
    (r"\bunited states(?: of america)?\b|\bu\.s\.(?:a\.)?(?!\w)", " usa "),
    (r"\bunited kingdom\b|\bu\.k\.(?!\w)", " uk "),
)
# Multi-word units and question frames, applied to the space-joined tokens
# after contractions are expanded.
PHRASES = (
    (r"\bmiles per hour\b", "mph"),
    (r"\bkilomet(?:er|re)s? (?:per|an) hour\b", "kmh"),
    (r"\bper ?cent\b", "percent"),
    (r"\bis been\b", "has been"),
    (r"\bhigh in\b", "rich in"),  # "foods high in iron"  # "it's been" was expanded to "it is been"
    (r"\bmultiplied by\b", "times"),
    (r"\b(?:give|provide|write)(?: me)?(?: an?)? summary of\b", "summarize"),
    (r"\b(?:give|provide|write)(?: me)?(?: an?)? explanation of\b", "explain"),
    (r"\b(?:give|provide|write)(?: me)?(?: an?)? description of\b", "describe"),
    (r"\b(?:give|provide|write)(?: me)?(?: an?)? definition of\b", "define"),
    (r"\b(?:give|provide|write)(?: me)?(?: an?)? translation of\b", "translate"),
    (r"\bdivided by\b", "over"),
    (r"\bis it possible (?:for me )?to\b", "can i"),
    (r"\bhow (?:do|does|can|could) (?:i|you|one)\b", "how to"),
    (r"\bwhat is the way to\b", "how to"),
)
# Read as operators only between two numbers ("3 times a week" stays words).
OPERATORS = {"plus": "+", "minus": "-", "times": "*", "x": "*", "over": "/"}

NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
NUMBER_WORDS.update(
    {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
)
NUMBER_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
ORDINALS = {
    word: f"{value}th"
    for value, word in enumerate(
        "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
        "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
        "nineteenth twentieth".split()
    )
}

# Whole clauses that carry no request: greetings, thanks, prefaces.
FILLER_CLAUSE_WORDS = frozenset(
    "hi hello hey hiya there greetings dear good morning afternoon evening thanks "
    "thank you so much very lot in advance please ok okay um umm uh hmm well sorry "
    "cheers just curious wondering quick question random alright anyway anyways btw "
    "again oh ah".split()
)
FILLER_CLAUSES = re.compile(
    r"(?:sorry (?:to bother you|for (?:the|my) (?:bother|trouble|interruption)|if this is"
    r" (?:a|an) (?:dumb|stupid|silly|basic|naive|obvious) question)"
    r"|(?:this|it) (?:might|may|could) be (?:a|an) (?:dumb|stupid|silly|basic|naive|obvious) question"
    r"|not sure (?:if|whether) this is the (?:right|correct) (?:place|channel|forum) (?:to ask|for this)"
    r"|i (?:have|had) been stuck on (?:this|it)(?: for (?:a while|ages|hours|days|a long time))?"
    r"|(?:i )?hope (?:you are|all is|this finds you) (?:well|doing well)"
    r"|i have a (?:quick |simple )?question(?: for you)?"
    r"|(?:quick|random|simple|dumb|stupid|silly|basic) (?:question|one)"
    r"|(?:just )?(?:curious|wondering)|i was (?:just )?wondering"
    r"|(?:any|all) help (?:is|would be) (?:much |greatly |really )?appreciated"
    r"|thanks? (?:you )?(?:so much |very much |a lot )?(?:in advance)?)"
)
# Verbs that make "could you <verb>" a request rather than a question about
# the assistant's ability.
REQUEST_VERBS = (
    "tell|explain|describe|write|give|list|show|help|summarize|summarise|convert|translate|"
    "recommend|suggest|create|generate|make|draft|provide|calculate|compute|define|find|"
    "compare|outline|name|check|correct|proofread|rewrite|rephrase|send|share"
)
_WH = r"(?:how|what|which|who|whom|whose|when|where|why|whether|if)\b"
# Openings stripped from the start of a clause, repeatedly, in this order.
LEADING_FRAMES = re.compile(
    r"^(?:(?:so|okay|ok|um|umm|uh|hmm|basically|actually|anyway|anyways|also|and|but|btw|please|kindly)\b"
    r"|(?:quick|random|simple|dumb|stupid|silly|basic) question(?: for you)?\b"
    r"|i would be (?:so |very |really )?(?:grateful|thankful) if you (?:could|would|can)\b"
    r"|i would (?:really )?appreciate (?:it )?if you (?:could|would|can)\b"
    rf"|(?:can|could|would|will) you (?:please |kindly )?(?=(?:{REQUEST_VERBS})\b)"
    rf"|you (?:could|can|would) (?=(?:{REQUEST_VERBS})\b)"
    r"|(?:may|can|could) i ask(?: you)?(?: (?:a )?(?:quick )?question)?\b"
    rf"|i (?:was|am) (?:just )?wondering (?:if |whether )?(?=(?:you|{_WH}))"
    r"|i (?:need|want|would like|would love) to (?:know|understand|find out|learn) "
    rf"(?:if |whether )?(?={_WH})"
    rf"|(?:do|does) (?:you|anyone|anybody) know (?={_WH})"
    rf"|(?:please )?(?:tell|show) me (?={_WH})"
    r")\s*"
)

# Pairs that look alike and mean opposite or different things. Used to veto a
# typo match and to explain a rejection; a pair missing here is still
# rejected, just with a plainer reason.
CONTRAST_PAIRS = frozenset(
    frozenset(pair.split("/"))
    for pair in """
    on/off up/down in/out with/without for/against before/after above/below over/under
    more/less most/least max/min maximum/minimum higher/lower increase/decrease
    add/remove enable/disable open/close start/stop buy/sell push/pull import/export
    upload/download upgrade/downgrade encrypt/decrypt encode/decode compress/decompress
    ascending/descending inbound/outbound include/exclude input/output install/uninstall
    advantages/disadvantages advantage/disadvantage pros/cons pro/con benefits/drawbacks
    upsides/downsides upside/downside strengths/weaknesses first/last earliest/latest
    yesterday/today today/tomorrow yesterday/tomorrow past/future old/new cheap/expensive
    accept/reject allow/deny true/false positive/negative left/right north/south east/west
    inner/outer horizontal/vertical formal/informal casual/formal short/long
    lowercase/uppercase singular/plural sender/receiver buyer/seller client/server
    methanol/ethanol weekdays/weekends weekday/weekend always/never
    big/small bigger/smaller biggest/smallest large/small larger/smaller largest/smallest
    fast/slow faster/slower fastest/slowest good/bad better/worse best/worst easy/hard
    easier/harder hot/cold warm/cool heavy/light raise/lower grow/shrink expand/collapse
    maximize/minimize maximise/minimise increase/reduce wide/narrow thick/thin early/late
    """.split()
)
# Words that set a direction or a polarity, for the rephrasing guard: a rephrasing may not say one
# on each side ("increase" / "smaller"). Left out: particles and words with a common idiomatic use
# that is no polarity ("how old", "how long", "right away", "first of all", "in", "with").
_IDIOMATIC_CONTRASTS = frozenset(
    """on off up down in out with without for against before after above below over under old new
    short long first last past future today yesterday tomorrow left right true false always never
    input output client server sender receiver""".split()
)
POLAR_WORDS = frozenset(word for pair in CONTRAST_PAIRS for word in pair) - _IDIOMATIC_CONTRASTS
# Particles that say which way something goes: "convert A to B" / "turn B into A".
DIRECTION_PARTICLES = frozenset("to into onto from than versus vs toward towards".split())
NEGATING_PREFIXES = frozenset("un dis in im il ir non de anti mis counter".split())
# Prefixes that turn a word into its opposite when swapped for one another
# ("ascending"/"descending", "import"/"export", "upgrade"/"downgrade").
OPPOSING_PREFIXES = frozenset(
    "a de dis un in im ex en em up down out over under pre post inter intra as des inc dec pro con sub super".split()
) | {""}
