"""Private files: the data dir, the database and the secret are the server's alone.

The database holds password hashes and everyone's orders, `secret.key` signs every token:
other local users must not read them. The data dir is created 0700 and these files 0600,
whatever the umask; a file found with a looser mode (made by an older version) is
tightened. An existing directory keeps the mode its operator gave it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Creates `path` 0700 when missing (its missing parents get the usual mode)."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        return  # made meanwhile by another process: it chose the mode
    os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


def make_private(path: Path) -> None:
    """Tightens an existing file to 0600 when group or others have any access to it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, PRIVATE_FILE_MODE)
        logger.info("%s was readable by others (mode %o): now %o", path, mode, PRIVATE_FILE_MODE)


def create_private(path: Path) -> None:
    """Makes sure `path` exists as a file only its owner can use (created empty if missing)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    make_private(path)
