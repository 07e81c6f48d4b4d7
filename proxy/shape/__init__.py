"""Stage 2, shape: where the request goes (routing) and what is sent (summaries, compressed system prompts)."""
