"""The errors the library raises; each knows the CLI exit code it maps to.

Those defined elsewhere name their module; a test checks the tree against the classes.

    LiveAIError (1)
    ├── ConfigError (1)             bad or missing settings, malformed TOML
    ├── InvalidInput (2)            a caller passed something unusable
    │   ├── AmbiguousId             an id prefix more than one record starts with
    │   ├── InvalidImage            images.py: a photo refused at intake; ``code`` says why
    │   │   ├── EmptyImage              no bytes
    │   │   ├── ImageFileTooLarge       a file over the intake limit
    │   │   ├── UnsupportedImageType    not a JPEG, PNG or HEIC photo
    │   │   ├── CorruptImage            it does not decode
    │   │   ├── AnimatedImage           more than one frame
    │   │   ├── DecompressionBomb       more pixels than the limit
    │   │   ├── ImageTooCostly          decoding would pass the memory budget
    │   │   ├── ImageTooSmall           a side below the minimum
    │   │   └── BadAspectRatio          too long or too narrow
    │   └── CorruptMovie            livephoto/boxes.py: MOV/MP4 boxes that do not add up
    ├── NotFound (3)                an unknown user, task, hold, ...
    ├── AuthError (4)               a token or signature was rejected
    │   └── ConsentMissing          the user has not given a consent the step needs
    ├── InsufficientCredits (5)     a debit beyond the available balance
    ├── UpstreamError (6)           a remote service failed or refused
    │   └── ProviderError           a video provider failed
    │       ├── ProviderAuthError       our credentials were refused
    │       ├── ProviderBalanceExhausted  our account with the provider is empty
    │       ├── ProviderRejected        moderation refused the image or prompt
    │       ├── ProviderRateLimited     rate or concurrency limit; retry later
    │       └── ProviderUnavailable     5xx, timeout, malformed answer; retryable
    ├── Conflict (1)                the request contradicts what is recorded
    ├── PolicyLintFailed (1)        publishing refused: the policy lint has errors
    ├── DatabaseError (1)
    │   ├── DatabaseUnavailable     the server cannot be reached
    │   ├── SchemaBehind            migrations are pending
    │   └── SchemaAhead             the database is newer than this code
    ├── NotConsented (1)            privacy/consents.py: a step may not send data there
    ├── LeaseLost (1)               generation/lifecycle.py: another runner took the task
    └── Stopped (130)               stopping.py: work stopped on request, the task handed back

Every message says what is wrong; ``hint`` says what to do about it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    INSUFFICIENT_CREDITS = 5
    UPSTREAM = 6
    INTERRUPTED = 130


class LiveAIError(Exception):
    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class ConfigError(LiveAIError):
    pass


class InvalidInput(LiveAIError):
    exit_code = ExitCode.USAGE


class NotFound(LiveAIError):
    exit_code = ExitCode.NOT_FOUND


class AuthError(LiveAIError):
    exit_code = ExitCode.AUTH


class ConsentMissing(AuthError):
    """A processing step needs consents the user has not given (or has withdrawn)."""

    def __init__(self, message: str, *, missing: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.missing = missing


class InsufficientCredits(LiveAIError):
    exit_code = ExitCode.INSUFFICIENT_CREDITS


class UpstreamError(LiveAIError):
    exit_code = ExitCode.UPSTREAM


class ProviderError(UpstreamError):
    retryable = False

    def __init__(
        self, message: str, *, provider: str, code: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{provider}: {message}", hint=hint)
        self.provider = provider
        self.code = code


class ProviderAuthError(ProviderError):
    pass


class ProviderBalanceExhausted(ProviderError):
    pass


class ProviderRejected(ProviderError):
    """Moderation refused the input: trying another provider will not help."""


class ProviderRateLimited(ProviderError):
    retryable = True


class ProviderUnavailable(ProviderError):
    retryable = True


class Conflict(LiveAIError):
    pass


class PolicyLintFailed(LiveAIError):
    """Publishing refused; ``findings`` holds one line per lint error."""

    def __init__(self, findings: list[str]) -> None:
        super().__init__(
            f"not published: policy lint has {len(findings)} error(s)",
            hint="fix them, or pass --accept-risk REASON to publish anyway (recorded in the "
            "audit log)",
        )
        self.findings = findings


class DatabaseError(LiveAIError):
    pass


class DatabaseUnavailable(DatabaseError):
    pass


class SchemaBehind(DatabaseError):
    pass


class SchemaAhead(DatabaseError):
    pass


class AmbiguousId(InvalidInput):
    """An id prefix that more than one record starts with."""


def plain_reason(exc: BaseException) -> str:
    """What a third-party exception says, without internals: no object addresses, no
    `[Errno N]` codes (FFmpeg's are tags like 1094995529), no quoted `<none>` names."""
    import re

    text = getattr(exc, "strerror", None) or str(exc)
    text = re.sub(r"\[Errno -?\d+\]\s*", "", str(text))
    text = re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", text)
    text = re.sub(r":\s*'<none>'", "", text)
    return text.strip().rstrip(":").strip()
