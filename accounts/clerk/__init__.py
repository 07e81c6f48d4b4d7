"""Clerk sign-in beside Django's own, active only when the CLERK_* settings are set.

tokens: verify Clerk session tokens (RS256, against the instance's JWKS). identities: link a Clerk
user to a Django user. middleware: sign in the user of a valid token, on Django requests and on
the live feed's WebSocket. webhooks: Clerk's Svix-signed user events.
"""
