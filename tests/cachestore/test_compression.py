"""System-prompt compression: fewer characters, the same instructions, code and data untouched."""

import json
import random
import time

import pytest

from cachestore.compression import compress_system_prompt

PYTHON_FENCED = '''```python
def greet(name):   
    """Say hello.   Twice."""
    greeting  =  "Hello,   " + name    # aligned   on purpose


    return greeting
    return greeting
```'''

PYTHON_UNFENCED = """def refund_amount(order):
    if order.days_since_delivery > 30:
        return 0

    total  =  order.total   # keep   the spacing
    return total"""

YAML_CONFIG = """escalation:
  channel:   "#support-tier2"
  on_hours:
    - mon
    - mon
  message: |
    Customer   needs help.
    Customer   needs help."""

JSON_EXAMPLE = """{
  "intent": "refund",
  "reasons":  ["late",   "late"],

  "note": "Ask   twice. Ask   twice."
}"""

MARKDOWN_TABLE = """| Plan    | Price  | Refund window |
|---------|--------|---------------|
| Basic   | $10    | 14 days       |
| Basic   | $10    | 14 days       |
| Pro     | $25    | 30 days       |"""

NESTED_LIST = """- Greet the customer by name.
  - Use their first name only.
    - Never use nicknames in replies.
- Confirm the order number.
  - Read it back digit by digit."""

MAKEFILE = "build:  main.o util.o\n\tcc  -o app main.o util.o\n\tcc  -o app main.o util.o"

TAB_SEPARATED = "sku\tname\tstock\nA1\tMug\t4\nA2\tCup\t"

HTML_BLOCK = """<div class="note">
  <p>Reply   within   one day.</p>
  <p>Reply   within   one day.</p>
</div>"""

BOX_TABLE = """┌────────┬───────┐
│ Tier   │ SLA   │
├────────┼───────┤
│ Gold   │ 1h    │
└────────┴───────┘"""

UNTIDY_SUPPORT_PROMPT = """\r
\r
==================================================\r
            ACME SUPPORT ASSISTANT            \r
==================================================\r
\r
\r
You are Sam,   the friendly   support assistant for ACME Home Goods.   \r
Never share internal notes or staff names with the customer.      \r
\r
\r
\r
--------------------------------------------------\r
## Tone   \r
--------------------------------------------------\r
\r
- Be warm,  concise   and professional.   \r
- Use the customer's   first name   when you know it.  \r
- Be warm,  concise   and professional.   \r
\r
\r
\r
## Refunds\r
\r
When a customer asks for a refund:   \r
- Ask for the order number.   \r
- Check that the order is less than 30 days old.\u00a0\u00a0\r
- Offer store credit first.   \r
\r
When a customer asks for an exchange:\r
- Ask for the order number.   \r
- Check stock before promising anything.\r
\r
\r
*************************************************\r
## Output format\r
*************************************************\r
\r
Reply with JSON only:\r
\r
```json\r
{\r
  "reply":   "text shown to the customer",\r
  "escalate":  false\r
}\r
```\r
\r
\r
\u2728\u2728\u2728\u2728\u2728\u2728\u2728\u2728\u2728\u2728\r
\r
## Reminders\r
\r
Never share internal notes or staff names with the customer.   \r
Always   end  with   a question   that moves  the conversation forward.     \r
\r
\r
\r
"""

PROTECTED_REGIONS = {
    "fenced python": PYTHON_FENCED,
    "fenced with tildes": "~~~~ yaml\nkey:   value\n\n\n\nkey:   value\n~~~~",
    "unclosed fence": "```\nprint( 'a'  )\n\n\n",
    "unfenced python": PYTHON_UNFENCED,
    "yaml": YAML_CONFIG,
    "json": JSON_EXAMPLE,
    "markdown table": MARKDOWN_TABLE,
    "nested list": NESTED_LIST,
    "makefile": MAKEFILE,
    "tab separated": TAB_SEPARATED,
    "html": HTML_BLOCK,
    "box table": BOX_TABLE,
    "indented code after a blank line": "Run this:\n\n    pip  install   acme\n    pip  install   acme",
}


