"""The fake answers like a model where clients test structure: tool arguments and JSON valid under the schema."""

import json

import anthropic
import jsonschema_rs
import openai
import pytest

from tests.fakeprovider.schema_instance import instance_of

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 3},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "where": {"$ref": "#/$defs/Place"},
        "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    },
    "required": ["city", "unit", "days", "hourly", "tags", "where", "note"],
    "additionalProperties": False,
    "$defs": {"Place": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]}},
}


@pytest.mark.parametrize(
    "schema",
    [
        WEATHER,
        {"type": "object", "properties": {"a": {"type": "integer", "exclusiveMinimum": 5}}, "required": ["a"]},
        {"type": "array", "items": {"type": "string", "maxLength": 2}},
        {"type": ["null", "number"]},
        {"const": 42},
    ],
)
def test_the_instance_is_valid_under_its_schema(schema):
    jsonschema_rs.validator_for(schema).validate(instance_of(schema, "Is it sunny?"))


def test_an_openai_tool_call_and_a_json_schema_answer_are_valid(fake):
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)
    tool = {"type": "function", "function": {"name": "weather", "parameters": WEATHER}}
    called = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather?"}], tools=[tool], tool_choice="required"
    )
    jsonschema_rs.validator_for(WEATHER).validate(
        json.loads(called.choices[0].message.tool_calls[0].function.arguments)
    )

    answered = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": WEATHER, "strict": True}},
    )
    jsonschema_rs.validator_for(WEATHER).validate(json.loads(answered.choices[0].message.content))

    responded = client.responses.create(
        model="gpt-4o-mini",
        input="Weather?",
        text={"format": {"type": "json_schema", "name": "weather", "schema": WEATHER, "strict": True}},
    )
    jsonschema_rs.validator_for(WEATHER).validate(json.loads(responded.output_text))


def test_an_anthropic_tool_use_is_valid(fake):
    client = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="sk-ant-test", max_retries=0)
    message = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[{"name": "weather", "input_schema": WEATHER}],
        tool_choice={"type": "tool", "name": "weather"},
    )
    jsonschema_rs.validator_for(WEATHER).validate(message.content[0].input)
