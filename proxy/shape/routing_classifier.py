"""Choose the cheap or the strong tier for ``model: "optera/auto"`` from the request alone.

A hand-weighted linear score over a few dozen named features, each of which can be read back as
a reason: what the task asks for (design, prove, debug, plan, weigh trade-offs... against
translate, extract, label, reformat, look up), how many requirements the instruction stacks up,
how long the instruction is once the text it works on (quoted strings, pasted documents, lists
after a colon) is set aside, code and stack traces, hard domains (law, tax, medicine), and the
shape of the request (tools, images, long conversations). A score >= 0 picks the strong tier.

Pure Python and bounded: only the head and tail of a long message are scanned and every pattern
is written so that it cannot backtrack quadratically, so a 50k-character prompt costs about as
much as a 5k one. bench/routing_eval.py measures accuracy and latency and compares these hand
weights with a logistic regression fitted on the same features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SMALL = "small"
LARGE = "large"

# Unknown prompts lean strong: a wrong cheap answer costs more than the cent it saved.
BIAS = 0.6

# Instructions sit at the start of a message ("Summarise this: ...") or at its end ("... what is
# wrong?"), so a long message is scanned only at its head and tail.
SCAN_HEAD = 2000
SCAN_TAIL = 1000
INSTRUCTION_MAX = 600
SYSTEM_SCAN = 500


@dataclass(frozen=True)
class RouteDecision:
    tier: str  # SMALL or LARGE
    score: float  # >= 0 means LARGE; the distance from 0 is the confidence
    reason: str  # e.g. "large: asks for design; weighs trade-offs; 3 requirements"


def _words(*alternatives: str) -> re.Pattern:
    """Compile alternatives that must start and end on a word boundary."""
    # A leading \b outside the group lets the regex engine skip most positions quickly.
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")(?!\w)")


def _start(*alternatives: str) -> re.Pattern:
    """Compile alternatives that must open the instruction."""
    return re.compile(r"^(?:please |can you |could you )?(?:" + "|".join(alternatives) + r")(?!\w)")


# name: (weight, label, pattern); patterns run on the lower-cased instruction. Positive weights
# pull toward the strong tier. A cue counts once however often it matches.
CUES: dict[str, tuple[float, str, re.Pattern]] = {
    "design": (1.6, "asks for design", _words(
        r"design", r"architect\w*", r"how would (?:you|i) (?:build|achieve|structure|implement|handle)",
        r"data model", r"protocol", r"scal(?:able|ability|es? to)", r"offline-first")),
    "systems": (0.9, "distributed/systems topic", _words(
        r"consisten(?:t|cy)", r"idempoten\w*", r"shard\w*", r"replicat\w*", r"multi-tenant",
        r"throughput", r"distributed", r"concurren\w*", r"thread-safe", r"race condition",
        r"deadlocks?", r"mutex\w*", r"locks?", r"goroutines?", r"event loop", r"async",
        r"memory leak", r"leak\w*", r"kafka", r"(?:exactly|effectively)-once", r"cach(?:e|ing)",
        r"latency", r"\d+k? (?:writes|reads|requests)/s\w*", r"consensus", r"oomkilled")),
    "plan": (1.3, "asks for a plan", _words(
        r"plan", r"roadmap", r"schedule", r"strateg(?:y|ies)", r"runbook", r"playbook",
        r"curriculum", r"itinerary", r"milestones?", r"migrat(?:e|ing|ion)", r"go-to-market",
        r"workstreams?", r"timeline", r"onboarding program\w*", r"lay out", r"put together",
        r"propose", r"requirements document")),
    "proof": (1.8, "math proof/derivation", _words(
        r"prove", r"proof", r"show that", r"derive", r"theorem", r"lemma", r"diverges?",
        r"converges?", r"irrational", r"infinitely many", r"integer solutions", r"recurrence",
        r"how many (?:\w+ )?ways", r"refute", r"uniformly continuous")),
    "math": (1.2, "non-trivial math", re.compile(r"[∫∑]|" + _words(
        r"integral", r"probability", r"expected (?:value|number)", r"odds", r"maximi[sz]e",
        r"minimi[sz]e", r"minimum (?:total|number)", r"divisible", r"combinatori\w*",
        r"arrangements?", r"equations?", r"primes?", r"remainder", r"factorial", r"modulo",
        r"polynomial", r"derivative", r"eigen\w*", r"(?:smallest|largest) (?:positive )?integer",
        r"how fast", r"fermi estimate", r"\d+!", r"perfect squares?").pattern)),
    "puzzle": (1.5, "logic puzzle", _words(
        r"puzzle", r"riddle", r"knights?", r"knaves?", r"liars?", r"always (?:lies|tells the truth)",
        r"weighings?", r"balance scale", r"hats?", r"prisoners")),
    "reasoning": (1.2, "asks for step-by-step reasoning", _words(
        r"step[- ]by[- ]step", r"show (?:your|each|all|the) (?:work|steps?)", r"justify",
        r"explain (?:exactly |precisely )?why", r"explain (?:the|your) (?:reasoning|cause|counting)",
        r"walk (?:me )?through", r"reasoning", r"argue", r"explain how", r"explain the",
        r"why[^?\n]{0,80}\?", r"deduc\w+", r"rather than just", r"state your assumptions")),
    "tradeoffs": (1.3, "weighs trade-offs", _words(
        r"trade-?offs?", r"pros and cons", r"compare", r"comparison", r"versus", r"vs\.?",
        r"weigh\w*", r"steelman", r"both sides", r"should (?:i|we)", r"which (?:is|would be) better",
        r"better\b.{0,60}\bor", r"evaluate the", r"assess", r"when .{0,40}bad idea",
        r"or (?:should|would)", r"what should be considered", r"what are (?:my|our) options",
        r"(?:choose|pick|decide) between", r"drive the decision", r"for and against",
        r"arguments (?:for|against)", r"is it worth")),
    "judgement": (1.2, "asks for a judgement", _words(
        r"your (?:own )?(?:recommendation|opinion|view|verdict|assessment)", r"recommend(?:ation)? for",
        r"which side", r"flag (?:anything|any|the)", r"red flags", r"anything unusual",
        r"is (?:my|this) reasoning", r"review my", r"critique", r"what's wrong with (?:it|my|this)",
        r"negotiat\w*", r"smartest way")),
    "analysis": (1.0, "asks for analysis", _words(
        r"analy[sz]\w*", r"interpret\w*", r"diagnos\w*", r"implications?", r"consequences",
        r"evidence", r"causes?", r"factors", r"root cause", r"how .{0,30}spread",
        r"what is .{0,30}probably doing", r"what could (?:cause|this be)", r"to what extent",
        r"how did .{0,60}\b(?:change|affect|shape|influence|lead)", r"what might (?:be going on|explain)",
        r"what would happen", r"critically", r"where the analogy")),
    "code_hard": (1.4, "non-trivial code to write", _words(
        r"implement\w*", r"refactor\w*", r"algorithm", r"data structure", r"parser", r"tokenizer",
        r"o\([^)\n]{1,12}\)", r"linear (?:time|memory)", r"time complexity", r"unit tests?",
        r"(?:include|with) tests", r"tests for", r"thread-safe", r"safe for concurrent",
        r"idiomatic", r"edge cases", r"serializ\w*", r"window functions?", r"streaks?",
        r"consecutive", r"recursive cte", r"exponential backoff", r"optimi[sz]e this",
        r"handl(?:es?|ing) (?:null|errors|ssr|months|overlaps|gaps|malformed)",
        r"for each \w+, (?:find|return|compute)", r"async/await",
        r"(?:convert|port|translate|rewrite|migrate) (?:this|the|my|our) [\w./+#-]{0,30} ?"
        r"(?:code|function|script|class|module|program|handler)")),
    "code_write": (0.6, "code to write", _words(
        r"write (?:a |an |the )?(?:\w+ ){0,2}(?:functions?|class|program|script|query|module|service|"
        r"library|cli|api|server|hook|regex|decorator|list comprehension|loop|snippet|command)",
        r"build (?:a|an) \w+ (?:hook|component|app)")),
    "debug": (1.3, "debugging", _words(
        r"error", r"exception", r"traceback", r"stack trace", r"bug", r"crash\w*", r"fails?",
        r"failing", r"broken", r"infinite loop", r"slower", r"hangs?", r"undefined", r"panic",
        r"segfault", r"doesn't work", r"not working", r"cannot borrow", r"what's going on",
        r"occasionally", r"exit code", r"keeps (?:restarting|crashing|growing)",
        r"sometimes .{0,40}(?:prints|fails|returns)", r"regression")),
    "legal": (1.6, "legal nuance", _words(
        r"legal\w*", r"laws?", r"lawyer", r"attorney", r"landlord", r"tenants?", r"lease",
        r"contracts?", r"clauses?", r"liab\w+", r"sue", r"sued", r"suing", r"lawsuit", r"court",
        r"rights", r"employer", r"fire me", r"fired", r"non-?compete", r"enforceable", r"copyright",
        r"trademark", r"patent", r"ip", r"gdpr", r"hipaa", r"compliance", r"regulat\w*", r"nlra",
        r"at-will", r"custody", r"divorce", r"immigration", r"visa", r"security deposit",
        r"data processing agreement", r"standard contractual", r"privacy framework", r"hoa",
        r"evict\w*", r"fin(?:ed|ing) me", r"indemnif\w*", r"negligen\w*", r"probate",
        r"severance", r"wrongful", r"discriminat\w*", r"harass\w*", r"is it legal",
        r"can (?:they|he|she|my \w+) (?:legally|do that|make me|force)")),
    "finance": (1.3, "tax/financial nuance", _words(
        r"tax(?:es|ed|ation|able)?", r"irs", r"deduct\w*", r"capital (?:gains?|loss)", r"wash-sale",
        r"ira", r"roth", r"401\(?k\)?", r"llc", r"s-corp", r"payroll", r"mortgage", r"refinanc\w*",
        r"invest\w*", r"portfolio", r"index fund", r"valuation", r"runway", r"burn", r"mrr",
        r"arr", r"rsus?", r"retirement", r"compound\w*", r"amortiz\w*", r"monetary", r"earn-out",
        r"acquisition", r"ir35", r"bracket", r"itemize", r"apr", r"debt", r"bonds?", r"equity",
        r"term sheet", r"preferred", r"dilution", r"espp", r"1099\S*", r"diversify")),
    "medical": (1.6, "medical nuance", _words(
        r"medic\w*", r"\d+ ?mg", r"dose", r"dosage", r"prescri\w*", r"drugs?", r"interactions?",
        r"side effects?", r"symptoms?", r"pregnan\w*", r"trimester", r"antibiotics?", r"seizures?",
        r"epilepsy", r"febrile", r"kidney", r"liver", r"thyroid", r"tsh", r"blood", r"insulin",
        r"diabet\w*", r"cancer", r"tumou?r", r"surgery", r"headaches?", r"vomit\w*", r"er",
        r"emergency", r"doctor", r"clinical", r"egfr", r"warfarin", r"seek care", r"diagnosis",
        r"cardiolog\w*", r"chest", r"vaccines?", r"swallowed", r"fever", r"rash", r"ibuprofen",
        r"paracetamol", r"acetaminophen", r"aspirin", r"lithium", r"statins?", r"ssris?",
        r"antidepressants?", r"bipolar", r"depression", r"hospital", r"pediatrician", r"gp")),
    "statistics": (1.2, "statistics/causal inference", _words(
        r"regression", r"p-?value", r"p ?[<=>] ?0?\.\d+", r"significan\w*", r"confound\w*",
        r"causal\w*", r"causation", r"a/b test", r"variance", r"bayes\w*", r"paradox",
        r"coefficient", r"stratified", r"selection effects?", r"auc", r"randomi[sz]ed")),
    "writing": (0.5, "creative writing", _words(
        r"poem", r"limerick", r"story", r"stories", r"dialogue", r"song", r"lyrics", r"screenplay",
        r"narrative", r"eulogy", r"monologue", r"fable", r"cover letter")),
    "long_form": (1.0, "long-form writing", _words(
        r"(?:write|draft|compose|prepare|produce) (?:me )?(?:a|an) (?:[\w,'-]+ ){0,4}(?:essay|article|"
        r"speech|blog post|op-ed|whitepaper|report|proposal|chapter|toast|cover letter|guide)",
        r"(?:\d{1,3},\d{3}|\d{3,})[- ]words?", r"(?:minutes|pages) (?:long|to read)", r"detailed")),
    "form_constraint": (1.0, "strict form constraints", _words(
        r"exactly", r"without (?:using|ever|the letter|sounding)", r"never (?:uses?|says?|mentions?)",
        r"under \d+ words", r"rhyme scheme", r"iambic", r"first letters", r"every (?:sentence|line)",
        r"end-words", r"sonnet", r"sestina", r"villanelle", r"pantoum", r"acrostic", r"ghazal",
        r"twist")),
    "explain": (0.6, "asks to explain", _words(
        r"explain", r"why", r"how does", r"how do .{0,40} work", r"what happens", r"interpreted",
        r"with (?:a )?(?:numeric|worked|realistic|concrete) example")),
    "open_question": (0.7, "open-ended question", _words(
        r"what are (?:my|the) (?:options|risks|rights)", r"what should (?:i|we)", r"how should (?:i|we)",
        r"is (?:that|it) (?:right|enforceable|legal|safe)", r"which should", r"what would you",
        r"how would you", r"what's the (?:best|right) way", r"what is the (?:best|right) way",
        r"who should")),
    # --- pulls toward the cheap tier ---
    "translate": (-2.4, "translation of a phrase", _words(
        r"translat\w*", r"how do (?:you|i) say", r"what does .{0,40} mean", r"(?:word|term) for",
        r"what .{0,20}means?", r"into (?:english|french|spanish|german|italian|portuguese|japanese|"
        r"chinese|korean|russian|arabic|dutch|polish|hindi)",
        r"(?:what|which|detect|identify|label) (?:the )?language")),
    "reformat": (-2.2, "formatting/conversion of given data", _words(
        r"convert", r"turn (?:this|these|it)", r"reformat", r"format (?:this|these|as)",
        r"capitali[sz]e", r"round", r"sort", r"alphabeti[sz]e",
        r"(?:ascending|descending|alphabetical|chronological) order", r"count the (?:words|letters|characters)",
        r"split (?:this|these|the)", r"remove the duplicates", r"dedupe", r"on separate lines",
        r"comma-separated", r"bullet(?:ed)? list", r"numbered list", r"(?:to|into) (?:json|yaml|csv)",
        r"json array", r"markdown table", r"iso 8601", r"12-hour", r"uppercase", r"lowercase",
        r"spell out", r"to (?:kilo|milli|centi)?(?:meters|grams|liters|litres)", r"to pounds",
        r"change (?:this|these|it) .{0,20}\bto", r"dd/mm\S*", r"mm/dd\S*",
        r"to (?:miles|kilometers|celsius|fahrenheit|minutes|seconds|hours)")),
    "extract": (-2.2, "extraction from given text", _words(
        r"extract", r"pull (?:out|the)", r"get the .{0,30} from", r"list the .{0,20}mentioned",
        r"which .{0,20} (?:is|are) mentioned", r"mentioned in", r"find the .{0,20} in this",
        r"what(?: is|'s) the .{0,20} in this", r"identify the \w+ in",
        r"in this (?:message|email|text|sentence|description|review|receipt)",
        r"from this (?:text|sentence|address|receipt|email|message|review)")),
    "label": (-2.2, "classification/labelling", re.compile(_words(
        r"classify", r"categori[sz]e", r"label", r"tag", r"sentiment", r"positive or negative",
        r"spam", r"sarcas\w*", r"question or a statement", r"which (?:department|team|queue|category)",
        r"priority", r"urgency", r"is the tone", r"angry or calm", r"phishing", r"fact or opinion",
        r"as (?:sports|fruit)", r"(?:billing|technical) or").pattern +
        r"|^(?:is|was|does) (?:this|that|the following|it) .{0,60}\bor\b|^which of these\b|^rate (?:the|this)\b")),
    "rewrite": (-2.0, "rewrite/summary of a short text", _words(
        r"rewrite", r"rephrase", r"paraphrase", r"reword", r"make (?:this|it) (?:sound )?more",
        r"more (?:formal|polite|friendly|concise|professionally)", r"friendlier", r"shorten",
        r"condense", r"fix the (?:grammar|typos|spelling|punctuation)", r"correct the (?:grammar|spelling)",
        r"proofread", r"summari[sz]e", r"tl;?dr", r"passive voice", r"past tense", r"simplify this",
        r"make this (?:email|sentence|message|a question)", r"used correctly")),
    "cheap_verb_first": (-0.8, "starts with a cheap-task verb", _start(
        r"translate", r"convert", r"extract", r"pull", r"classify", r"categori[sz]e", r"label", r"tag",
        r"rewrite", r"rephrase", r"paraphrase", r"reword", r"summari[sz]e", r"shorten", r"sort",
        r"alphabeti[sz]e", r"capitali[sz]e", r"reformat", r"format", r"turn this", r"change this",
        r"correct", r"fix the (?:grammar|typos|spelling|punctuation)", r"proofread", r"list the",
        r"count the", r"round", r"make this", r"put these", r"spell out", r"is this", r"does this",
        r"detect", r"identify the", r"remove the")),
    "lookup": (-1.6, "short factual lookup", re.compile(_start(
        r"(?:what|who|when|where|which)(?:'s| is| was| are| were| did| does| do)",
        r"how many \w+ (?:are|does|do|is|in)", r"how (?:tall|far|old|big|long|much does)",
        r"which \w+ (?:is|was|are|were|has|had|did)", r"(?:who|when) \w+ed").pattern + "|" + _words(
        r"define", r"definition", r"stand for", r"synonyms?", r"antonyms?", r"opposite of", r"plural",
        r"name (?:three|two|five)", r"what year", r"capital of", r"known as").pattern)),
    "faq": (-1.6, "FAQ-like how-to", _start(
        r"how (?:do|can) i", r"how to", r"can i", r"where (?:can|do) i", r"do you", r"is there an?",
        r"what(?:'s| is| are) your", r"what .{0,20} do you accept", r"how do you", r"how long does",
        r"i (?:forgot|lost|can't find) my", r"what can you")),
    "chitchat": (-2.5, "greeting/chit-chat", _start(
        r"hi", r"hello", r"hey", r"good (?:morning|afternoon|evening)", r"thanks", r"thank you",
        r"bye", r"ok", r"okay", r"cool", r"great, thanks")),
    "simple_ask": (-1.2, "simple generative request", _start(
        r"tell me (?:a|an|one)", r"suggest (?:a|an|one|some|\d+)", r"give me (?:a|an|one|some|two|three|five)",
        r"recommend (?:a|an|one)", r"name (?:a|an|one)", r"what's a good")),
    "short_form": (-1.0, "short-form text", _words(
        r"haiku", r"slogan", r"tagline", r"tweet", r"caption", r"title", r"subject line", r"headline",
        r"names? for", r"nickname", r"one-sentence", r"in one (?:sentence|line)", r"a name")),
    "arithmetic": (-1.4, "simple arithmetic", re.compile(
        r"^(?:what(?:'s| is)\s+)?\d[\d.,]*\s*(?:%\s*of|percent of|times|plus|minus|divided by|"
        r"multiplied by|[-+*/x×÷])\s*\d[\d.,]*\s*\??$|^how many (?:seconds|minutes|hours|days)|"
        r"^what(?:'s| is) (?:\d+ squared|the square root of \d+|\d+/\d+ as)")),
    "trivial_code": (-1.8, "trivial code snippet", re.compile(_words(
        r"one-liner", r"css rule", r"git command", r"what's the (?:\w+ )?(?:command|shortcut)",
        r"how (?:do|can) i (?:get|reverse|sort|find|check|convert|print|remove|add|center)").pattern +
        r"|^(?:print .{0,20} in \w+|sql query to|how to declare)\b")),
}

# Features computed from the request's shape: name -> (weight per unit, label).
SCALED: dict[str, tuple[float, str]] = {
    "requirements": (0.45, "{n} requirements"),
    "numbers": (0.35, "{n} quantities to combine"),
    "questions": (0.6, "{n} questions"),
    "length": (0.9, "long instruction ({n} words)"),
    "brevity": (-1.2, "very short request"),
    "simple_code": (-1.5, "short, self-contained code request"),
    "code_debug": (1.4, "code or stack trace to work on"),
    "code_payload": (1.0, "code to work on"),
    "long_input": (0.8, "long input"),
    "tools": (3.0, "tools/function calling"),
    "tool_loop": (2.5, "agentic tool loop"),
    "images": (3.0, "image input"),
    "multi_turn": (1.2, "multi-turn conversation"),
    "long_context": (1.5, "long conversation context"),
    "technical_thread": (1.2, "ongoing technical conversation"),
}

_HARD_CODE = ("code_hard", "systems", "debug", "proof", "math", "design")
# Cues that describe a quick question; a long instruction is no quick question whatever its opening.
_SHORT_ONLY = ("lookup", "faq", "chitchat", "simple_ask", "arithmetic")
SHORT_MAX_WORDS = 16
_CASUAL = {"whats": "what's", "hows": "how's", "dont": "don't", "cant": "can't", "im": "i'm",
           "u": "you", "pls": "please", "plz": "please", "ur": "your", "doesnt": "doesn't"}
_CASUAL_WORD = re.compile(r"\b(?:" + "|".join(_CASUAL) + r")\b")
_QUOTED = re.compile(r"(?<![\w'])'[^'\n]{2,300}'(?![\w'])|\"[^\"\n]{2,300}\"|“[^”\n]{2,300}”|`[^`\n]{1,80}`")
_BLOCK_SPLIT = re.compile(r"\n[ \t]*\n|:[ \t]*\n")
# "Sort these numbers: 4, 1, 3" - what follows the colon is data, not more requirements.
_DATA_AFTER_COLON = re.compile(r"^([^:\n]{0,200}\b(?:this|these|the following|below|them)\b[^:\n]{0,80}):\s")
_WORD = re.compile(r"[\w'-]+")
_NUMBER = re.compile(r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?\s?(?:%|k|m|x)?(?!\w)")
_REQUIREMENT = re.compile(r"[,;]|\b(?:and|with|without|including|includ\w*|while|must|never|only|"
                          r"every|each|then|also|at least|at most|under|handling|handles?|"
                          r"supports?|so that|but)\b")
# Run on raw text of up to SCAN_HEAD + SCAN_TAIL characters: every repetition is bounded or
# anchored so that no input makes them backtrack quadratically.
_CODE_LINE = re.compile(
    r"^[ \t]*(?:def |class |import |from \w{1,40} import|public |private |func |fn |function |"
    r"const |let |var |return |if \(|for \(|while \(|#include|SELECT |UPDATE |INSERT |[{}][ \t]*$|"
    r"\w{1,60}\([^\n]*\);?[ \t]*$|Traceback|File \"[^\n]*\", line|at [\w.$]{1,200}\()", re.MULTILINE)
_STACK = re.compile(r"Traceback \(most recent|Exception in thread|\b[A-Z]\w{0,40}(?:Error|Exception):|"
                    r"panic:|^[ \t]{1,8}at [\w.$]{1,200}\([\w.]{1,100}:\d{1,6}\)|[Ss]egmentation fault",
                    re.MULTILINE)
# A message that opens with a trace ("Traceback ...", "java.lang.NullPointerException: ...").
_TRACE_START = re.compile(r"[ \t]*(?:Traceback \(most recent|Exception in thread|panic:|goroutine \d+ \[|"
                          r"[\w.$]{1,200}(?:Error|Exception)\b)")
# Plain substring tests (fast) that any text _STACK can match contains.
_STACK_HINTS = ("Traceback", "Exception", "Error", "panic:", "egmentation fault", "\tat ", "  at ")
_DEBUG_ASK = _words(r"why", r"fix", r"wrong", r"error", r"bug", r"fails?", r"leak\w*", r"crash\w*",
                    r"debug", r"slow\w*", r"explain", r"what's going on", r"what could", r"leaking")


def _has_stack_trace(text: str) -> bool:
    return any(hint in text for hint in _STACK_HINTS) and bool(_STACK.search(text))


def _text_parts(content) -> tuple[list[str], int]:
    """Return a message content's text parts and its number of image, audio or file parts."""
    if content is None:
        return [], 0
    if isinstance(content, str):
        return [content], 0
    texts, media = [], 0
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            kind = str(part.get("type", ""))
            if kind in ("text", "input_text"):
                texts.append(str(part.get("text") or ""))
            elif any(word in kind for word in ("image", "audio", "file")):
                media += 1
    return texts, media