def wrapped(block):
    """Return the block between two untidy prose paragraphs that must get tidied."""
    return f"Read   the following.  \n\n\n\n{block}\n\n\n\nThen   answer.  "


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param("Be   kind\tand  brief.", "Be kind and brief.", id="runs of spaces and tabs"),
        pytest.param("Be kind.   \nBe brief.\t", "Be kind.\nBe brief.", id="trailing whitespace"),
        pytest.param("Be kind.\n\n\n\nBe brief.", "Be kind.\n\nBe brief.", id="blank-line runs"),
        pytest.param("Be kind.\n \n\t\n\nBe brief.", "Be kind.\n\nBe brief.", id="whitespace-only lines"),
        pytest.param("\n\n  \nBe kind.\n\n\n", "Be kind.", id="leading and trailing blank lines"),
        pytest.param("Be kind.\r\nBe brief.\r\n", "Be kind.\nBe brief.", id="CRLF"),
        pytest.param("Reply\u00a0in\u202fEnglish.", "Reply in English.", id="no-break spaces"),
        pytest.param("Re\u200bply\u2060 now\u00ad.", "Reply now.", id="zero-width characters"),
        pytest.param("\ufeffHello there.", "Hello there.", id="byte order mark"),
        pytest.param(
            "Say \u201chello\u201d and \u2018bye\u2019.",
            "Say \u201chello\u201d and \u2018bye\u2019.",
            id="smart quotes kept",
        ),
        pytest.param(
            "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467",
            "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467",
            id="emoji joiners kept",
        ),
        pytest.param(
            "Rules:\n- Be kind.\n   - Be   very   kind.",
            "Rules:\n- Be kind.\n   - Be very kind.",
            id="list indentation kept",
        ),
        pytest.param("## Tone   \nBe   kind.", "## Tone\nBe kind.", id="heading kept"),
        pytest.param("**IMPORTANT**: never   lie.", "**IMPORTANT**: never lie.", id="emphasis kept"),
        pytest.param(
            '<rules  id="a  b">\nBe kind.\n</rules>', '<rules  id="a  b">\nBe kind.\n</rules>', id="tag attributes kept"
        ),
    ],
)
def test_whitespace_and_invisible_characters(prompt, expected):
    assert compress_system_prompt(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param("Be kind.\n\n=====\n\nBe brief.", "Be kind.\n\nBe brief.", id="equals ruler"),
        pytest.param("Be kind.\n\n-----\n\nBe brief.", "Be kind.\n\nBe brief.", id="dash ruler"),
        pytest.param("Be kind.\n\n* * * * *\n\nBe brief.", "Be kind.\n\nBe brief.", id="spaced star ruler"),
        pytest.param("Be kind.\n\n#####\n\nBe brief.", "Be kind.\n\nBe brief.", id="hash ruler"),
        pytest.param("Be kind.\n\n~~~~~~~~\n\nBe brief.", "Be kind.\n\nBe brief.", id="unclosed tilde ruler"),
        pytest.param("Be kind.\n\n=-=-=-=-=\n\nBe brief.", "Be kind.\n\nBe brief.", id="mixed ruler"),
        pytest.param("Be kind.\n\n──────────\n\nBe brief.", "Be kind.\n\nBe brief.", id="box-drawing ruler"),
        pytest.param("Be kind.\n╔══════════╗\nBe brief.", "Be kind.\n\nBe brief.", id="box corner ruler"),
        pytest.param("Be kind.\n\n\u2728\u2728\u2728\u2728\n\nBe brief.", "Be kind.\n\nBe brief.", id="emoji ruler"),
        pytest.param(
            "Be kind.\n\n\U0001f525 \U0001f525 \U0001f525\n\nBe brief.",
            "Be kind.\n\nBe brief.",
            id="spaced emoji ruler",
        ),
        pytest.param("Be kind.\n*****\nBe brief.", "Be kind.\n\nBe brief.", id="ruler keeps paragraphs apart"),
        pytest.param("Be kind.\n\n---\n\nBe brief.", "Be kind.\n\n---\n\nBe brief.", id="markdown break kept"),
        pytest.param("Tone\n=====\nBe kind.", "Tone\n=====\nBe kind.", id="setext underline kept"),
        pytest.param("=====\nTONE\n=====\nBe kind.", "TONE\n\nBe kind.", id="ruler sandwich dropped"),
        pytest.param("Hi \U0001f44b\n\n\u2705 Done.", "Hi \U0001f44b\n\n\u2705 Done.", id="emoji in text kept"),
    ],
)
def test_decorative_rulers(prompt, expected):
    assert compress_system_prompt(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param(
            "Answer in plain English.\nAnswer in plain English.", "Answer in plain English.", id="repeated line"
        ),
        pytest.param(
            "Answer in plain English.\n\nKeep it short.\n\nAnswer  in plain   ENGLISH.",
            "Answer in plain English.\n\nKeep it short.",
            id="repeated paragraph ignoring case and spacing",
        ),
        pytest.param(
            "Answer in English. Keep it short. answer in english.",
            "Answer in English. Keep it short.",
            id="repeated sentence in a paragraph",
        ),
        pytest.param(
            "Rules:\n- Use the first name.\n- Be brief.\n- Use the first name.",
            "Rules:\n- Use the first name.\n- Be brief.",
            id="repeated bullet in one list",
        ),
        pytest.param(
            "Never share staff names.\n\n## Reminders\nNever share staff names.\nSmile in every reply.",
            "Never share staff names.\n\n## Reminders\nSmile in every reply.",
            id="top-level instruction repeated in a later section",
        ),
        pytest.param("Answer: No. No. No.", "Answer: No. No. No.", id="short repeats kept"),
        pytest.param(
            "Refunds:\n- Ask for the order number.\nExchanges:\n- Ask for the order number.",
            "Refunds:\n- Ask for the order number.\nExchanges:\n- Ask for the order number.",
            id="same item under two intros kept",
        ),
        pytest.param(
            "## Refunds\nAsk for the order number.\n\n## Exchanges\nAsk for the order number.",
            "## Refunds\nAsk for the order number.\n\n## Exchanges\nAsk for the order number.",
            id="same sentence under two headings kept",
        ),
        pytest.param(
            "If the user is angry, apologise. Offer a call back today. "
            "If the user is happy, thank them. Offer a call back today.",
            "If the user is angry, apologise. Offer a call back today. "
            "If the user is happy, thank them. Offer a call back today.",
            id="same sentence under two conditions kept",
        ),
        pytest.param(
            "Always be polite and\nkind to everyone. Always be polite and\nkind to everyone.",
            "Always be polite and\nkind to everyone. Always be polite and\nkind to everyone.",
            id="hard-wrapped fragments kept",
        ),
        pytest.param(
            "## Example\nThe order is late.\n\n## Example\nThe parcel is lost.",
            "## Example\nThe order is late.\n\n## Example\nThe parcel is lost.",
            id="repeated headings kept",
        ),
        pytest.param(
            "<example>\nHi there.\n</example>\n<example>\nBye now.\n</example>",
            "<example>\nHi there.\n</example>\n<example>\nBye now.\n</example>",
            id="repeated tags kept",
        ),
        pytest.param(
            "Steps:\n1. Open the settings page.\n2. Tap Sign out.\n3. Open the settings page.",
            "Steps:\n1. Open the settings page.\n2. Tap Sign out.\n3. Open the settings page.",
            id="repeated numbered step kept",
        ),
        pytest.param(
            "Rules:\n- Rule 1: Be polite to every customer.\n- Rule 2: Cite the article.\n"
            "- Rule 3: be polite to every customer.",
            "Rules:\n- Rule 1: Be polite to every customer.\n- Rule 2: Cite the article.",
            id="bullet repeated under a new rule number",
        ),
        pytest.param(
            "- Rule 1: Be polite to every customer.\n- Guideline 4: Be polite to every customer.\n"
            "- Be polite to every customer.",
            "- Rule 1: Be polite to every customer.",
            id="bullet repeated under other standing labels",
        ),
        pytest.param(
            "- Rule 1: Be polite to every customer.\n- Rule 2: Be polite to every customer.\n"
            "Rule 2 outranks the others.",
            "- Rule 1: Be polite to every customer.\n- Rule 2: Be polite to every customer.\n"
            "Rule 2 outranks the others.",
            id="repeated rule kept when its label is referenced",
        ),
        pytest.param(
            "- Rule 1: Be polite to every customer.\n- Rule 7: Be polite to every customer.\n"
            "Rules 5-7 outrank the others.",
            "- Rule 1: Be polite to every customer.\n- Rule 7: Be polite to every customer.\n"
            "Rules 5-7 outrank the others.",
            id="repeated rule kept when a range names it",
        ),
        pytest.param(
            "- Rule 2: Be polite to every customer.\n- Rule 7: Be polite to every customer.\n"
            "Follow rules 2 and 7 first.",
            "- Rule 2: Be polite to every customer.\n- Rule 7: Be polite to every customer.\n"
            "Follow rules 2 and 7 first.",
            id="repeated rule kept when a list names it",
        ),
        pytest.param(
            "- Note 1: See above.\n- Note 2: See above.",
            "- Note 1: See above.\n- Note 2: See above.",
            id="short labelled repeats kept",
        ),
        pytest.param(
            "- Step 1: Ask for the order number.\n- Step 2: Check it.\n- Step 3: Ask for the order number.",
            "- Step 1: Ask for the order number.\n- Step 2: Check it.\n- Step 3: Ask for the order number.",
            id="repeated step label kept",
        ),
        pytest.param(
            "- Rule 1: Refunds take 5 days.\n- Rule 2: Refunds take 7 days.",
            "- Rule 1: Refunds take 5 days.\n- Rule 2: Refunds take 7 days.",
            id="rules with different bodies kept",
        ),
        pytest.param(
            "- Check the order status.\n- Check the order status.\n  - Then email the courier.",
            "- Check the order status.\n- Check the order status.\n  - Then email the courier.",
            id="item with children kept",
        ),
    ],
)
def test_repeated_instructions(prompt, expected):
    assert compress_system_prompt(prompt) == expected


