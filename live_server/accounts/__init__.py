"""Accounts: registration, log-in, tokens, profiles and interests.

Other features use what is re-exported here; the modules inside are this feature's own.
"""

from live_server.accounts.feature import Accounts, build, setup
from live_server.accounts.keys import ACCOUNTS
from live_server.accounts.rules import INTERESTS, MIN_INTERESTS, User
from live_server.accounts.serializers import user_json
from live_server.accounts.service import AccountService
from live_server.accounts.store import UserRepository

__all__ = [
    "ACCOUNTS",
    "INTERESTS",
    "MIN_INTERESTS",
    "AccountService",
    "Accounts",
    "User",
    "UserRepository",
    "build",
    "setup",
    "user_json",
]