def _clip(text: str) -> str:
    if len(text) <= SCAN_HEAD + SCAN_TAIL:
        return text
    return text[:SCAN_HEAD] + "\n\n" + text[-SCAN_TAIL:]


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _CASUAL_WORD.sub(lambda match: _CASUAL[match.group(0)], text)


def _instruction(text: str) -> str:
    """Return the part of a message that says what to do, without the data it works on."""
    blocks = [block.strip() for block in _BLOCK_SPLIT.split(text.strip()) if block.strip()]
    if not blocks:
        return ""
    first, last = blocks[0], blocks[-1]
    opening_line = first.split("\n", 1)[0]
    if len(blocks) > 1 and (len(_CODE_LINE.findall(first)) >= 2 or _TRACE_START.match(opening_line)):
        instruction = last  # pasted code or a trace first, the question after it
    else:
        instruction = first
        if len(blocks) > 1 and last.endswith("?") and len(last) < 300:
            instruction += "\n" + last
    instruction = _QUOTED.sub(" ", _normalise(instruction[:INSTRUCTION_MAX]))
    data_follows = _DATA_AFTER_COLON.match(instruction)
    return data_follows.group(1) if data_follows else instruction


def extract_features(messages: list[dict], tools: list | None = None) -> dict[str, float]:
    """Return the non-zero feature values of a chat request, keyed by CUES and SCALED names."""
    last_user_parts: list[str] = []
    system = ""
    user_turns = media = total_chars = 0
    tool_loop = technical_thread = False
    for message in messages or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role", "")
        parts, message_media = _text_parts(message.get("content"))
        size = sum(map(len, parts))
        total_chars += size
        media += message_media
        if role == "user":
            last_user_parts, user_turns = parts, user_turns + 1
        elif role in ("system", "developer") and not system:
            system = "\n".join(parts)
        if role in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
            tool_loop = True
        elif role == "assistant" and (size > 1500 or any("```" in part for part in parts)):
            technical_thread = True
    last_user = "\n".join(last_user_parts)

    scanned = _clip(last_user if last_user.strip() else system)
    instruction = _instruction(scanned)
    features: dict[str, float] = {}
    for name, (_, _, pattern) in CUES.items():
        if pattern.search(instruction):
            features[name] = 1.0
    if system and last_user.strip() and not features:
        # The task may be stated once in the system prompt ("Translate the user's text into
        # French.") with only the data in the user message; it counts half.
        system_head = _normalise(system[:SYSTEM_SCAN])
        for name, (_, _, pattern) in CUES.items():
            if pattern.search(system_head):
                features[name] = 0.5

    words = len(_WORD.findall(instruction))
    if words > SHORT_MAX_WORDS:
        for name in _SHORT_ONLY:
            features.pop(name, None)
    features["requirements"] = min(len(_REQUIREMENT.findall(instruction)), 8) / 2
    features["numbers"] = max(0, min(len(_NUMBER.findall(instruction)), 10) - 2) / 2
    features["questions"] = max(0, min(instruction.count("?"), 4) - 1)
    features["length"] = max(0, min(words, 80) - 20) / 20
    if 0 < words and len(last_user) <= 400:  # a short instruction over a long document is not brief
        features["brevity"] = 1.0 if words <= 6 else 0.5 if words <= 10 else 0.0
    if "code_write" in features and words <= 14 and not any(name in features for name in _HARD_CODE):
        features["simple_code"] = 1.0
    code_lines = len(_CODE_LINE.findall(scanned)) + 3 * scanned.count("```")
    if _has_stack_trace(scanned) or (code_lines >= 3 and _DEBUG_ASK.search(instruction)):
        features["code_debug"] = 1.0
    elif code_lines >= 3:
        features["code_payload"] = 1.0
    features["long_input"] = min(2.0, max(0, len(last_user) - 4000) / 8000)
    features["tools"] = 1.0 if tools else 0.0
    features["tool_loop"] = 1.0 if tool_loop else 0.0
    features["images"] = 1.0 if media else 0.0
    features["multi_turn"] = min(1.0, max(0, user_turns - 2) / 2)
    if user_turns >= 2:
        features["long_context"] = min(1.5, max(0, total_chars - 8000) / 16000)
    features["technical_thread"] = 1.0 if technical_thread else 0.0
    features["_words"] = float(words)  # shown in the reason, not weighted
    return {name: value for name, value in features.items() if value}