@pytest.mark.parametrize("block", PROTECTED_REGIONS.values(), ids=PROTECTED_REGIONS.keys())
def test_code_data_and_tables_survive_byte_for_byte(block):
    compressed = compress_system_prompt(wrapped(block))

    assert block.rstrip("\n") in compressed or block in compressed
    assert compressed.startswith("Read the following.\n\n")


def test_trailing_spaces_go_from_unfenced_code_but_indentation_stays():
    compressed = compress_system_prompt(wrapped("def f():   \n    return  1   "))

    assert "def f():\n    return  1\n" in compressed


def test_json_example_parses_the_same():
    compressed = compress_system_prompt(wrapped(JSON_EXAMPLE))

    start = compressed.index("{")
    end = compressed.rindex("}") + 1
    assert json.loads(compressed[start:end]) == json.loads(JSON_EXAMPLE)


def test_yaml_example_parses_the_same():
    yaml = pytest.importorskip("yaml")
    compressed = compress_system_prompt(wrapped(YAML_CONFIG))

    block = compressed.split("\n\n")[1]
    assert yaml.safe_load(block) == yaml.safe_load(YAML_CONFIG)


def test_fenced_code_keeps_every_byte_even_at_the_end():
    prompt = f"Use   this helper:\n\n{PYTHON_FENCED}"

    assert compress_system_prompt(prompt) == f"Use this helper:\n\n{PYTHON_FENCED}"


