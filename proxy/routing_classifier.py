"""Choose the cheap or the strong tier for ``model: "optera/auto"`` from the request alone.

A hand-weighted linear score over a few dozen transparent features: what the task verb asks for
(design, prove, debug, plan, weigh trade-offs... against translate, extract, label, reformat,
look up), how many requirements the instruction stacks up, how long the instruction is once the
text it operates on (quoted strings, pasted documents, lists) is set aside, code and stack traces,
hard domains (law, tax, medicine), and the request's shape (tools, images, long conversations).
A positive score means the strong tier. The features that pushed hardest become the reason.

Pure Python and bounded: only the head and tail of a long message are scanned, so a 50k-character
prompt costs about as much as a 5k one. bench/routing_eval.py measures accuracy and latency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SMALL = "small"
LARGE = "large"

# Unknown prompts lean strong: a wrong cheap answer costs more than the cent it saved.
BIAS = 0.6

# Characters of a message that are scanned; longer messages keep their head and tail because
# instructions sit at the start ("Summarise this: ...") or at the end ("... what is wrong?").
SCAN_HEAD = 3000
SCAN_TAIL = 1000
INSTRUCTION_MAX = 1200


@dataclass(frozen=True)
class RouteDecision:
    tier: str
    score: float
    reason: str


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


# Cues matched against the instruction (quoted text and pasted payloads removed).
# name: (weight, label, pattern). A cue counts once however often it matches.
CUES: dict[str, tuple[float, str, re.Pattern]] = {
    # --- pulls toward the strong tier ---
    "design": (1.6, "asks for design", _rx(
        r"\b(design|architect\w*|how would you (build|achieve|structure|implement|handle)|"
        r"data model|protocol|scal(able|ability|es? to))\b")),
    "systems": (0.9, "distributed/systems topic", _rx(
        r"\b(consisten(t|cy)|idempoten\w*|shard\w*|replicat\w*|multi-tenant|throughput|"
        r"distributed|concurren\w*|thread-safe|race condition|deadlocks?|mutex\w*|locks?|"
        r"goroutines?|event loop|async|memory leak|leak\w*|kafka|exactly-once|effectively-once|"
        r"cach(e|ing)|latency|\d+k? (writes|reads|requests)/s\w*)\b")),
    "plan": (1.3, "asks for a plan", _rx(
        r"\b(plan|roadmap|schedule|strateg(y|ies)|runbook|playbook|curriculum|itinerary|"
        r"milestones?|migrat(e|ing|ion)|go-to-market|workstreams?)\b")),
    "proof": (1.8, "math proof/derivation", _rx(
        r"(\bprove\b|\bproof\b|\bshow that\b|\bderive\b|\btheorem\b|\blemma\b|"
        r"\bdiverges?\b|\bconverges?\b|\birrational\b|infinitely many|integer solutions|"
        r"\brecurrence\b|\bhow many ways\b)")),
    "math": (1.2, "non-trivial math", _rx(
        r"(\bintegral\b|∫|∑|\bprobability\b|expected (value|number)|\bhow many .{0,30}expect|"
        r"\bmaximi[sz]e\b|\bminimi[sz]e\b|\bminimum (total|number)\b|\bdivisible\b|"
        r"\bcombinatori\w*|\barrangements?\b|\bequation\b|\bprimes?\b|\bremainder\b|"
        r"\bfactorial\b|\d!|\bmodulo\b|\bpolynomial\b|\bderivative\b|\beigen\w*|"
        r"\bsmallest (positive )?integer\b|\blargest (positive )?integer\b|"
        r"\bexpected\b.{0,20}\b(flips|rolls|draws|tries)\b)")),
    "reasoning": (1.2, "asks for step-by-step reasoning", _rx(
        r"(step[- ]by[- ]step|show (your|each|all|the) (work|steps?)|\bjustify\b|"
        r"explain (exactly |precisely )?why|explain (the|your) (reasoning|cause|counting)|"
        r"\bwalk (me )?through\b|\breasoning\b|\bargue\b|explain how|explain the|"
        r"\bwhy\b.{0,80}\?|deduc\w+|rather than just)")),
    "tradeoffs": (1.3, "weighs trade-offs", _rx(
        r"(trade-?offs?|pros and cons|\bcompare\b|\bcomparison\b|\bversus\b|\bvs\.?\s|"
        r"\bweigh\w*|steelman|both sides|\bshould (i|we)\b|which (is|would be) better|"
        r"\bbetter\b.{0,60}\bor\b|\bevaluate the\b|\bassess\b|\bwhen .{0,40}bad idea|"
        r"\bor (should|would)\b|what should be considered|what are (my|our) options|"
        r"\b(choose|pick|decide) between\b|\bdrive the decision\b|\bfor and against\b|"
        r"\barguments (for|against)\b)")),
    "judgement": (1.2, "asks for a judgement", _rx(
        r"\b(your (own )?(recommendation|opinion|view|verdict|assessment)|recommend(ation)? for|"
        r"which side|flag (anything|any|the)|red flags|anything unusual|is (my|this) reasoning|"
        r"review my|critique|what's wrong with (it|my|this argument)|negotiat\w*)\b")),
    "analysis": (1.0, "asks for analysis", _rx(
        r"\b(analy[sz]\w*|interpret\w*|diagnos\w*|implications?|consequences|evidence|"
        r"causes?|factors|critique|root cause|how .{0,30}spread|what is .{0,30}probably doing|"
        r"what could (cause|this be)|to what extent|how did .{0,60}\b(change|affect|shape|"
        r"influence|lead)|what might (be going on|explain))\b")),
    "code_hard": (1.4, "non-trivial code to write", _rx(
        r"\b(implement\w*|refactor\w*|algorithm|data structure|parser|tokenizer|"
        r"o\([^)]{1,12}\)|linear (time|memory)|unit tests?|include tests|with tests|"
        r"tests for|thread-safe|safe for concurrent|idiomatic|edge cases|handl(es?|ing) "
        r"(null|errors|ssr|months|overlaps|gaps))")),
    "code_write": (0.6, "code to write", _rx(
        r"\b(write (a |an |the )?(\w+ ){0,2}(functions?|class|program|script|query|module|"
        r"service|library|cli|api|server|hook|regex)|build (a|an) \w+ (hook|component|app))")),
    "debug": (1.3, "debugging", _rx(
        r"\b(error|exception|traceback|stack trace|bug|crash\w*|fails?|failing|broken|"
        r"infinite loop|slower|hangs?|undefined|panic|segfault|doesn't work|not working|"
        r"cannot borrow|what's going on|occasionally|sometimes .{0,40}(prints|fails|returns))\b")),
    "legal": (1.6, "legal nuance", _rx(
        r"\b(legal\w*|law|laws|lawyer|attorney|landlord|tenants?|lease|contract|clauses?|"
        r"liabilit\w*|sue|lawsuit|court|rights|employer|fire me|fired|non-?compete|"
        r"enforceable|copyright|trademark|patent|ip|gdpr|hipaa|compliance|regulat\w*|"
        r"nlra|at-will|custody|divorce|immigration|visa|security deposit|data processing agreement|"
        r"standard contractual|privacy framework|hoa|evict\w*|fin(ed|ing) me|"
        r"can (they|he|she|my \w+) (legally|do that|make me|force)|is it legal)\b")),
    "finance": (1.3, "tax/financial nuance", _rx(
        r"\b(tax|taxes|taxed|taxation|taxable|irs|deduct\w*|capital (gains?|loss)|wash-sale|ira|roth|401\(k\)|llc|"
        r"s-corp|payroll|mortgage|refinanc\w*|invest\w*|portfolio|index fund|valuation|"
        r"runway|burn|mrr|arr|rsus?|retirement|compound\w*|amortiz\w*|monetary|earn-out|"
        r"acquisition|ir35|bracket|itemize)\b")),
    "medical": (1.6, "medical nuance", _rx(
        r"\b(medic\w*|\d+ ?mg|dose|dosage|prescri\w*|drugs?|interactions?|side effects?|"
        r"symptoms?|pregnan\w*|trimester|antibiotics?|seizures?|epilepsy|febrile|kidney|"
        r"liver|thyroid|tsh|blood|insulin|diabet\w*|cancer|tumou?r|surgery|headaches?|"
        r"vomit\w*|er|emergency|doctor|clinical|egfr|warfarin|seek care|diagnosis)\b")),
    "statistics": (1.2, "statistics/causal inference", _rx(
        r"\b(regression|p ?[<=>] ?0?\.\d+|significan\w*|confound\w*|causal|a/b test|"
        r"variance|bayes\w*|paradox|coefficient|stratified|selection effects?)\b")),
    "writing": (0.5, "creative writing", _rx(
        r"\b(poem|limerick|story|stories|dialogue|song|lyrics|screenplay|narrative|eulogy|"
        r"monologue|fable)\b")),
    "long_form": (1.0, "long-form writing", _rx(
        r"\b(essay|article|speech|blog post|op-ed|whitepaper|report on|research proposal|"
        r"cover letter|chapter|\d{3,}[- ]words?|(minutes|pages) (long|to read))\b")),
    "short_form": (-1.0, "short-form text", _rx(
        r"\b(haiku|slogan|tagline|tweet|caption|title|subject line|headline|names? for|"
        r"nickname|one-sentence|in one (sentence|line)|a name)\b")),
    "form_constraint": (1.0, "strict form constraints", _rx(
        r"(\bexactly\b|\bwithout (using|ever|the letter)|\bnever (uses?|says?|mentions?)\b|"
        r"\bunder \d+ words\b|\b\d{3,}[- ]word\b|\brhyme scheme\b|\biambic\b|\bspell\b.{0,20}"
        r"\bfirst letters\b|\bevery (sentence|line)\b|\bend-words\b|\bsonnet|\bsestina|"
        r"\bvillanelle|\bpantoum|\bacrostic|\bghazal|\brondeau)")),
    "explain": (0.6, "asks to explain", _rx(
        r"\b(explain|why|how does|how do .{0,40} work|what happens|interpreted|"
        r"with (a )?(numeric|worked|realistic|concrete) example)\b")),
    "open_question": (0.7, "open-ended question", _rx(
        r"\b(what are (my|the) (options|risks|rights)|what should (i|we)|how should (i|we)|"
        r"is (that|it) (right|enforceable|legal|safe)|which should|what would you|"
        r"how would you|what's the (best|right) way|what is the (best|right) way)\b")),
    # --- pulls toward the cheap tier ---
    "translate": (-2.4, "translation of a phrase", _rx(
        r"(\btranslat\w*|\bhow do (you|i) say\b|\bwhat does .{0,40} mean\b|"
        r"\b(word|term) for\b|\binto (english|french|spanish|german|italian|portuguese|"
        r"japanese|chinese|korean|russian|arabic|dutch|polish|hindi)\b)")),
    "reformat": (-2.2, "formatting/conversion of given data", _rx(
        r"\b(convert|turn (this|these|it)|reformat|format (this|these|as)|capitali[sz]e|"
        r"round|sort|alphabeti[sz]e|split (this|these|the)|remove the duplicates|dedupe|"
        r"on separate lines|(ascending|descending|alphabetical|chronological) order|"
        r"count the (words|letters|characters)|comma-separated|bullet(ed)? list|numbered list|"
        r"to json|into json|json array|into yaml|to yaml|markdown table|iso 8601|12-hour|"
        r"uppercase|lowercase|spell out|to (kilo)?meters|to (kilo)?grams|to pounds|"
        r"to (miles|kilometers|celsius|fahrenheit))\b")),
    "extract": (-2.2, "extraction from given text", _rx(
        r"\b(extract|pull (out|the)|get the .{0,30} from|list the .{0,20}mentioned|"
        r"which .{0,20} (is|are) mentioned|mentioned in|find the .{0,20} in this|"
        r"what is the .{0,20} in this|what's the .{0,20} in this|in this (message|email|"
        r"text|sentence|description|review|receipt)|from this (text|sentence|address|"
        r"receipt|email|message|review))\b")),
    "label": (-2.2, "classification/labelling", _rx(
        r"\b(classify|categori[sz]e|label|tag|sentiment|positive or negative|spam|sarcas\w*|"
        r"question or a statement|which (department|team|queue|category)|priority|urgency|"
        r"^rate (the|this)|is the tone|angry or calm|phishing|"
        r"as (sports|fruit)|(billing|technical) or|fact or opinion)\b|"
        r"^(is|was|does) (this|that|the following|it) .{0,60}\bor\b|^which of these\b")),
    "rewrite": (-2.0, "rewrite/summary of a short text", _rx(
        r"\b(rewrite|rephrase|paraphrase|reword|make (this|it) (sound )?more|more (formal|"
        r"polite|friendly|concise)|friendlier|shorten|fix the (grammar|typos|spelling)|"
        r"correct the (grammar|spelling)|proofread|summari[sz]e|tl;?dr|passive voice|"
        r"past tense|simplify this|make this (email|sentence|message))\b")),
    "cheap_verb_first": (-0.8, "starts with a cheap-task verb", _rx(
        r"^(please\s+)?(translate|convert|extract|pull|classify|categori[sz]e|label|tag|rewrite|"
        r"rephrase|paraphrase|reword|summari[sz]e|shorten|sort|alphabeti[sz]e|capitali[sz]e|"
        r"reformat|format|turn this|change this|correct|fix the (grammar|typos|spelling)|"
        r"proofread|list the|count the|round|make this|put these|spell out|is this|does this)\b")),
    "lookup": (-1.6, "short factual lookup", _rx(
        r"(^(what|who|when|where|which)('s| is| was| are| were| did| does| do)\b|"
        r"^how (tall|far|old|big|long|much does)\b|^which \w+ (is|was|are|were|has|had|did)\b|"
        r"\bknown as\b|^(who|when) \w+ed\b|"
        r"^how many \w+ (are|does|do|is|in)\b|\bdefine\b|\bdefinition\b|\bstand for\b|"
        r"\bsynonyms?\b|\bantonyms?\b|\bplural\b|\bname (three|two|five)\b|"
        r"\bwhat year\b|\bcapital of\b)")),
    "faq": (-1.6, "FAQ-like how-to", _rx(
        r"^(how (do|can) i|how to|can i|where (can|do) i|do you|what('s| is| are) your|"
        r"i (forgot|lost|can't find) my|"
        r"what .{0,20} do you accept|how do you)\b")),
    "chitchat": (-2.5, "greeting/chit-chat", _rx(
        r"^(hi|hello|hey|good (morning|afternoon|evening)|thanks|thank you|bye|ok|okay|"
        r"cool|great, thanks)\b")),
    "simple_ask": (-1.2, "simple generative request", _rx(
        r"^(tell me (a|an|one)|suggest (a|an|one|some)|give me (a|an|one|some|two|three|five)|"
        r"recommend (a|an|one)|name (a|an|one)|what'?s a good)\b")),
    "arithmetic": (-1.4, "simple arithmetic", _rx(
        r"^(what('s| is)\s+)?\d[\d.,]*\s*(%\s*of|percent of|times|plus|minus|divided by|"
        r"multiplied by|[-+*/x×÷])\s*\d[\d.,]*\s*\??$|^how many (seconds|minutes|hours|days)")),
    "trivial_code": (-1.8, "trivial code snippet", _rx(
        r"(\bone-liner\b|^print .{0,20} in \w+|\bcss rule\b|\bgit command\b|"
        r"\bhow (do|can) i (get|reverse|sort|find|check|convert|print|remove|add)\b|"
        r"^sql query to\b|\bwhat's the (\w+ )?command\b)")),
}

# Continuous features: name -> (weight per unit, label).
SCALED: dict[str, tuple[float, str]] = {
    "requirements": (0.45, "{n} requirements"),
    "numbers": (0.35, "{n} quantities to combine"),
    "questions": (0.6, "{n} questions"),
    "length": (0.9, "long instruction ({n} words)"),
    "brevity": (-1.2, "very short request"),
    "simple_code": (-1.5, "short, self-contained code request"),
    "code_debug": (1.4, "code or stack trace to work on"),
    "code_payload": (0.4, "contains code"),
    "tools": (3.0, "tools/function calling"),
    "tool_loop": (2.5, "agentic tool loop"),
    "images": (3.0, "image input"),
    "long_context": (1.5, "long multi-turn context"),
    "technical_thread": (1.2, "ongoing technical conversation"),
}

_QUOTED = re.compile(r"(?<![\w'])'[^'\n]{2,300}'(?![\w'])|\"[^\"\n]{2,300}\"|“[^”\n]{2,300}”|`[^`\n]{1,80}`")
# "Sort these numbers: 4, 1, 3" - what follows the colon is the data, not more requirements.
_DATA_AFTER_COLON = re.compile(
    r"^([^:\n]{0,200}\b(this|these|the following|below|them)\b[^:\n]{0,80}):\s", re.IGNORECASE)
_BLOCK_SPLIT = re.compile(r"\n\s*\n|:\s*\n")
_WORD = re.compile(r"[\w'’-]+")
_NUMBER = re.compile(r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?\s*(?:%|k|m|x)?(?![\w])")
_REQUIREMENT = re.compile(
    r"(,|;|\b(and|with|without|including|includ\w*|while|must|never|only|every|each|then|also|"
    r"at least|at most|under|handling|handles?|supports?|so that|but)\b)", re.IGNORECASE)
_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \w+ import|public |private |func |fn |function |const |let |"
    r"var |return |if \(|for \(|while \(|#include|SELECT |UPDATE |INSERT |[{}]\s*$|\w+\(.*\);?\s*$|"
    r"Traceback|File \".*\", line|\s*at [\w.$]+\()", re.MULTILINE)
_STACK = re.compile(r"Traceback \(most recent|Exception in thread|\w+(Error|Exception):|panic:|"
                    r"at [\w.$]+\([\w.]+:\d+\)|segmentation fault", re.IGNORECASE)
_DEBUG_ASK = re.compile(r"\b(why|fix|wrong|error|bug|fails?|leak\w*|crash\w*|debug|slow\w*|"
                        r"explain|what's going on|what could)\b", re.IGNORECASE)


def _text_of(content) -> tuple[str, int]:
    """Return a message content's text and its number of images."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    texts, images = [], 0
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            kind = part.get("type", "")
            if kind in ("text", "input_text"):
                texts.append(str(part.get("text") or ""))
            elif "image" in kind or "audio" in kind or "file" in kind:
                images += 1
    return "\n".join(texts), images


