"""One function run in a fresh (spawned) process, its result brought back: for measurements that must
not share this process's heap, or that read the process's own peak memory."""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_POLL_SECONDS = 1.0  # how often a silent child is checked for having died without an answer


def in_own_process(function: Callable[..., T], *args: Any, name: str) -> T:
    """`function(*args)` in a spawned process (a module-level function, picklable arguments); its result,
    or its failure raised here with the child's traceback."""
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    child = context.Process(target=_answer, args=(answers, function, args), name=name)
    child.start()
    try:
        ok, value = _wait(answers, child, name)
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    if not ok:
        raise RuntimeError(f"the {name} process failed:\n{value}")
    result: T = value
    return result


def _wait(answers: Any, child: Any, name: str) -> tuple[bool, Any]:
    exited = False
    while True:
        try:
            answer: tuple[bool, Any] = answers.get(timeout=_POLL_SECONDS)
            return answer
        except queue.Empty:
            if exited:  # one more wait after the exit: it may have answered just before
                message = f"the {name} process exited ({child.exitcode}) without an answer"
                raise RuntimeError(message) from None
            exited = not child.is_alive()


def _answer(answers: Any, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        answers.put((True, function(*args)))
    except BaseException:
        answers.put((False, traceback.format_exc()))
        raise
