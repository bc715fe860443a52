"""A plausible but false textbook inequality, found and certified: GD's sufficient decrease.

The descent lemma (Nesterov 2004, Lemma 1.2.3) says that one gradient step x+ = x - eta f'(x) on
an L-smooth function decreases it by at least eta (1 - L eta / 2) |f'(x)|^2, so any eta < 2/L
decreases f. A common misquotation keeps the step-size condition and the simple constant:
"for every eta < 2/L, f(x) - f(x+) >= (eta / 2) |f'(x)|^2". It holds for eta <= 1/L and is false
beyond: on f(x) = L x^2 / 2 the decrease is (L x^2 / 2) eta L (2 - eta L), and the margin of the
misquoted inequality is (eta L^2 x^2 / 2)(1 - eta L).

The numeric layer hunts for an instance (L, eta L, x) that breaks it (`s.search`) and certifies
the counter-example in ball arithmetic; the same inequality for eta <= 1/L is searched the same
way and survives (a search, not a proof: reported with its budget and smallest margin).
Run it: `verify run examples/sufficient_decrease.py --quick` (violated, exit 1).
"""

from optverify.kit import Bound, Claim, RealRange, Session, Source

DOMAIN = {
    "L": RealRange("1/10", 10, log=True),
    "h": RealRange("1/100", "199/100"),  # the step as a fraction of 1/L: eta = h / L < 2 / L
    "x": RealRange(-10, 10),
}


def decrease(x, m):
    """f(x) - f(x+) for f = L x^2 / 2 after one step of size eta = h / L."""
    smoothness, step, point = x["L"], x["h"] / x["L"], x["x"]
    after = point - step * smoothness * point
    return smoothness * point ** 2 / 2 - smoothness * after ** 2 / 2


def misquoted_margin(x, m):
    """decrease - (eta / 2) |f'(x)|^2: the misquoted sufficient decrease."""
    step, gradient = x["h"] / x["L"], x["L"] * x["x"]
    return decrease(x, m) - step / 2 * gradient ** 2


SHORT_STEPS = {**DOMAIN, "h": RealRange("1/100", 1)}
"""The misquotation's true part: steps eta <= 1/L."""


def numeric(s: Session) -> None:
    s.search("misquoted-sufficient-decrease",
             "for every L-smooth f and eta < 2/L: f(x) - f(x - eta f'(x)) >= (eta/2) |f'(x)|^2 "
             "(searched on f = L x^2 / 2)", misquoted_margin, DOMAIN)
    s.search("sufficient-decrease-short-steps",
             "for eta <= 1/L: f(x) - f(x - eta f'(x)) >= (eta/2) |f'(x)|^2 (searched on "
             "f = L x^2 / 2)", misquoted_margin, SHORT_STEPS)


CLAIM = Claim(
    id="sufficient-decrease",
    title="GD with any eta < 2/L decreases f by at least (eta/2)|f'|^2 (a misquoted descent lemma)",
    source=Source(paper="Nesterov (2004), Introductory Lectures on Convex Optimization",
                  theorem="Lemma 1.2.3, misquoted"),
    bound=Bound.inequality("decrease >= eta * gradient**2 / 2"),
    numeric=numeric,
)