def _clip(text: str) -> str:
    if len(text) <= SCAN_HEAD + SCAN_TAIL:
        return text
    return text[:SCAN_HEAD] + "\n\n" + text[-SCAN_TAIL:]


_CASUAL = {"whats": "what's", "hows": "how's", "dont": "don't", "cant": "can't", "im": "i'm",
           "u": "you", "pls": "please", "plz": "please", "ur": "your", "doesnt": "doesn't"}
_CASUAL_WORD = re.compile(r"\b(" + "|".join(_CASUAL) + r")\b", re.IGNORECASE)


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _CASUAL_WORD.sub(lambda match: _CASUAL[match.group(1).lower()], text)


def _instruction(text: str) -> str:
    """Return the part of a message that says what to do, without the data it operates on."""
    blocks = [b.strip() for b in _BLOCK_SPLIT.split(text.strip()) if b.strip()]
    if not blocks:
        return ""
    first, last = blocks[0], blocks[-1]
    looks_like_code = len(_CODE_LINE.findall(first)) >= 2 or bool(_STACK.search(first))
    if looks_like_code and len(blocks) > 1:
        instruction = last
    else:
        instruction = first
        if len(blocks) > 1 and last.endswith("?") and len(last) < 300:
            instruction += "\n" + last
    instruction = _QUOTED.sub(" ", _normalise(instruction[:INSTRUCTION_MAX]))
    data_follows = _DATA_AFTER_COLON.match(instruction)
    return data_follows.group(1) if data_follows else instruction


