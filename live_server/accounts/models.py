"""The accounts REST bodies, declared once: the routes validate with them and the OpenAPI
document shows them (`platform.schemas`). The rules still judge the values."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from live_server.accounts.rules import (
    INTERESTS,
    MAX_DISPLAY_NAME_LEN,
    MAX_PASSWORD_LEN,
    MIN_INTERESTS,
    MIN_PASSWORD_LEN,
    USERNAME_RE,
)
from live_server.platform.schemas import Body

_USERNAME_MESSAGE = (
    "Usernames are 3 to 32 letters, numbers, dots, dashes or underscores, "
    "starting with a letter or number."
)
Username = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=32,
        pattern=USERNAME_RE.pattern,
        extra={"message": _USERNAME_MESSAGE},
    ),
]
Password = Annotated[
    str,
    Meta(
        min_length=MIN_PASSWORD_LEN,
        max_length=MAX_PASSWORD_LEN,
        extra={"message": f"Passwords are {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters."},
    ),
]
DisplayName = Annotated[str, Meta(max_length=MAX_DISPLAY_NAME_LEN)]
_INTERESTS_MESSAGE = "Pick interests from the list: " + ", ".join(INTERESTS) + "."
Interest = Annotated[
    str,
    Meta(
        pattern="^(" + "|".join(INTERESTS) + ")$",
        extra_json_schema={"enum": list(INTERESTS)},
        extra={"message": _INTERESTS_MESSAGE},
    ),
]
# At least MIN_INTERESTS distinct ones: stated in the schema and judged by the rules, which
# answer it with their own code (not_enough_interests).
Interests = Annotated[
    list[Interest],
    Meta(
        max_length=len(INTERESTS) * 4,
        extra_json_schema={"minItems": MIN_INTERESTS, "uniqueItems": True},
        extra={"message": _INTERESTS_MESSAGE},
    ),
]


class Registration(Body):
    """POST /api/auth/register."""

    username: Username
    password: Password
    display_name: DisplayName | None = None
    interests: Interests | None = None


class Credentials(Body):
    """POST /api/auth/login: any strings (a wrong pair is a 401, never a 422)."""

    username: Annotated[str, Meta(max_length=MAX_PASSWORD_LEN)]
    password: Annotated[str, Meta(max_length=MAX_PASSWORD_LEN)]


class InterestsBody(Body):
    """PUT /api/me/interests."""

    interests: Interests


class UserOut(msgspec.Struct):
    """A user as others see them."""

    id: int
    username: str
    display_name: str
    role: str


class MeOut(UserOut):
    """The current user: also their interests and when they signed up."""

    interests: list[str]
    created_at: str


class Login(msgspec.Struct):
    """A log-in (or sign-up): the user and a bearer token."""

    user: MeOut
    token: str
    expires_at: str


class InterestsOut(msgspec.Struct):
    """GET /api/interests."""

    interests: list[str]
    min: int


class PasswordChange(Body):
    """PUT /api/me/password."""

    current_password: Annotated[str, Meta(max_length=MAX_PASSWORD_LEN)]
    new_password: Password


class AccountOut(msgspec.Struct):
    """A user on the admin screen: also whether the account is disabled."""

    id: int
    username: str
    display_name: str
    role: str
    created_at: str
    disabled: bool
    disabled_at: str | None


class AccountPage(msgspec.Struct):
    """GET /api/admin/users."""

    items: list[AccountOut]


class RoleBody(Body):
    """PUT /api/admin/users/{id}/role."""

    role: Annotated[
        str,
        Meta(
            pattern="^(viewer|host|admin)$",
            extra_json_schema={"enum": ["viewer", "host", "admin"]},
            extra={"message": "Choose a role: viewer, host or admin."},
        ),
    ]


class DisabledBody(Body):
    """PUT /api/admin/users/{id}/disabled."""

    disabled: bool
