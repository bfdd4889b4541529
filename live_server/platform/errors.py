"""Domain errors. The HTTP layer maps each to a status and a JSON error body."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is machine-readable, the message is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


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
    status = 422
    code = "invalid"


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
