"""What a log follower prints next (:func:`dbcron.service.logtail.unseen`)."""

from __future__ import annotations

from dbcron.execution.capture import BoundedLog
from dbcron.service.logtail import unseen


def test_appended_output_is_printed_once() -> None:
    assert unseen("", "a\n") == "a\n"
    assert unseen("a\n", "a\nb\n") == "b\n"
    assert unseen("a\nb\n", "a\nb\n") == ""


def test_following_past_the_log_bound_never_repeats_and_loses_only_the_dropped_middle() -> None:
    sink = BoundedLog(limit=4000)
    shown = ""
    printed: list[str] = []
    for n in range(2000):
        sink.write(f"line {n}\n")
        if n % 37 == 0:
            now = sink.getvalue() or ""
            printed.append(unseen(shown, now))
            shown = now
    now = sink.getvalue() or ""
    printed.append(unseen(shown, now))
    text = "".join(printed)
    numbers = [int(line.split()[1]) for line in text.splitlines() if line.startswith("line ")]
    assert numbers == sorted(set(numbers))  # in order, none twice
    assert numbers[0] == 0 and numbers[-1] == 1999  # the start and the end are there


def test_a_follower_that_missed_the_whole_kept_tail_is_told() -> None:
    head = "h" * 10 + "\n[... 500 characters of log output truncated ...]\n"
    assert unseen("x" * 50, head + "new tail\n") == (
        "[... some output was dropped while following ...]\nnew tail\n"
    )
