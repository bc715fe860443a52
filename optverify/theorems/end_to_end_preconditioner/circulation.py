"""Theorem 2 (Section 5) of Arora, Cohen, Hazan (2018), arXiv:1802.06509, at mpmath precision: the
circulation of the single-output (k = 1) end-to-end field around a loop, by quadrature, is zero
for N = 2 and the linear loss (a gradient field) and non-zero for N > 2 (not a gradient field),
with Green's area integral of the symbolic curl as its twin (full runs) and the N = 2 anisotropic
quadratic loss as context.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
from mpmath import mp

from optverify.kit import Judgement, Session, Table, Verdict
from optverify.numerics.precision import describe_number, reportable
from optverify.theorems.end_to_end_preconditioner.preconditioner import single_output_direction_mp

LOOP_CENTRE = (1.5, 1.5)


LOOP_RADIUS = 1.0


ANISOTROPY = 3.0


@dataclass(frozen=True)
class Circulation:
    """oint F . dw of the k = 1 field around the test loop, and mpmath's quadrature error
    estimate, at the working precision."""

    value: mpmath.mpf
    error: mpmath.mpf

    def resolved(self, floor: mpmath.mpf) -> bool:
        """The quadrature error is below the floor, so the value is decided (compared as mpmath
        numbers: a float floor would be 0.0 beyond 323 digits)."""
        return self.error < floor

    def nonzero(self, floor: mpmath.mpf) -> bool:
        return abs(self.value) > floor


def circulation(depth: int, grad, centre=LOOP_CENTRE, radius=LOOP_RADIUS) -> Circulation:
    """oint F . dw of the k = 1 field F(w) = Eq. 12 with gradient field
    `grad(x, y) -> (g_x, g_y)`, around the circle of `radius` about `centre` (w != 0 on it)."""
    cx, cy, rad = mp.mpf(centre[0]), mp.mpf(centre[1]), mp.mpf(radius)

    def integrand(theta):
        x, y = cx + rad * mp.cos(theta), cy + rad * mp.sin(theta)
        fx, fy = single_output_direction_mp([x, y], list(grad(x, y)), depth)
        return rad * (-fx * mp.sin(theta) + fy * mp.cos(theta))

    value, error = mp.quad(integrand, [0, mp.pi, 2 * mp.pi], error=True)
    return Circulation(value, error)


def linear_gradient(x, y):
    """g of the linear loss L(w) = w_x."""
    return mp.one, mp.zero


def anisotropic_gradient(x, y):
    """g of L(w) = (w_x^2 + kappa w_y^2) / 2, kappa = ANISOTROPY."""
    return x, ANISOTROPY * y


def green_circulation(depth: int, centre=LOOP_CENTRE, radius=LOOP_RADIUS,
                      coefficient_shift=0) -> mpmath.mpf:
    """Green's theorem twin for the linear loss: the area integral over the disk of the curl
    (N - 1 - (2 - 2/N)) y ||w||^{-2/N} proved in the symbolic layer (coefficient_shift = 1: the
    negative control's wrong coefficient N - (2 - 2/N))."""
    cx, cy = mp.mpf(centre[0]), mp.mpf(centre[1])
    exponent = 2 - mp.mpf(2) / depth
    coefficient = depth - 1 - exponent + coefficient_shift
    if coefficient == 0:
        return mp.zero

    def curl(r, theta):
        x, y = cx + r * mp.cos(theta), cy + r * mp.sin(theta)
        return coefficient * y * (x * x + y * y) ** (exponent / 2 - 1) * r

    return mp.quad(curl, [0, mp.mpf(radius)], [0, mp.pi, 2 * mp.pi])


@dataclass(frozen=True)
class GreenTwin:
    """The linear loss's line integral against Green's area integral: residual |line - area| /
    max(|area|, 1), the area integral, and the residual against the area integral of the wrong
    curl coefficient N - (2 - 2/N) (the negative control)."""

    residual: mpmath.mpf
    area_integral: float
    wrong_residual: mpmath.mpf = mp.zero


def green_twin(depth: int) -> GreenTwin:
    line = circulation(depth, linear_gradient).value
    green = green_circulation(depth)
    wrong = green_circulation(depth, coefficient_shift=1)
    return GreenTwin(abs(line - green) / max(abs(green), mp.one), float(green),
                     abs(line - wrong) / max(abs(wrong), mp.one))


LOOP = f"the circle of radius {LOOP_RADIUS} about {LOOP_CENTRE}"


def _circulation_verdict(value: Circulation, floor: float) -> Verdict:
    if not value.resolved(floor):
        return Verdict.INCONCLUSIVE
    return Verdict.CONSISTENT if value.nonzero(floor) else Verdict.VIOLATED


def circulation_judge(floor: float):
    """The judge of "the circulation is non-zero": consistent when the quadrature resolves it
    above the floor, violated when it resolves it as zero, inconclusive when the quadrature error
    exceeds the floor."""
    def judge(value: Circulation) -> Judgement:
        verdict = _circulation_verdict(value, floor)
        return Judgement(verdict, f"circulation {describe_number(value.value, 6)} (quadrature "
                         f"error {describe_number(value.error, 2)}, floor "
                         f"{describe_number(floor, 2)}): {verdict.value}",
                         {"circulation": reportable(value.value),
                          "quadrature_error": reportable(value.error),
                          "floor": reportable(floor)})
    return judge


def record_circulations(s: Session, linear: dict[int, Circulation], green: dict[int, GreenTwin],
                        quadratic: Circulation, floor: float) -> None:
    """Theorem 2 in mpmath: the k = 1 field's circulation, zero only for N = 2 and the linear
    loss. Each decisive check's control is the circulation of a field where the answer is the
    opposite: the N = 3 field (not a gradient) for the N = 2 identity, the N = 2 field (a
    gradient) for the N > 2 checks. linear: the linear loss's circulation per depth; green:
    Green's twin per depth (full runs); quadratic: the N = 2 anisotropic quadratic loss's."""
    n2 = linear[2]
    non_gradient = {depth: value for depth, value in linear.items() if depth > 2}
    s.identity("circulation-n2-linear-loss",
               f"N = 2, L(w) = w_x: the k = 1 field is a gradient (Phi = ||w|| w_x), so its "
               f"circulation around {LOOP} vanishes", abs(n2.value), floor,
               values={"quadrature_error": reportable(n2.error)},
               controls={f"the N = {depth} field (Theorem 2: not a gradient), same loop":
                         abs(value.value) for depth, value in non_gradient.items()})
    judge = circulation_judge(floor)
    for depth, value in non_gradient.items():
        s.decide(f"circulation-n{depth}-linear-loss",
                 f"Theorem 2, N = {depth}: the k = 1 field for L(w) = w_x is not a gradient "
                 f"field: its circulation oint F . dw around {LOOP} (mpmath quadrature) is "
                 "non-zero", judge, value,
                 controls={"the N = 2 field (a gradient: zero circulation), same loop": n2})
    for depth, twin in green.items():
        s.identity(f"circulation-green-twin-n{depth}",
                   f"N = {depth}, L(w) = w_x: the line integral equals Green's area integral of "
                   "the symbolic curl (N - 1 - (2 - 2/N)) y ||w||^{-2/N} over the disk",
                   twin.residual, floor, values={"green_integral": twin.area_integral},
                   controls={"Green's integral of the wrong curl coefficient N - (2 - 2/N)":
                             twin.wrong_residual})
    verdict = _circulation_verdict(quadratic, floor)
    s.check("circulation-n2-quadratic-loss",
            f"context, not Theorem 2 (which is about N > 2), so not decisive: N = 2 is a "
            f"gradient field only for special losses: for L(w) = (w_x^2 + {ANISOTROPY:g} "
            "w_y^2) / 2 the k = 1 field has non-zero circulation (curl (1 - kappa) x y / ||w||); "
            "the N = 2 field has a potential for the linear loss, not for every loss "
            "(violated if the quadrature resolves a zero circulation)", verdict,
            f"circulation {describe_number(quadratic.value, 6)} (quadrature error "
            f"{describe_number(quadratic.error, 2)}, floor {describe_number(floor, 2)}): "
            f"{verdict.value}", decisive=False,
            values={"circulation": reportable(quadratic.value)})


def circulation_table(linear: dict[int, Circulation], quadratic: Circulation,
                      floor: float) -> Table:
    rows = [(depth, "linear L = w_x",
             describe_number(c.value, 6) if c.nonzero(floor) else "below precision",
             describe_number(c.error, 2)) for depth, c in linear.items()]
    rows.append((2, f"quadratic kappa = {ANISOTROPY:g}", describe_number(quadratic.value, 6),
                 describe_number(quadratic.error, 2)))
    return Table("circulation", "Circulation of the k = 1 field around the test loop",
                 ("N", "loss", "circulation", "quadrature error"), tuple(rows))
