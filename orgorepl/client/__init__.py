"""HTTP clients for the Orgo API: ``OrgoClient`` (sync) and ``AsyncOrgoClient`` (async).

Why it is built this way:

* **One protocol, two send loops.**  Every operation is written once, as a generator that
  yields the HTTP calls it needs (a ``_Call``) and receives their decoded JSON back, or has the
  translated error thrown into it.  The sync client drives those generators with
  ``httpx.Client``, the async one with ``httpx.AsyncClient``; neither knows what an operation
  means.  Multi-step operations (the ``/workspaces`` -> ``/projects`` fallback, resolving a
  computer by id then by name) are therefore shared too, not copied.
* **One translation boundary.**  httpx exceptions become ``orgorepl.errors`` exceptions in
  ``_ClientCore._translate`` only, always with ``raise ... from`` so the cause stays visible
  to a debugger.  The error tree is drawn in ``errors.py``.
* **Never run user code twice.**  ``/exec``, ``/bash`` and the lifecycle actions are retried
  only when the connection was never established.  Once the request may have reached the
  server, a failure is reported with ``may_have_run=True`` and left to the person to decide.
  Idempotent GETs are retried (connect errors, broken connections, 429, 502/503/504) with
  capped exponential backoff, honouring Retry-After; the policy is one object
  (``RetryPolicy``) and the sleep is injectable, so tests never wait.  A caller that gives up
  on a call passes ``cancelled``: its retries stop, so code abandoned while the client waited
  to reconnect is not sent once the server is back.
* **Bounded in time and memory.**  The read timeout of a code-running call is the remote
  timeout plus a margin (the server needs that long to say "timed out"); other calls use a
  fixed read timeout.  Bodies are streamed and refused beyond ``max_body_bytes`` (64 MiB).
* **The key stays in one header.**  It is validated (so httpx/h11 never echo it in an
  "illegal header" message), stored only in the httpx client's headers (whose repr masks
  ``Authorization``), and never part of a message, a repr or a log line.

Configuration (flags, environment, config file) is resolved by ``config.py``; the clients take
explicit values only.
"""

from typing import TYPE_CHECKING, Any

from orgorepl.client.core import MAX_BODY_BYTES, RetryPolicy, pick_computer
from orgorepl.client.sync import OrgoClient

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.client.aio import AsyncOrgoClient

__all__ = ["MAX_BODY_BYTES", "AsyncOrgoClient", "OrgoClient", "RetryPolicy", "pick_computer"]


def __getattr__(name: str) -> Any:
    """The async client (and asyncio under it) loads only for fan-out: one-shot commands and the
    first prompt do not pay for it."""
    if name == "AsyncOrgoClient":
        from orgorepl.client.aio import AsyncOrgoClient

        return AsyncOrgoClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
