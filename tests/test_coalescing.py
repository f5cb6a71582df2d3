"""A burst of announcements is made once, with every item of the burst."""

import threading

from exora.coalescing import Coalescer


def test_items_noted_within_the_wait_are_passed_in_one_call() -> None:
    # GIVEN a coalescer that waits 0.2 s
    calls: list[set[str]] = []
    done = threading.Event()

    def record(items: set[str]) -> None:
        calls.append(items)
        done.set()

    coalescer = Coalescer(0.2, record)
    # WHEN three items are noted at once
    for item in ("a", "b", "c"):
        coalescer.add(item)
    # THEN one call is made, with all three, once the wait is over
    assert calls == []
    assert done.wait(5)
    assert calls == [{"a", "b", "c"}]


def test_an_item_noted_after_a_call_starts_the_next_one() -> None:
    # GIVEN a coalescer whose first burst has been announced
    calls: list[set[str]] = []
    announced = threading.Semaphore(0)

    def record(items: set[str]) -> None:
        calls.append(items)
        announced.release()

    coalescer = Coalescer(0.05, record)
    coalescer.add("first")
    assert announced.acquire(timeout=5)
    # WHEN another item comes later
    coalescer.add("second")
    # THEN it gets a call of its own
    assert announced.acquire(timeout=5)
    assert calls == [{"first"}, {"second"}]


def test_with_no_wait_the_call_is_made_at_once_in_the_callers_thread() -> None:
    # GIVEN a coalescer with a wait of 0 (the test suite's setting)
    threads: list[str] = []
    coalescer = Coalescer(0, lambda items: threads.append(threading.current_thread().name))
    # WHEN an item is noted
    coalescer.add("a")
    # THEN the call has already happened, in this thread
    assert threads == [threading.current_thread().name]
