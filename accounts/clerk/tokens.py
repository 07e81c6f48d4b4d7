"""Verify Clerk session tokens: RS256 against the instance's JWKS, issuer, expiry and `azp`."""

import functools
import logging
from dataclasses import dataclass

import jwt
from django.conf import settings

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
# A sign-in must not wait long on Clerk; the keys change rarely, and a token signed by a new key
# (its `kid` not yet seen) triggers one refetch, at most once per cooldown so that forged `kid`s
# cannot make every request call Clerk.
JWKS_TIMEOUT_SECONDS = 3
JWKS_MAX_AGE_SECONDS = 600
JWKS_REFETCH_COOLDOWN_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "sub"]


class InvalidClerkToken(Exception):
    """The token is not a valid Clerk session token for this instance and these origins."""


@dataclass(frozen=True)
class ClerkConfig:
    jwks_url: str
    issuer: str
    authorized_parties: tuple[str, ...]
    leeway_seconds: int


def clerk_config():
    """Return the Clerk settings, or None when Clerk sign-in is off."""
    if not settings.CLERK_JWKS_URL:
        return None
    return ClerkConfig(
        jwks_url=settings.CLERK_JWKS_URL,
        issuer=settings.CLERK_ISSUER,
        authorized_parties=tuple(settings.CLERK_AUTHORIZED_PARTIES),
        leeway_seconds=settings.CLERK_LEEWAY_SECONDS,
    )


class ClerkTokenVerifier:
    """Checks session tokens against one Clerk instance; owns that instance's JWKS cache."""

    def __init__(
        self, config, *, timeout_seconds=JWKS_TIMEOUT_SECONDS, refetch_cooldown_seconds=JWKS_REFETCH_COOLDOWN_SECONDS
    ):
        self.config = config
        # PyJWKClient caches the key set, refetches once on an unknown `kid` (after the cooldown),
        # keeps the old keys when a fetch fails, and follows no redirects.
        self._jwks = jwt.PyJWKClient(
            config.jwks_url,
            cache_jwk_set=True,
            lifespan=JWKS_MAX_AGE_SECONDS,
            timeout=timeout_seconds,
            cooldown_duration=refetch_cooldown_seconds,
            headers={"User-Agent": "optera"},
        )

    def verify(self, token):
        """Return the token's claims, or raise InvalidClerkToken."""
        try:
            header = jwt.get_unverified_header(token)
            # PyJWT enforces RS256 below as well; refusing here spares the JWKS a fetch for such a token.
            if header.get("alg") != ALGORITHM:
                raise InvalidClerkToken(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
            if not header.get("kid"):
                raise InvalidClerkToken("the token names no signing key")
            signing_key = self._jwks.get_signing_key(header["kid"])
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=[ALGORITHM],
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWKClientConnectionError as error:
            logger.warning("Clerk JWKS at %s cannot be fetched: %s", self.config.jwks_url, error)
            raise InvalidClerkToken("the signing keys cannot be fetched") from error
        except jwt.PyJWTError as error:
            raise InvalidClerkToken(str(error)) from error
        # `azp` is the origin the token was made for; checking it keeps a token leaked from another
        # site on the same Clerk instance from signing in here. Clerk omits it only for requests
        # without an Origin, which the dashboard never makes, so a token without one is refused.
        if claims.get("azp") not in self.config.authorized_parties:
            raise InvalidClerkToken(f"authorized party {claims.get('azp')!r} is not allowed")
        # A pending session (e.g. an organization still to choose) counts as signed out, as in Clerk's SDKs.
        if claims.get("sts", "active") != "active":
            raise InvalidClerkToken(f"session status {claims.get('sts')!r} is not active")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise InvalidClerkToken("the token names no user")
        return claims


@functools.lru_cache(maxsize=4)
def clerk_verifier(config):
    """Return the verifier for this configuration, the same one (and JWKS cache) every time."""
    return ClerkTokenVerifier(config)
