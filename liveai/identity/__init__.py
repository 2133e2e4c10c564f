"""Who a caller is: token verification, Sign in with Apple, Logto, secrets at rest.

`tokens` verifies Logto access tokens and Sign in with Apple identity tokens and binds
them to users; `jwks` caches the key sets they are checked against (and holds the https
check every remote endpoint passes); `siwa` exchanges and revokes Sign in with Apple
tokens; `logto` calls Logto's Management API; `cipher` seals stored secrets.

The package imports none of them itself: a caller that needs only `jwks` pays for no more.
"""

__all__ = ["cipher", "jwks", "logto", "siwa", "tokens"]
