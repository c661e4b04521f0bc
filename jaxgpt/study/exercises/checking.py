"""How a check runs: your function and the reference on the same cases, then a verdict."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class CheckResult:
    name: str  # the checker's own name, as you called it: check_attention, check_block_module, ...
    passed: bool
    cases: list[str]  # the cases run (all of them when passed; up to the failing one otherwise)
    diagnosis: str = ""  # what went wrong, when it did
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """A notebook cell ending in a check shows the verdict the check printed, not this object again."""

    @property
    def not_written(self) -> bool:
        """The exercise still raises NotImplementedError: a stub, not a wrong answer."""
        return self.diagnosis.startswith(NOT_WRITTEN)

    def __str__(self) -> str:
        if self.not_written:
            return self.diagnosis
        if self.passed:
            cases = f"{len(self.cases)} case{'s' if len(self.cases) != 1 else ''}"
            return f"PASS {self.name}: matches the reference on {cases} ({'; '.join(self.cases)})"
        return f"FAIL {self.name}, case '{self.cases[-1]}': {self.diagnosis}" + (
            f" Hint: {self.hint}" if self.hint else ""
        )


@dataclasses.dataclass
class Mistake:
    diagnosis: str
    hint: str
    function: object  # computes what the mistaken implementation would, from the same arguments


def first_output(output):
    """The output itself, or the first of (output, weights, ...)."""
    return output[0] if isinstance(output, (tuple, list)) else output


NOT_WRITTEN = "not written yet"

# float32 code (jax.numpy's default, or NumPy float32) is right to about 1e-6 relative, not 1e-6 absolute
FLOAT32_TOLERANCE = 1e-4


class ParameterMismatch(ValueError):
    """Your module's parameters cannot be matched with the reference's (raised while a module
    check prepares your module, not by your code)."""


def run_check(name, yours, correct, cases, mistakes, tol=1e-6, verbose=True, error_hint=None) -> CheckResult:
    """Run `yours` and `correct` on each (case name, args, kwargs); stop at the first difference.
    `name` is the public checker's (`check_attention`): the verdict and its hints say it. `yours`
    gets its own copy of the inputs, so changing them in place cannot spoil later cases.
    `error_hint(error)`: the checker's hint for an error your code raised (None: no better one)."""
    done = []
    for case, args, kwargs in cases:
        done.append(case)
        try:
            expected = np.asarray(first_output(correct(*args, **kwargs)))
        except Exception as error:  # noqa: BLE001 - the checker's own side failed: not the learner's fault
            result = CheckResult(
                name,
                False,
                done,
                f"the checker itself raised {type(error).__name__}: {error} (your code did not run).",
                "this is a bug in jaxgpt's checker, not in your code: please report it with this line",
            )
            break
        try:
            raw = np.asarray(first_output(yours(*copy.deepcopy(args), **copy.deepcopy(kwargs))))
        except NotImplementedError:  # the stub as shipped: say so, and let the notebook run on
            function = getattr(yours, "__name__", name)
            result = CheckResult(
                name, False, [], f"{NOT_WRITTEN}: fill in `{function}` above, then run this cell again"
            )
            break
        except ParameterMismatch as error:
            result = CheckResult(name, False, done, f"your module's parameters do not fit: {error}.", _help_hint(name))
            break
        except Exception as error:  # the learner's code: report any failure as a verdict
            hint = (error_hint and error_hint(error)) or _help_hint(name)
            result = CheckResult(name, False, done, f"your code raised {type(error).__name__}: {error}.", hint)
            break
        # a float32 answer (jax.numpy without x64) is judged at float32's precision, not float64's
        case_tol = tol if tol == 0 or raw.dtype == np.float64 else max(tol, FLOAT32_TOLERANCE)
        result = _compare(name, done, raw.astype(np.float64), expected, args, kwargs, mistakes, case_tol)
        if result is not None:
            break
    else:
        result = CheckResult(name, True, done)
    if verbose:
        print(result)
    return result


def _compare(name, done, got, expected, args, kwargs, mistakes, tol):
    if got.shape != expected.shape:
        return CheckResult(
            name,
            False,
            done,
            f"output shape {list(got.shape)}, expected {list(expected.shape)}.",
            f"print the shape after every step and compare each with the shapes in help({name})",
        )
    if not np.all(np.isfinite(got)):
        return CheckResult(
            name,
            False,
            done,
            "the output holds NaN or inf.",
            "look for a division by zero or exp of a large number (subtract the row maximum before exp); "
            "a row of -inf scores gives 0/0 in softmax, a very negative finite number does not",
        )
    if np.allclose(got, expected, rtol=tol, atol=tol):
        return None
    for mistake in mistakes:
        wrong = np.asarray(first_output(mistake.function(*args, **kwargs)))
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=tol, atol=tol):
            return CheckResult(name, False, done, mistake.diagnosis, mistake.hint)
    difference = np.abs(got - expected)
    where = tuple(int(i) for i in np.unravel_index(np.argmax(difference), difference.shape))
    scale = float(np.max(np.abs(expected))) or 1.0
    what = (
        f"largest difference {difference.max():.3g} at index {list(where)} "
        f"(yours {got[where]:.6g}, expected {expected[where]:.6g})."
    )
    if difference.max() < 1e-3 * scale:
        return CheckResult(
            name,
            False,
            done,
            "close, but beyond the tolerance of " + f"{tol:g}: {what}",
            "compute in float64 (the inputs are float64; float16 or bfloat16 loses digits; with jax.numpy, "
            "jax.config.update('jax_enable_x64', True))",
        )
    return CheckResult(
        name,
        False,
        done,
        f"the values differ: {what}",
        f"work one small case by hand from the formula in help({name}), printing each intermediate",
    )


def _help_hint(name):
    return f"the arguments, shapes and names expected are in help({name})"


def dense_params(rng, n_in, n_out):
    """Random weights of one linear layer in GPT-2's layout: kernel [in, out], bias [out]."""
    return {"kernel": rng.standard_normal((n_in, n_out)) / math.sqrt(n_in), "bias": 0.1 * rng.standard_normal(n_out)}


def random_generator(seed=0):
    return np.random.default_rng(seed)
