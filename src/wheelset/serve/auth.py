"""Who a request comes from: htpasswd users (bcrypt) and bearer tokens.

``Authorization: Basic`` carries a user and password from the htpasswd file, or any user
name with a token as the password (pip and uv only send basic credentials, from the index
URL, netrc or keyring); ``Authorization: Bearer TOKEN`` carries a token. Tokens are
configured by their sha256, so the config file holds no secret. A bcrypt check costs
tens to hundreds of milliseconds by design: a password that passed is remembered (by its
sha256, in memory) until the next reload, so a client's every request does not pay it
again; a wrong one pays it each time.
Entry points: Credentials, read_htpasswd().
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from pathlib import Path

from wheelset.errors import ServeError

__all__ = ["Credentials", "read_htpasswd"]

_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def read_htpasswd(path: Path) -> dict[str, bytes]:
    """The users of an htpasswd file (``user:bcrypt hash`` lines; ``#`` comments).

    Raises:
        ServeError: the file is unreadable, or a line is not a user with a bcrypt hash.
    """
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ServeError(f"cannot read: {getattr(e, 'strerror', None) or e}", path=path) from e
    users = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed.startswith(_BCRYPT_PREFIXES):
            raise ServeError(
                f"line {number}: not USER:BCRYPT-HASH (only bcrypt is accepted: htpasswd -B)",
                path=path,
            )
        users[user] = hashed.encode("ascii", "replace")
    return users


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Credentials:
    """Checks an Authorization header against the users and tokens."""

    def __init__(self, users: Mapping[str, bytes], tokens: Mapping[str, str]):
        self._users = dict(users)
        self._tokens = dict(tokens)  # sha256 of the token -> its name
        self._passed: dict[tuple[str, str], str] = {}  # (user, sha256 of password) -> user

    @property
    def enabled(self) -> bool:
        return bool(self._users or self._tokens)

    def quick(self, authorization: str | None) -> str | bool | None:
        """Who sends ``authorization`` when that needs no bcrypt check: a name, None (no
        credentials), False (wrong), or True (a bcrypt check is needed: call check())."""
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return self._tokens.get(_sha256(value.strip()), False)
        if scheme != "basic":
            return False
        pair = _basic(value)
        if pair is None:
            return False
        user, password = pair
        digest = _sha256(password)
        if known := self._passed.get((user, digest)):
            return known
        if user in self._users:
            return True
        return self._tokens.get(digest, False)

    def check(self, authorization: str) -> str | None:
        """The user of basic credentials after the bcrypt check (slow: run it off the event
        loop), else None."""
        import bcrypt

        pair = _basic(authorization.strip().partition(" ")[2])
        if pair is None or pair[0] not in self._users:
            return None
        user, password = pair
        try:
            ok = bcrypt.checkpw(password.encode("utf-8"), self._users[user])
        except ValueError:  # a malformed hash in the file
            ok = False
        if not ok:
            return self._tokens.get(_sha256(password))
        self._passed[(user, _sha256(password))] = user
        return user


def _basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
