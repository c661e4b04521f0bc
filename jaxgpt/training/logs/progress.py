"""The training loop's progress bar (tqdm): iterations done, and the last logged step's numbers,
set at most as often as the bar redraws (every 0.1 s), so logging every step costs no drawing."""

from __future__ import annotations

import math

from tqdm import tqdm  # plain text bars: also in notebooks, without ipywidgets

REDRAW_SECONDS = 0.1  # tqdm's own mininterval


class ProgressBar:
    def __init__(self, total: int, initial: int, enabled: bool):
        self.bar = tqdm(total=total, initial=initial, disable=not enabled, unit="it", dynamic_ncols=True)
        self.numbers_set_at = -math.inf

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.close()

    def write(self, line: str) -> None:
        """A line above the bar."""
        self.bar.write(line)

    def reach(self, step: int) -> None:
        self.bar.update(step - self.bar.n)

    def show(self, scalars: dict, now: float, last: bool = False) -> None:
        """A logged step's numbers beside the bar (the `last` step's always)."""
        if now - self.numbers_set_at < REDRAW_SECONDS and not last:
            return
        self.numbers_set_at = now
        scale = {} if "loss_scale" not in scalars else {"scale": f"{scalars['loss_scale']:g}"}
        self.bar.set_postfix(
            loss=f"{scalars['loss']:.4f}",
            gnorm=f"{scalars['grad_norm']:.3g}",
            lr=f"{scalars['lr']:.2e}",
            tok_s=f"{scalars['tokens_per_sec']:,.0f}",
            mfu=f"{100 * scalars['mfu']:.1f}%",
            **scale,
            refresh=False,
        )


def say_summary(steps: int, seconds: float, step: int, loss_scale=None) -> None:
    """What training did, once it ends: its steps and their time (a float16 run's skipped steps too)."""
    print(f"{steps} iterations in {seconds:.1f} s of training (first compile included)")
    if loss_scale is not None:
        print(
            f"float16: {int(loss_scale.skipped_steps)} of {step} steps skipped for a gradient overflow so far, "
            f"loss scale now {float(loss_scale.scale):g}"
        )
