"""What a run of a zero-persistence project holds in Redis instead of the database
(`app.services.zero_persistence.transient`): the final state's reply for a synchronous
webhook, the inputs of steps waiting for an automatic retry, and their release when the run
ends. For every other project each method does nothing."""

from __future__ import annotations

import uuid

from app.json_text import JsonText
from app.services.runs.claims import ClaimedRun
from app.services.zero_persistence import transient
from workers import resume as resumption
from workers.walker import Walk


class HeldBodies:
    """One run's bodies held outside the database."""

    def __init__(self, run: ClaimedRun) -> None:
        self.run = run
        # Outputs by dataclip id, to find the final state a waiting webhook caller gets.
        # Only runs a trigger started can have such a caller.
        self._outputs: dict[uuid.UUID, dict | JsonText] | None = (
            {} if run.zero_persistence and run.starting_trigger_id else None
        )

    def step_output(self, output_id: uuid.UUID | None, state: dict | JsonText) -> None:
        """Remember a step's output state while the run goes on."""
        if self._outputs is not None and output_id is not None:
            self._outputs[output_id] = state

    def ending(self, status: str, final_ref: object) -> None:
        """Before the run's end is written: hold its reply, so it is there when the waiting
        web process hears the run finished, and release what the run no longer needs."""
        if self._outputs is not None and status == "success" and final_ref in self._outputs:
            transient.keep_reply(self.run.id, self._outputs[final_ref])
        self.release()

    def waiting(self, walk: Walk) -> None:
        """Before the run is parked for an automatic retry: hold its pending inputs."""
        if self.run.zero_persistence:
            resumption.hold_states(walk)

    def release(self) -> None:
        """The run ended: its input and any held step inputs are no longer needed."""
        if not self.run.zero_persistence:
            return
        pending = (self.run.resume or {}).get("pending") or []
        transient.forget([self.run.dataclip_id, *(entry.get("input_id") for entry in pending)])
