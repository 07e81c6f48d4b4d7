"""Stage 3, look up: the exact cache, then the semantic cache, with single-flight for identical misses."""
