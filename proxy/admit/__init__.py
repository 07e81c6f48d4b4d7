"""Stage 1, admit: the body within its limit and valid JSON, the Optera key, the rate limit, the request's options."""