def test_untidy_support_prompt_shrinks_and_keeps_every_instruction():
    compressed = compress_system_prompt(UNTIDY_SUPPORT_PROMPT)

    saving = 1 - len(compressed) / len(UNTIDY_SUPPORT_PROMPT)
    print(f"\nuntidy support prompt: {len(UNTIDY_SUPPORT_PROMPT)} -> {len(compressed)} characters ({saving:.0%} fewer)")
    assert saving >= 0.15
    assert compressed.count("Never share internal notes") == 1
    assert compressed.count("Be warm, concise and professional.") == 1
    assert compressed.count("- Ask for the order number.") == 2  # one per intro: refunds and exchanges
    for kept in (
        "## Tone",
        "## Refunds",
        "## Output format",
        "## Reminders",
        "ACME SUPPORT ASSISTANT",
        "store credit first",
        "Always end with a question that moves the conversation forward.",
    ):
        assert kept in compressed
    assert '{\n  "reply":   "text shown to the customer",\n  "escalate":  false\n}' in compressed
    prose = compressed.split("```")[0] + compressed.split("```")[-1]
    for decoration in ("=====", "-----", "*****", "\u2728", "\r", "\u00a0", "  "):
        assert decoration not in prose


def examples():
    yield UNTIDY_SUPPORT_PROMPT
    yield from PROTECTED_REGIONS.values()
    yield from (wrapped(block) for block in PROTECTED_REGIONS.values())
    yield "\n\n".join(PROTECTED_REGIONS.values())
    yield "=====\nTitle\n=====\nIntro\n=====\n\n\n- a\n-----\n\u200b\n\u00a0\nText.  Text.  Text.\n\n\n"
    yield "Be kind.\n\n\n" * 20 + "If asked, be kind.\nBe kind. Be kind.\n\n---\n\n" * 5


