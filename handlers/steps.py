"""The registry of conversation steps: state.step names the function that takes the next
answer. Prompts set the step; steps validate, act, and prompt the next one."""
from __future__ import annotations

from typing import Callable

from handlers.core import Answer, Context

Step = Callable[[Context, Answer], None]
STEPS: dict[str, Step] = {}


def step(name: str) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        STEPS[name] = fn
        return fn
    return register