def extract_features(messages: list[dict], tools: list | None = None) -> dict[str, float]:
    """Return the named feature values of a chat request (cue names and SCALED names)."""
    last_user, system, turns, images, total_chars = "", "", 0, 0, 0
    tool_loop = technical_thread = False
    for index, message in enumerate(messages or []):
        if not isinstance(message, dict):
            continue
        role = message.get("role", "")
        text, message_images = _text_of(message.get("content"))
        total_chars += len(text)
        images += message_images
        if role == "user":
            last_user, turns = text, turns + 1
        elif role == "system" or role == "developer":
            system = system or text
        elif role in ("tool", "function") or message.get("tool_calls"):
            tool_loop = True
        elif role == "assistant" and ("```" in text or len(text) > 1500):
            technical_thread = True
    if not last_user and messages and messages[-1].get("role") in ("tool", "function"):
        tool_loop = True
    scanned = _clip(last_user or system)
    instruction = _instruction(scanned)
    if not last_user.strip() and system:
        instruction = _instruction(_clip(system))

    features: dict[str, float] = {}
    for name, (_, _, pattern) in CUES.items():
        if pattern.search(instruction):
            features[name] = 1.0
    # A task stated only in the system prompt ("Translate the user's text into French.").
    if system and last_user and not any(name in CUES for name in features):
        for name, (_, _, pattern) in CUES.items():
            if pattern.search(system[:1000]):
                features[name] = 0.5

    words = len(_WORD.findall(instruction))
    features["requirements"] = min(len(_REQUIREMENT.findall(instruction)), 8) / 2
    numbers = len(_NUMBER.findall(instruction))
    features["numbers"] = max(0, min(numbers, 10) - 2) / 2
    features["questions"] = max(0, min(instruction.count("?"), 4) - 1)
    features["length"] = max(0.0, min(words, 80) - 20) / 20
    features["brevity"] = 1.0 if words <= 6 else (0.5 if words <= 10 else 0.0)
    code_lines = len(_CODE_LINE.findall(scanned)) + 3 * scanned.count("```")
    has_stack = bool(_STACK.search(scanned))
    if has_stack or (code_lines >= 3 and _DEBUG_ASK.search(instruction)):
        features["code_debug"] = 1.0
    elif code_lines >= 3:
        features["code_payload"] = 1.0
    hard_code = ("code_hard", "systems", "debug", "proof", "math", "design", "code_debug")
    if "code_write" in features and words <= 14 and not any(name in features for name in hard_code):
        features["simple_code"] = 1.0
    features["tools"] = 1.0 if tools else 0.0
    features["tool_loop"] = 1.0 if tool_loop else 0.0
    features["images"] = 1.0 if images else 0.0
    features["long_context"] = min(2.0, max(0.0, (total_chars - 6000) / 12000 + (turns >= 4)))
    features["technical_thread"] = 1.0 if technical_thread else 0.0
    features["_words"] = float(words)
    return {name: value for name, value in features.items() if value}


