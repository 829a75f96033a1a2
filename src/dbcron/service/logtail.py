"""What a follower of an execution's logs has not printed yet.

The logs stored while a handler runs are its whole output so far, bounded like the
final logs (:class:`~dbcron.execution.capture.BoundedLog`): the first part is kept
whole, and once the output outgrows the bound the middle is replaced by a marker and
only the newest part is kept. A follower that printed ``shown`` reads ``current`` and
prints :func:`unseen`.
"""

from __future__ import annotations

#: How much of the end of what was shown is looked for in the new text, to find where
#: to go on from once the middle of the logs has been dropped.
OVERLAP = 400


def unseen(shown: str, current: str) -> str:
    """The part of ``current`` (the logs now) that a follower who printed ``shown`` has
    not seen: what was appended, or, if the kept part moved on (the middle dropped),
    what follows the end of ``shown`` in ``current``; when that end is no longer there,
    a marker line and the part of ``current`` that is new to the follower (the kept
    tail)."""
    if current.startswith(shown):
        return current[len(shown) :]
    anchor = shown[-OVERLAP:]
    at = current.rfind(anchor) if anchor else -1
    if at >= 0:
        return current[at + len(anchor) :]
    cut = current.rfind("characters of log output truncated ...]\n")
    tail = current[cut + len("characters of log output truncated ...]\n") :] if cut >= 0 else ""
    return "[... some output was dropped while following ...]\n" + tail