def weight_of(name: str) -> float:
    """Return the weight of a feature, 0 for unknown names."""
    if name in CUES:
        return CUES[name][0]
    return SCALED[name][0] if name in SCALED else 0.0


def _label(name: str, features: dict[str, float]) -> str:
    if name in CUES:
        return CUES[name][1]
    value = features[name]
    count = {"requirements": round(value * 2), "numbers": round(value * 2 + 2),
             "questions": round(value + 1), "length": round(features.get("_words", 0))}
    return SCALED[name][1].format(n=count.get(name, ""))


def classify(messages: list[dict], tools: list | None = None) -> RouteDecision:
    """Return the tier that should answer these OpenAI chat messages, with score and reason."""
    features = extract_features(messages, tools)
    contributions = {name: weight_of(name) * value for name, value in features.items()
                     if not name.startswith("_")}
    score = round(BIAS + sum(contributions.values()), 3)
    tier = LARGE if score >= 0 else SMALL
    direction = 1 if tier == LARGE else -1
    pushing = sorted((-direction * value, name) for name, value in contributions.items()
                     if direction * value > 0)
    labels = [_label(name, features) for _, name in pushing[:3]]
    if not labels:
        labels = ["no clear cheap-task signal, strong by default"]
    return RouteDecision(tier=tier, score=score, reason=f"{tier}: {'; '.join(labels)}")
