"""scripts/train.py with one fault injected: the process kills itself with SIGKILL (no handler, no
cleanup: as a crash, the OOM killer or a pulled plug) the Nth time it reaches a chosen moment.

    python tests/inject_fault.py MOMENT N [train.py flags...]

MOMENT is one of MOMENTS; test_faults.py runs a training run through all of them."""

import os
import signal
import sys

import jaxgpt.atomic
import jaxgpt.training.logs.metrics_file
import jaxgpt.training.loop
import jaxgpt.training.run.checkpoint
from jaxgpt.cli.run import run
from jaxgpt.cli.train import train_main
from jaxgpt.training.run.checkpoint import Checkpoints


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class Nth:
    """True on the Nth call of `reached()` only."""

    def __init__(self, n: int):
        self.left = n

    def reached(self) -> bool:
        self.left -= 1
        return self.left == 0


def during_a_train_step(nth):
    make = jaxgpt.training.loop.make_train_step

    def make_dying(*args, **kwargs):
        step = make(*args, **kwargs)

        def dying(*step_args):
            result = step(*step_args)  # dispatched: XLA is computing it
            if nth.reached():
                die()
            return result

        return dying

    jaxgpt.training.loop.make_train_step = make_dying


def during_an_evaluation(nth):
    make = jaxgpt.training.loop.make_eval_step

    def make_dying(loss_fn):
        eval_step = make(loss_fn)

        def dying(*args):
            if nth.reached():
                die()
            return eval_step(*args)

        return dying

    jaxgpt.training.loop.make_eval_step = make_dying


def while_saving(nth):
    save = Checkpoints.save

    def dying(self, *args, **kwargs):
        save(self, *args, **kwargs)  # the arrays are being written in the background
        if nth.reached():
            die()

    Checkpoints.save = dying


def while_writing_checksums(nth):
    write = jaxgpt.training.run.checkpoint.write_manifest

    def dying(folder):
        if nth.reached():
            (folder / jaxgpt.training.run.checkpoint.MANIFEST).write_text('{"format": 2, "files": {"sta')
            die()
        write(folder)

    jaxgpt.training.run.checkpoint.write_manifest = dying


def before_the_checkpoint_is_renamed(nth):
    write = jaxgpt.training.run.checkpoint.write_manifest

    def dying(folder):
        write(folder)  # complete, but orbax has not renamed the folder yet
        if nth.reached():
            die()

    jaxgpt.training.run.checkpoint.write_manifest = dying


def mid_line_in_metrics(nth):
    append = jaxgpt.training.logs.metrics_file.MetricsLog._append

    def dying(self, record):
        if nth.reached():
            with self.path.open("a") as f:
                f.write('{"iter": 1')  # half a record, no newline
            die()
        append(self, record)

    jaxgpt.training.logs.metrics_file.MetricsLog._append = dying


def while_replacing(name):
    """Dies after writing the temporary copy of `name` (loss.png, metrics.jsonl), before it replaces
    the file."""

    def inject(nth):
        replace = jaxgpt.atomic.os.replace

        class DyingOs:
            def __getattr__(self, attribute):
                return getattr(os, attribute)

            def replace(self, source, target):
                if os.path.basename(target) == name and nth.reached():
                    die()
                replace(source, target)

        jaxgpt.atomic.os = DyingOs()

    return inject


def while_restoring(nth):
    restore_one = Checkpoints._restore_one

    def dying(self, *args):
        if nth.reached():
            die()
        return restore_one(self, *args)

    Checkpoints._restore_one = dying


def saving_after_ctrl_c(nth):
    """Ctrl-C at the Nth train step, then death during the checkpoint that Ctrl-C saves."""
    make = jaxgpt.training.loop.make_train_step
    save = Checkpoints.save
    interrupted = []

    def make_interrupted(*args, **kwargs):
        step = make(*args, **kwargs)

        def interrupting(*step_args):
            if nth.reached():
                interrupted.append(True)
                os.kill(os.getpid(), signal.SIGINT)
            return step(*step_args)

        return interrupting

    def dying(self, *args, **kwargs):
        save(self, *args, **kwargs)
        if interrupted:
            die()

    jaxgpt.training.loop.make_train_step = make_interrupted
    Checkpoints.save = dying


MOMENTS = {
    "train-step": during_a_train_step,
    "evaluation": during_an_evaluation,
    "save": while_saving,
    "checksums": while_writing_checksums,
    "rename": before_the_checkpoint_is_renamed,
    "metrics-line": mid_line_in_metrics,
    "loss-png": while_replacing("loss.png"),
    "history-rewrite": while_replacing("metrics.jsonl"),
    "restore": while_restoring,
    "ctrl-c-save": saving_after_ctrl_c,
}

if __name__ == "__main__":
    moment, n = sys.argv[1], int(sys.argv[2])
    MOMENTS[moment](Nth(n))
    sys.argv = ["train.py", *sys.argv[3:]]
    run(train_main)
