"""Result objects: what each layer of a claim measured, and the figures and tables it produced.

Every number in a report comes from one of these frozen dataclasses; the report writers only
serialize and render them. Figures are described as data (series of points and lines, surfaces)
and drawn by `optverify.verify.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from optverify.bound import Bound
from optverify.config import RunConfig, RunSettings
from optverify.numerics.fit import RateFit


class Layer(str, Enum):
    """The three verification layers of a claim."""

    SYMBOLIC = "symbolic"
    NUMERIC = "numeric"
    EXPERIMENT = "experiment"


class Verdict(str, Enum):
    """A judgement of a measurement against a claimed bound."""

    CONSISTENT = "consistent"
    VIOLATED = "violated"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


class Role(str, Enum):
    """What a check does for its claim's verdict (`Check.role`)."""

    MAIN = "main"
    """decides the claim's main bound (and is decisive)"""
    DECISIVE = "decisive"
    """counts towards the claim's verdict"""
    REPORTED = "reported"
    """reported beside the verdict, which it does not decide (a statement as written beside the
    corrected one that was measured)"""
    SANITY = "sanity"
    """cannot fail (a tautology, a closed form fitted against itself): never decisive"""

    @property
    def description(self) -> str:
        """The role in words, as the reports name it."""
        return _ROLE_WORDS[self]


_ROLE_WORDS = {Role.MAIN: "main statement", Role.DECISIVE: "decisive",
               Role.REPORTED: "reported, not decisive",
               Role.SANITY: "sanity check: cannot fail, not decisive"}


Value = float | int | str | None


class Duration(float):
    """A measured wall time in seconds (a `Value`). It depends on the machine and its load, so it
    is serialized as a duration (docs/report-format.md) and skipped when a run is compared with
    its record (`verify rerun`, the determinism tests)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Duration({float(self)!r})"


@dataclass(frozen=True)
class Judgement:
    """A verdict with its wording and named numbers, as a judge function returns it."""

    verdict: Verdict
    detail: str = ""
    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Control:
    """A negative control: a plausible false alternative fed through a check's own judging path.

    alternative: the false alternative in words ("exponent 3", "a power law", "a fraction 0.55").
    verdict: how the check judges the alternative; a check that can decide judges it `violated`.
        An `inconclusive` control (the alternative could not be judged: too few points, underflow,
        an interval that straddles the bound) is not a rejection: the check cannot tell the claim
        from the alternative.
    detail: the judgement's wording, with its numbers.
    """

    alternative: str
    verdict: Verdict
    detail: str = ""

    @property
    def rejected(self) -> bool:
        """Whether the check said no to the alternative: only a `violated` judgement counts."""
        return self.verdict is Verdict.VIOLATED


@dataclass(frozen=True)
class Check:
    """One checked statement and its verdict.

    layer: which layer produced it.
    name: short kebab-case name, unique within the claim.
    statement: what is checked, in plain words with the formula.
    verdict: the judgement (see optverify.verdict for how each kind is judged).
    detail: the outcome in words with its numbers (e.g. the measured tight exponent).
    decisive: whether it counts towards the claim's verdict. A statement reported "as written"
        beside a corrected one that was measured is not decisive.
    main: whether this check decides the claim's main bound (it is judged against `Claim.bound`).
    rules_out: the plausible false alternative this check rejects (e.g. "exponent 3"), stated with
        the check; empty where none is named.
    controls: the negative controls run through the check's judging path (see `Control`).
    sanity: a check that cannot fail (a tautology, a closed form fitted against itself, a
        definition): reported as a sanity check, never decisive.
    fit / bound: for rates, the fitted exponent and the bound it was judged against.
    residual / tolerance / precision_digits: for identities, |lhs - rhs| and its allowed size.
    values: further named numbers (ratios, floors, counter-examples); a value below its precision
        floor is the string "below precision"; a measured wall time is a `Duration`.
    """

    layer: Layer
    name: str
    statement: str
    verdict: Verdict
    detail: str = ""
    decisive: bool = True
    main: bool = False
    rules_out: str = ""
    controls: tuple[Control, ...] = ()
    sanity: bool = False
    fit: RateFit | None = None
    bound: Bound | None = None
    residual: float | None = None
    tolerance: float | None = None
    precision_digits: int | None = None
    values: Mapping[str, Value] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        """main (deciding the main bound), else sanity, else decisive or reported."""
        if self.main:
            return Role.MAIN
        if self.sanity:
            return Role.SANITY
        return Role.DECISIVE if self.decisive else Role.REPORTED

    def __repr__(self) -> str:
        return f"<Check {self.layer.value}/{self.name}: {self.verdict.value} ({self.role.value})>"

    def _repr_html_(self) -> str:
        """The check in a Jupyter cell, as the claim page's card shows it."""
        from optverify.verify.html import check_notebook_html  # the renderer sits above

        return check_notebook_html(self)