@pytest.mark.parametrize("prompt", list(examples()))
def test_compressing_twice_changes_nothing_more(prompt):
    once = compress_system_prompt(prompt)

    assert compress_system_prompt(once) == once


def test_compressing_twice_changes_nothing_more_on_random_mixtures():
    pieces = (
        list(PROTECTED_REGIONS.values())
        + UNTIDY_SUPPORT_PROMPT.split("\r\n\r\n")
        + [
            "Never   share staff names.",
            "=====\n  TITLE  \n=====",
            "- Be kind to everyone.",
            "If asked, say no thanks.",
            "Rules:",
            "## Refunds",
            "\u200b- Ask for the order number.",
            "\u00a0\u00a0Indented   by no-break spaces.",
        ]
    )
    separators = ["\n", "\n\n", "\n\n\n", "\n=====\n", "  \n", "\n\u2728\u2728\u2728\n"]
    generator = random.Random(2024)
    for _ in range(500):
        prompt = "".join(
            piece + generator.choice(separators) for piece in generator.sample(pieces, generator.randint(2, 6))
        )
        once = compress_system_prompt(prompt)

        assert compress_system_prompt(once) == once, prompt


@pytest.mark.parametrize("prompt", list(examples()) + ["", "\n", "   ", "a", "\r\n"])
def test_never_lengthens(prompt):
    assert len(compress_system_prompt(prompt)) <= len(prompt)


def fifty_kb_prompt():
    """A 50,000-character system prompt of untidy sections and protected regions (also bench/compression_speed.py's)."""
    sections = [UNTIDY_SUPPORT_PROMPT.replace("Refunds", f"Refunds {number}") for number in range(30)]
    prompt = "\n\n".join(sections + list(PROTECTED_REGIONS.values()) * 4)
    return (prompt * (50_000 // len(prompt) + 1))[:50_000]


def test_a_50_kb_prompt_compresses_without_runaway_backtracking():
    # The speed target (under 20 ms) is bench/compression_speed.py's to measure; this only guards
    # against a pattern that backtracks catastrophically, which would take seconds, not milliseconds.
    prompt = fifty_kb_prompt()
    started = time.perf_counter()
    compressed = compress_system_prompt(prompt)
    elapsed = time.perf_counter() - started

    assert len(compressed) < len(prompt)
    assert elapsed < 2.0, f"{elapsed * 1000:.0f} ms for {len(prompt)} characters"
