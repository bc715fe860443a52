"""Every built-in claim gives the same verdicts at high precision as at 50 digits (issue 19,
item 5): floors and tolerances stay mpmath numbers end to end, so 10^-(digits - 10) is never a
float that rounded to 0.0 (from 324 digits on).

Precision enters only the numeric layer (`session.record_layer` sets mpmath's digits for it alone;
no symbolic or experiment layer reads `s.precision` or `s.floor()`), so each claim's numeric layer
is run, in quick mode, at 50 digits and at the higher precision, and every check's verdict and
every control's verdict must agree. Measured (quick numeric layers at 500 digits, shared 2-core
machine at load 8-26, all 12 claims equal to their 50-digit verdicts): jacobian-products 756 s
(mp.quad of the chi-square log moments at full precision), end-to-end-preconditioner 140 s,
saxe-dynamics 75 s, deficiency-margin-convergence 73 s, pwl-conditioning 43 s,
orthogonal-gradient-variance 36 s, balancedness 31 s, saddle-points 11 s, flat-activations 11 s,
linear-interpolation 9 s, depth-acceleration 0.6 s, end-to-end-snr 0.1 s: a slow test.
2000 digits is not tested: end-to-end-preconditioner's quick numeric layer alone had not finished
after 30 minutes there (its quadratures and eigensolvers at 2000 digits), so no run confirmed it.
"""

import pytest

from optverify.config import RunConfig
from optverify.results import Layer
from optverify.session import no_progress
from optverify.verify import registry
from optverify.verify.runner import run_layer

BASE_DIGITS = 50
CLAIM_IDS = list(registry.BUILTIN_IDS)


def numeric_verdicts(claim_id: str, digits: int) -> tuple[dict, str | None]:
    """Check name -> (verdict, control verdicts) of the claim's quick numeric layer."""
    claim = registry.builtin_claim(claim_id)
    result = run_layer(claim, Layer.NUMERIC, claim.numeric,
                       RunConfig(quick=True, seed=0, precision=digits), no_progress)
    return ({check.name: (check.verdict.value, [control.verdict.value
                                                for control in check.controls])
             for check in result.checks}, result.error)


@pytest.mark.slow
@pytest.mark.parametrize("digits", [500])
@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_numeric_verdicts_at_high_precision_equal_those_at_50_digits(claim_id, digits):
    base, base_error = numeric_verdicts(claim_id, BASE_DIGITS)
    high, high_error = numeric_verdicts(claim_id, digits)
    assert base_error is None and high_error is None, high_error
    assert high == base
