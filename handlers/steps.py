"""The registry of conversation steps: state.step names the function that takes the next
answer. Prompts set the step; steps validate, act, and prompt the next one."""
from __future__ import annotations

from typing import Callable

from handlers.core import Answer, Context

Step = Callable[[Context, Answer], None]
STEPS: dict[str, Step] = {}
#: Steps that judge a bare "yes" themselves and say why it is no answer (the street question:
#: "that does not look like a street"); elsewhere the dispatcher re-asks the question.
READS_YES: set[str] = set()


def step(name: str, reads_yes: bool = False) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        STEPS[name] = fn
        if reads_yes:
            READS_YES.add(name)
        return fn
    return register
