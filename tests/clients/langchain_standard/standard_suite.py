"""langchain-tests' ChatModelIntegrationTests for ChatOpenAI pointed at Optera (base URL, key, provider-key header)."""

import os

from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests


class TestChatOpenAIThroughOptera(ChatModelIntegrationTests):
    @property
    def chat_model_class(self):
        return ChatOpenAI

    @property
    def chat_model_params(self):
        return {
            "model": "gpt-4o-mini",
            "base_url": os.environ["OPTERA_BASE_URL"],
            "api_key": os.environ["OPTERA_API_KEY"],
            "default_headers": {"X-Provider-Key": os.environ["OPTERA_PROVIDER_KEY"]},
            "stream_usage": True,
            "max_retries": 0,
            "temperature": 0,
        }

    @property
    def has_tool_choice(self):
        return True

    @property
    def supports_json_mode(self):
        return True

    @property
    def has_structured_output(self):
        return True

    @property
    def returns_usage_metadata(self):
        return True

    @property
    def supports_model_override(self):
        return True

    @property
    def model_override_value(self):
        return "gpt-4o"
