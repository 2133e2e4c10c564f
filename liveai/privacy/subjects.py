"""How a request's subject is named in the register: name or e-mail, masked by default so
that a list on a shared screen or in a ticket does not spell out who asked."""

from __future__ import annotations

from liveai.models import User

ERASED = "(erased)"


def subject_label(user: User | None, *, reveal: bool = False) -> str:
    """The display name, else the e-mail; masked unless `reveal`; "(erased)" for a
    tombstone, which holds neither."""
    if user is None or not (user.display_name or user.email):
        return ERASED
    if user.display_name:
        return user.display_name if reveal else mask_name(user.display_name)
    assert user.email is not None
    return user.email if reveal else mask_email(user.email)


def mask_name(name: str) -> str:
    """The first character of each word: "Ann Lee" -> "A** L**", "李小明" -> "李**"."""
    return " ".join(word[0] + "**" for word in name.split())


def mask_email(email: str) -> str:
    """The first character of the local part and the whole domain, which for an Apple
    relay address names nobody: "ann@example.com" -> "a**@example.com"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}**@{domain}"
