"""liveai auth: verify and bind sign-in tokens; Sign in with Apple code exchange and revoke."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.infiles import value_or_stdin
from liveai_cli.options import UserOption, YesOption

if TYPE_CHECKING:
    import httpx

    from liveai.identity.tokens import Principal, TokenVerifier

app = App(help=summary("auth"))

TokenArg = Annotated[str, typer.Argument(help="The JWT, or - to read it from stdin.")]
NonceOption = Annotated[
    str | None, typer.Option(help="The raw nonce the app sent with the sign-in request.")
]


@contextmanager
def _http() -> Iterator[httpx.Client]:
    import httpx

    with httpx.Client(timeout=state.settings().identity_http_timeout_s) as client:
        yield client


@contextmanager
def _verifier() -> Iterator[TokenVerifier]:
    from liveai.identity.tokens import verifier_from_settings

    with _http() as http:
        yield verifier_from_settings(state.settings(), http=http)


@app.command("verify")
@output.json_option
def verify(token: TokenArg, nonce: NonceOption = None, fmt: output.Format = output.HUMAN) -> None:
    """Verify a token; print its claims and the user bound to it, or why it is rejected (exit 4).

    Example: liveai auth verify - --json < token.jwt
    """
    from liveai.identity.tokens import token_to_dict
    from liveai.users import find_identity, user_to_dict

    raw = value_or_stdin(token)
    with _verifier() as verifier:
        verified = verifier.verify(raw, nonce=nonce)
    with state.session() as session:
        identity = find_identity(session, verified.issuer, verified.subject)
        user = user_to_dict(identity.user) if identity is not None else None
    if fmt.json:
        output.emit({"token": token_to_dict(verified), "user": user}, fmt)
        return
    shown = token_to_dict(verified)
    del shown["claims"]
    shown["user"] = user["id"] if user else "not bound (see `liveai auth bind`)"
    output.fields(shown)


@app.command("bind")
@output.json_option
def bind(
    token: TokenArg,
    user: Annotated[
        str | None, typer.Option("--user", help="Link to this existing user instead.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name for a new user.")] = None,
    nonce: NonceOption = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Verify a token and bind its subject to a user: the existing one, or a new one.

    Example: liveai auth bind - --name Ann < token.jwt
    """
    from liveai.identity.tokens import bind as bind_token

    raw = value_or_stdin(token)
    with _verifier() as verifier, state.session() as session:
        principal = bind_token(
            session,
            raw,
            verifier=verifier,
            user=user,
            nonce=nonce,
            display_name=name,
            actor=state.actor(),
        )
        shown = _principal(principal)
    if fmt.json:
        output.emit(shown, fmt)
        return
    verb = "created" if shown["created"] else "bound to"
    output.info(f"{shown['provider']} subject {verb} user {shown['user']['id']}")
    output.fields(shown["user"])


def _principal(principal: Principal) -> dict[str, Any]:
    from liveai.users import user_to_dict

    return {
        "created": principal.created,
        "provider": principal.token.provider,
        "user": user_to_dict(principal.user),
    }


@app.command("apple-exchange")
@output.json_option
def apple_exchange(
    code: Annotated[str, typer.Argument(help="The authorization code, or - to read stdin.")],
    user: UserOption,
    redirect_uri: Annotated[
        str | None, typer.Option(help="Only for web flows: the authorize request's URI.")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Exchange a Sign in with Apple authorization code; store the refresh token encrypted.

    Example: liveai auth apple-exchange - --user u_123 < code.txt
    """
    from liveai.identity.siwa import AppleClient, cipher_from_settings, exchange_code
    from liveai.identity.tokens import verifier_from_settings

    settings = state.settings()
    client = AppleClient.from_settings(settings)
    cipher = cipher_from_settings(settings)
    with _http() as http, state.session() as session:
        credential = exchange_code(
            session,
            user,
            value_or_stdin(code),
            client=client,
            http=http,
            cipher=cipher,
            verifier=verifier_from_settings(settings, http=http),
            redirect_uri=redirect_uri,
            actor=state.actor(),
        )
        shown = {
            "user_id": str(credential.user_id),
            "client_id": credential.client_id,
            "stored_at": credential.updated_at.isoformat(),
        }
    output.emit(shown, fmt)


@app.command("apple-revoke")
@output.json_option
def apple_revoke(
    user: Annotated[str, typer.Argument(help="A user id, or a subject bound to it.")],
    yes: YesOption = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Revoke the user's Sign in with Apple tokens at Apple and forget them.

    Example: liveai auth apple-revoke u_123 --yes
    """
    from liveai.identity.siwa import AppleClient, cipher_from_settings, revoke_tokens

    settings = state.settings()
    client = AppleClient.from_settings(settings)
    cipher = cipher_from_settings(settings)
    output.confirm(f"Revoke the Sign in with Apple authorization of {user}?", yes=yes)
    with _http() as http, state.session() as session:
        count = revoke_tokens(
            session, user, client=client, http=http, cipher=cipher, actor=state.actor()
        )
    if fmt.json:
        output.emit({"user": user, "revoked": count}, fmt)
    if count:
        output.info(f"revoked {count} Sign in with Apple token(s)")
    else:
        output.warn("no Sign in with Apple token is stored: ask the user to revoke in Settings")


@app.command("rotate-key")
@output.json_option
def rotate_key(fmt: output.Format = output.HUMAN) -> None:
    """Re-encrypt the stored Sign in with Apple refresh tokens under the newest key.

    Put the new key first in LIVEAI_SIWA_TOKEN_KEYS (older ones after it), run this, then
    remove the older keys. All tokens are rewritten or none (a token no key opens: exit 1).

    Example: liveai auth rotate-key --json
    """
    from liveai.identity.siwa import cipher_from_settings, rotate_token_key

    cipher = cipher_from_settings(state.settings())
    with state.session() as session:
        rotated = rotate_token_key(session, cipher, actor=state.actor())
    if fmt.json:
        output.emit({"rotated": rotated}, fmt)
    else:
        output.info(
            f"re-encrypted {rotated} stored Sign in with Apple token(s) under the newest key; "
            "the older keys in LIVEAI_SIWA_TOKEN_KEYS can now be removed"
        )