def weight_of(name: str) -> float:
    """Return the weight of a feature, cue or scaled."""
    if name in CUES:
        return CUES[name][0]
    return SCALED[name][0] if name in SCALED else 0.0


def _label(name: str, value: float, features: dict[str, float]) -> str:
    if name in CUES:
        return CUES[name][1]
    template = SCALED[name][1]
    shown = {"requirements": round(value * 2), "numbers": round(value * 2 + 2),
             "questions": round(value + 1), "length": round(features.get("_words", 0))}
    return template.format(n=shown.get(name, ""))


def classify(messages: list[dict], tools: list | None = None) -> RouteDecision:
    """Return the tier that should answer these chat messages, its score and the reason."""
    features = extract_features(messages, tools)
    contributions = {name: weight_of(name) * value for name, value in features.items()
                     if not name.startswith("_")}
    score = round(BIAS + sum(contributions.values()), 3)
    tier = LARGE if score >= 0 else SMALL
    sign = 1 if tier == LARGE else -1
    pushing = sorted((c * sign, name) for name, c in contributions.items() if c * sign > 0)
    labels = [_label(name, features[name], features) for _, name in reversed(pushing[-3:])]
    if not labels:
        labels = ["no clear cheap-task signal, default to strong"]
    return RouteDecision(tier=tier, score=score, reason=f"{tier}: {'; '.join(labels)}")
