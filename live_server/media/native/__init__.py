"""The native per-frame fan-out send loop (``_fanout.c``), when it is built and enabled.

``pip install -e .`` compiles ``_fanout`` (setuptools ``ext-modules`` in pyproject.toml;
optional: without a C compiler the install still succeeds and the Python twin,
``live_server.media.aiortc.sendloop``, sends instead). ``LIVESHOP_NATIVE_FANOUT=0`` (read
once, at import; also the ``native_fanout`` setting) turns it off.

The C loop calls ``srtp_protect`` of the libsrtp that pylibsrtp bundles, on the ``srtp_t``
of the DTLS transport's pylibsrtp ``Session``: no second SRTP library, no keys copied.
That relies on pylibsrtp internals (its cffi ``lib``/``ffi`` and ``Session._srtp``), which
``verify_native()`` checks; any difference keeps the Python path.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

ENV = "LIVESHOP_NATIVE_FANOUT"
PYLIBSRTP_VERSION = "1.0.0"  # constraints.txt
#: libsrtp 2.x; libsrtp 3 changed srtp_protect to separate input/output buffers
PROTECT_CTYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"

_module: ModuleType | None = None
_load_error: str | None = None
try:
    _module = importlib.import_module(f"{__name__}._fanout")
except ImportError as exc:  # not built (no compiler at install time)
    _load_error = f"not built: {exc}"

_enabled = os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")
_configured = False


def verify_native() -> list[str]:
    """Problems with the pylibsrtp internals the native loop uses (empty when fine)."""
    try:
        import pylibsrtp

        ffi, lib = _binding()
    except (ImportError, AttributeError) as exc:
        return [f"pylibsrtp's cffi binding is gone: {exc}"]
    problems: list[str] = []
    if getattr(pylibsrtp, "__version__", None) != PYLIBSRTP_VERSION:
        problems.append(
            f"pylibsrtp {getattr(pylibsrtp, '__version__', '?')} (expected {PYLIBSRTP_VERSION})"
        )
    try:
        ctype = ffi.typeof(lib.srtp_protect).cname
    except (AttributeError, TypeError) as exc:
        return [*problems, f"pylibsrtp lib.srtp_protect is gone: {exc}"]
    if ctype != PROTECT_CTYPE:
        problems.append(f"srtp_protect is {ctype!r} (expected {PROTECT_CTYPE!r})")
    session = pylibsrtp.Session()
    srtp = getattr(session, "_srtp", None)
    if srtp is None or ffi.typeof(srtp).cname != "struct srtp_ctx_t_ * *":
        problems.append("pylibsrtp Session._srtp is no longer an srtp_t *")
    return problems


def enabled() -> bool:
    """Whether the native loop is switched on (``LIVESHOP_NATIVE_FANOUT``)."""
    return _enabled


def set_enabled(on: bool) -> None:
    """Switch the native loop on or off for senders created from now on."""
    global _enabled
    _enabled = on


def backend() -> ModuleType | None:
    """The ``_fanout`` module when built, enabled and its internals check out; else None."""
    global _configured, _load_error, _module
    if not _enabled or _module is None:
        return None
    if not _configured:
        problems = verify_native()
        if problems:
            logger.warning("native fan-out off, Python send loop instead: %s", "; ".join(problems))
            _load_error = "; ".join(problems)
            _module = None
            return None
        ffi, lib = _binding()
        _module.configure(int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect"))))
        _configured = True
    return _module


def unavailable_reason() -> str | None:
    """Why ``backend()`` is None (None when it is not)."""
    if not _enabled:
        return f"{ENV}=0"
    return _load_error


def srtp_address(session: Any) -> int:
    """The ``srtp_t`` of a pylibsrtp ``Session`` as an integer (for ``SendState``)."""
    ffi, _ = _binding()
    return int(ffi.cast("uintptr_t", session._srtp[0]))


def _binding() -> tuple[Any, Any]:
    """pylibsrtp's cffi ``ffi`` and ``lib`` (a compiled module without type stubs)."""
    binding = importlib.import_module("pylibsrtp._binding")
    return binding.ffi, binding.lib
