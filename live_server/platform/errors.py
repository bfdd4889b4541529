"""Domain errors. The HTTP layer maps each to a status and a JSON error body.

An error about one input names it in `field` (the body's key, nested keys joined with dots:
`address.name`), so that a page can show the message next to that input; the message is a
sentence for people and `code` stays the machine-readable reason.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is machine-readable, the message is for people."""

    status = 400
    code = "bad_request"

    field: str | None = None

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class Unsupported(DomainError):
    status = 415
    code = "unsupported_media_type"


class Invalid(DomainError):
    """422. Without an explicit `field`, a code `invalid_<field>` (the services' convention)
    names the field."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        if field is None and code and code.startswith("invalid_") and code != "invalid_body":
            field = code.removeprefix("invalid_")
        super().__init__(message, code=code, field=field)


class RequestTimeout(DomainError):
    """The request did not arrive in time (a body sent too slowly): 408, then closed."""

    status = 408
    code = "request_timeout"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


class Unavailable(DomainError):
    """Not now, try later (503 with `Retry-After`): a node at capacity, a part not made yet."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))
