"""Stage 4, forward: the upstream call (retries, fallbacks) and the relay of its answer to the client."""
