"""--profile START:STOP: a jax.profiler trace of the train steps from iteration START to STOP,
written into `out_dir/profile`. Open it in Perfetto (ui.perfetto.dev: the perfetto_trace.json.gz)
or in TensorBoard (`tensorboard --logdir OUT/profile` with tensorboard-plugin-profile installed):
each step's kernels on the devices, and what the host did meanwhile."""

from __future__ import annotations

import pathlib

import jax


class StepProfiler:
    """Call `before_step(step)` before queueing the step that leaves iteration `step`, and
    `after_step(step, state)` once iteration `step` is queued; `close()` ends a trace cut short."""

    def __init__(self, steps: tuple[int, int] | None, folder, say=print):
        self.steps, self.folder, self.say = steps, pathlib.Path(folder), say
        self.tracing = False

    def before_step(self, step: int) -> None:
        if self.steps is not None and step == self.steps[0] and not self.tracing:
            self.folder.mkdir(parents=True, exist_ok=True)
            jax.profiler.start_trace(self.folder, create_perfetto_trace=True)
            self.tracing = True

    def after_step(self, step: int, state) -> None:
        if self.tracing and step >= self.steps[1]:
            jax.block_until_ready(state)  # the trace ends when the traced steps have run, not when queued
            self.close()

    def close(self) -> None:
        if self.tracing:
            self.tracing = False
            jax.profiler.stop_trace()
            start, stop = self.steps
            newest = max((self.folder / "plugins" / "profile").iterdir(), key=lambda path: path.stat().st_mtime)
            self.say(
                f"profile of iterations {start}-{stop}: open {newest / 'perfetto_trace.json.gz'} in "
                f"ui.perfetto.dev, or run tensorboard --logdir {self.folder} (with tensorboard-plugin-profile)"
            )
