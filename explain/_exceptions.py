"""Exceptions raised by :mod:`explain`.

One root, so callers can catch everything the toolkit raises in one clause, and each leaf also inherits
the built-in it refines, so an existing ``except ValueError`` keeps working::

    ExplainError
    ├── ModelNotSupportedError (TypeError)    a model we cannot recognise or call
    ├── FeatureMismatchError (ValueError)     input columns, dtypes, categories or NaNs the model cannot take
    ├── AdditivityError (ArithmeticError)     base value + contributions != margin: never passed silently
    ├── CatalogError (ValueError)             a FeatureCatalog that is malformed or does not fit the model
    ├── BundleError (ValueError)              a ModelBundle that is incomplete, tampered with or untrusted
    ├── UnknownDecisionError (ValueError)     a decision kind we do not know
    ├── UnknownReasonError (KeyError)         a policy reason code the catalog does not define
    ├── UnsupportedLocaleError (ValueError)   a locale we have no catalog for
    ├── TranslationError (ValueError)         a lender phrase without a reviewed translation in some locale
    └── InvalidInputError (ValueError)        an argument out of range (top, policy_reasons, amounts...)
        └── NoticeInputError                  limits, dates or profile fields a notice cannot be built from

Every exception builds its own message from the data it carries: the field, what was expected, what came.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "AdditivityError",
    "BundleError",
    "CatalogError",
    "ExplainError",
    "FeatureMismatchError",
    "InvalidInputError",
    "ModelNotSupportedError",
    "NoticeInputError",
    "TranslationError",
    "UnknownDecisionError",
    "UnknownReasonError",
    "UnsupportedLocaleError",
]


def _quoted(items: Iterable[object]) -> str:
    return ", ".join(repr(str(i)) for i in items)


class ExplainError(Exception):
    """Root of every error raised by :mod:`explain`."""


class ModelNotSupportedError(ExplainError, TypeError):
    """The model is neither a recognised estimator nor a callable returning one score per row."""

    def __init__(self, model: object, detail: str = "") -> None:
        self.model_type = type(model).__name__
        self.detail = detail
        msg = f"Cannot explain a model of type {self.model_type!r}"
        super().__init__(f"{msg}: {detail}" if detail else f"{msg}.")


class FeatureMismatchError(ExplainError, ValueError):
    """The input does not fit the model: the message names every offending column."""

    def __init__(self, problem: str, columns: Sequence[str] = (), *, expected: str = "", got: str = "") -> None:
        self.problem = problem
        self.columns = tuple(str(c) for c in columns)
        self.expected = expected
        self.got = got
        parts = [problem]
        if self.columns:
            parts.append(f"column(s) {_quoted(self.columns)}")
        text = ": ".join(parts)
        if expected:
            text += f"; expected {expected}"
        if got:
            text += f", got {got}"
        super().__init__(text + ".")


class AdditivityError(ExplainError, ArithmeticError):
    """Attributions do not add up to the model's margin; the explanation would be wrong, so it is refused."""

    def __init__(self, *, method: str, max_error: float, tolerance: float, rows: Sequence[object]) -> None:
        self.method = method
        self.max_error = max_error
        self.tolerance = tolerance
        self.rows = tuple(rows)
        shown = _quoted(self.rows[:5]) + (" ..." if len(self.rows) > 5 else "")
        super().__init__(
            f"Additivity check failed for method {method!r}: base value + contributions differs from the "
            f"model margin by up to {max_error:.3g} (tolerance {tolerance:.1g}) on {len(self.rows)} row(s): {shown}."
        )


class CatalogError(ExplainError, ValueError):
    """The feature catalog is malformed or does not cover the model's features."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"Feature catalog {where}: {problem}")


class BundleError(ExplainError, ValueError):
    """A model bundle is incomplete, was altered after it was written, or needs an explicit trust flag."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"Model bundle {self.path!r}: {problem}")


class UnknownDecisionError(ExplainError, ValueError):
    """The decision kind is not one the toolkit explains."""

    def __init__(self, got: object, allowed: Iterable[str]) -> None:
        self.got = got
        self.allowed = tuple(allowed)
        super().__init__(f"The 'decision' must be one of {_quoted(self.allowed)}. Got {got!r} instead.")


class UnknownReasonError(ExplainError, KeyError):
    """A policy reason code that the catalog does not define."""

    def __init__(self, got: object, allowed: Iterable[str]) -> None:
        self.got = got
        self.allowed = tuple(allowed)
        super().__init__(f"Unknown policy reason {got!r}; expected one of {_quoted(self.allowed)}.")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class UnsupportedLocaleError(ExplainError, ValueError):
    """A locale that has no notice catalog; we never fall back to another language silently."""

    def __init__(self, got: object, supported: Iterable[str], *, field: str = "locale") -> None:
        self.got = got
        self.supported = tuple(supported)
        self.field = field
        super().__init__(f"The {field!r} must be one of {_quoted(self.supported)}. Got {got!r} instead.")


class InvalidInputError(ExplainError, ValueError):
    """An argument the caller gave is out of range; ``field`` names it as the caller spelled it."""

    def __init__(self, field: str, expected: str, got: object) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(f"The {field!r} must be {expected}. Got {got!r} instead.")


class WorkerError(ExplainError, RuntimeError):
    """A batch worker process could not start, or died (killed, or out of memory) before finishing a chunk."""

    def __init__(self, chunk: int | None, cause: str | None = None) -> None:
        self.chunk = chunk
        self.cause = cause
        if cause is not None:
            message = f"A worker process could not start: {cause}."
        else:
            when = "while loading the bundle" if chunk is None else f"before finishing chunk {chunk}"
            message = (f"A worker process stopped {when} (killed, or out of memory). The chunks already done are "
                       "kept: run the same command again to resume.")
        super().__init__(message)


class NoticeInputError(InvalidInputError):
    """A notice cannot be built from the given limits, dates or profile."""


class TranslationError(ExplainError, ValueError):
    """A lender phrase has no reviewed translation for a supported locale (missing, fuzzy, untranslated).

    ``problems`` holds ``(locale, phrase, problem)`` for each one; the message lists them all, one per line.
    """

    def __init__(self, problems: Sequence[tuple[str, object, str]]) -> None:
        self.problems = tuple(problems)
        lines = []
        for locale, phrase, problem in self.problems:
            if phrase is None:
                lines.append(f"{locale}: {problem}")
            else:
                msgid = getattr(phrase, "singular", phrase)
                lines.append(f"{locale}: phrase {msgid!r} (context {getattr(phrase, 'context', '?')!r}): {problem}")
        super().__init__(f"{len(lines)} phrase translation problem(s):\n" + "\n".join(lines))
