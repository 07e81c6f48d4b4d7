"""Stage 5, account: cost, savings, the request log row, metrics and the live feed."""
