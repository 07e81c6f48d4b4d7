"""Anthropic: the provider (provider.py), and the translation between OpenAI Chat Completions and the
Messages API without I/O (request.py, messages.py, response.py, stream.py)."""