@dataclass(frozen=True)
class Series:
    """A set of (x, y) points drawn as markers ('points'), a solid line ('line') or a dashed
    reference line ('dashed', used for claimed bounds)."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    style: str = "points"

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"series {self.label!r}: x and y differ in length")
        if self.style not in ("points", "line", "dashed"):
            raise ValueError(f"series {self.label!r}: unknown style {self.style!r}")


@dataclass(frozen=True)
class Surface:
    """Values z[i][j] on the grid (x[j], y[i]), drawn as a filled contour plot."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    z: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Panel:
    """One set of axes."""

    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...] = ()
    surface: Surface | None = None
    xscale: str = "log"
    yscale: str = "log"


FILE_NAME_BYTES = 128
"""The longest figure or table name, in UTF-8 bytes: `<name>.png` and the writer's temporary
names beside it stay well below the 255-byte file-name limit of common file systems."""


def plain_file_name(kind: str, name: object) -> str:
    """`name` if it is a plain file name (one path component inside the claim's report folder),
    else a ValueError naming what is wrong: not empty, no `/` or `\\`, no leading dot (no `..`,
    no hidden file), no NUL or other control character, at most FILE_NAME_BYTES bytes."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{kind} name must be a non-empty string, got {name!r}")
    problem = (
        "contains a path separator" if "/" in name or "\\" in name
        else "starts with a dot" if name.startswith(".")
        else "contains a control character" if any(ord(c) < 32 or ord(c) == 127 for c in name)
        else f"is longer than {FILE_NAME_BYTES} bytes" if len(name.encode("utf-8", "surrogatepass"))
        > FILE_NAME_BYTES
        else "")
    if problem:
        raise ValueError(f"{kind} name {name!r} {problem}: it names a file in the claim's report "
                         "folder, so it must be a plain file name (letters, digits, '-', '_')")
    return name


@dataclass(frozen=True)
class Figure:
    """A figure saved as `<name>.png` in the claim's report folder; `name` must be a plain file
    name (`plain_file_name`), checked when the figure is made."""

    name: str
    title: str
    panels: tuple[Panel, ...]
    columns: int = 1

    def __post_init__(self) -> None:
        plain_file_name("figure", self.name)


@dataclass(frozen=True)
class Table:
    """A table rendered in the Markdown report and serialized in the JSON; a column of measured
    wall times holds `Duration` cells. Its `name` is held to the rules of a figure's
    (`plain_file_name`), so that a writer may put it in a file name."""

    name: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]

    def __post_init__(self) -> None:
        plain_file_name("table", self.name)


@dataclass(frozen=True)
class LayerResult:
    """What one layer of a claim returned. `error` is set when the layer raised. `log`: what the
    layer printed on stdout and stderr, when it ran in a child process (`verify`'s isolated run);
    written to the claim's log.txt, never into report.json."""

    layer: Layer
    checks: tuple[Check, ...] = ()
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    wall_s: float = 0.0
    error: str | None = None
    log: str = ""


@dataclass(frozen=True)
class Environment:
    """Everything needed to reproduce a verdict."""

    seed: int
    precision_digits: int
    device: str
    dtype: str
    quick: bool
    versions: Mapping[str, str]
    wall_s: float
    scale: str = "full"
    data: tuple[tuple[str, str, str], ...] = ()
    """The user's data files given to the run (`--data`): (name, path, SHA-256) each. Which data
    a claim used is in its layers' notes ("data used (NAME): ..."); a claim with no such note
    reads none of them."""
    rigorous: bool = False
    """Whether the numeric layers' exact margins were certified in ball arithmetic
    (`verify --rigorous`)."""

    @property
    def settings(self) -> RunSettings:
        """The settings the claim's numbers depend on, worded as every report states them."""
        return RunSettings(self.seed, self.precision_digits, self.device, self.dtype, self.scale,
                           self.rigorous)


@dataclass(frozen=True)
class ExponentSpread:
    """One fitted check's exponent over the seeds of a replicated run.

    check: the check's name; seeds, exponents, verdicts: per seed, in seed order.
    mean, sd (sample standard deviation, ddof 1), minimum, maximum: of the per-seed exponents.
    pooled_low, pooled_high: the `level` Student-t interval of the mean of the K per-seed
        exponents, mean -+ t(level, K - 1) sd / sqrt(K); None for K < 2.
    """

    check: str
    seeds: tuple[int, ...]
    exponents: tuple[float, ...]
    verdicts: tuple[Verdict, ...]
    mean: float
    sd: float | None
    minimum: float
    maximum: float
    pooled_low: float | None
    pooled_high: float | None
    level: float = 0.95


@dataclass(frozen=True)
class Replicates:
    """A claim run under K master seeds (seed, seed + 1, ...).

    seeds, verdicts: each seed's claim verdict. split: the verdict counts in words
    ("consistent 2/3, violated 1/3"). exponents: the spread of every check with a fit, over the
    seeds where it was fitted. The claim's verdict is the one all seeds agree on, else
    inconclusive; its layers are those of the first seed.
    """

    seeds: tuple[int, ...]
    verdicts: tuple[Verdict, ...]
    split: str
    exponents: tuple[ExponentSpread, ...] = ()


@dataclass(frozen=True)
class SourceFingerprint:
    """The SHA-256 of the files that define a claim (`optverify.verify.fingerprint`).

    sha256: one file's own digest, or the digest of several files' `<digest>  <name>` lines.
    files: the files' names (relative to the package's parent for a built-in claim, else absolute).
    """

    sha256: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Tally:
    """How many of a claim's decisive checks are consistent: `str()` is "k/n decisive
    consistent"."""

    consistent: int
    decisive: int

    def __str__(self) -> str:
        return f"{self.consistent}/{self.decisive} decisive consistent"


@dataclass(frozen=True)
class ClaimResult:
    """A claim's layers, its combined verdict and the environment it ran in.

    origin: where the claim came from: "built-in", "entry point NAME (DIST)" or "file PATH".
    replicates: set when the claim ran under several master seeds (`verify --seeds K`).
    claim_source: the SHA-256 of the claim's files when it ran (None where they are unknown).
    """

    claim: str
    title: str
    source: str
    bound: str
    origin: str
    assumptions: tuple[str, ...]
    verdict: Verdict
    layers: tuple[LayerResult, ...]
    environment: Environment
    replicates: Replicates | None = None
    claim_source: SourceFingerprint | None = None

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(check for layer in self.layers for check in layer.checks)

    @property
    def main_checks(self) -> tuple[Check, ...]:
        """The checks that decide the claim's main bound."""
        return tuple(check for check in self.checks if check.main)

    @property
    def decisive_checks(self) -> tuple[Check, ...]:
        """The checks that decide the claim's verdict."""
        return tuple(check for check in self.checks if check.decisive)

    @property
    def decisive_tally(self) -> Tally:
        """How many decisive checks are consistent (a count of the recorded verdicts)."""
        decisive = self.decisive_checks
        return Tally(sum(check.verdict is Verdict.CONSISTENT for check in decisive), len(decisive))

    @property
    def reported_findings(self) -> tuple[Check, ...]:
        """The checks reported beside the verdict, which they do not decide: not decisive and not
        sanity checks (e.g. a statement as written beside the corrected one that was measured)."""
        return tuple(check for check in self.checks if check.role is Role.REPORTED)

    @property
    def findings_not_consistent(self) -> tuple[Check, ...]:
        """The reported findings whose verdict is not consistent."""
        return tuple(check for check in self.reported_findings
                     if check.verdict is not Verdict.CONSISTENT)

    def __repr__(self) -> str:
        return (f"<ClaimResult {self.claim}: {self.verdict.value} ({self.decisive_tally}), "
                f"{self.environment.scale}, seed {self.environment.seed}>")

    def _repr_html_(self) -> str:
        """The claim in a Jupyter cell: verdict, checks, figures (the HTML report's templates)."""
        from optverify.verify.html import claim_notebook_html  # the renderer sits above

        return claim_notebook_html(self)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(figure for layer in self.layers for figure in layer.figures)


@dataclass(frozen=True)
class RunResult:
    """The results of a run over several claims, in the order they were asked for."""

    config: RunConfig
    claims: tuple[ClaimResult, ...]
    wall_s: float

    @property
    def exit_code(self) -> int:
        """0: none violated or errored; 1: a claim violated; 3: a claim raised an error."""
        verdicts = {result.verdict for result in self.claims}
        if Verdict.VIOLATED in verdicts:
            return 1
        if Verdict.ERROR in verdicts:
            return 3
        return 0

    @property
    def verdict_counts(self) -> dict[Verdict, int]:
        """How many claims came out with each verdict, every verdict in `Verdict`'s order (0 for
        those none came out with)."""
        return {verdict: sum(result.verdict is verdict for result in self.claims)
                for verdict in Verdict}

    def __repr__(self) -> str:
        verdicts = ", ".join(f"{result.claim} {result.verdict.value}" for result in self.claims)
        return f"<RunResult {len(self.claims)} claims in {self.wall_s:.1f} s: {verdicts}>"

    def _repr_html_(self) -> str:
        """The run in a Jupyter cell: one row per claim, as the HTML summary shows it."""
        from optverify.verify.html import run_notebook_html  # the renderer sits above

        return run_notebook_html(self)
