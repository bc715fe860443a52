"""HTML view model and pages: escaping, the arXiv link, every check shown, 'below precision' shown
as such, no external resource, the summary's rule for claim pages of earlier runs."""

import math
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optverify.config import RunConfig
from optverify.numerics.precision import BELOW_PRECISION
from optverify.results import (
    Check,
    Duration,
    ExponentSpread,
    Layer,
    LayerResult,
    Replicates,
    RunResult,
    Table,
    Verdict,
)
from optverify.verify import html
from optverify.verify.runner import run, run_claim
from tests.toy_claims import CONSISTENT, RAISING, VIOLATED

SCRIPT = "<script>alert('x')</script>"


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(page: str) -> _Elements:
    elements = _Elements()
    elements.feed(page)
    return elements


@pytest.fixture(scope="module")
def consistent():
    return run_claim(CONSISTENT, RunConfig(seed=1))


def test_a_title_with_markup_is_escaped_on_both_pages(consistent):
    hostile = replace(consistent, title=SCRIPT, assumptions=(f"x > 0 {SCRIPT}",))
    claim_page = html.claim_html(hostile)
    summary_page = html.summary_html(RunResult(RunConfig(), (hostile,), 1.0))
    for page in (claim_page, summary_page):
        assert "<script" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        assert not any(tag == "script" for tag, _ in parsed(page).tags)


def test_a_check_detail_with_markup_is_escaped(consistent):
    layer = consistent.layers[0]
    check = replace(layer.checks[0], detail='"><img src=x onerror=alert(1)>')
    hostile = replace(consistent, layers=(replace(layer, checks=(check,)), *consistent.layers[1:]))
    page = html.claim_html(hostile)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_source_links_to_its_arxiv_abstract(consistent):
    page = html.claim_html(consistent)
    links = [attrs["href"] for tag, attrs in parsed(page).tags if tag == "a"]
    assert "https://arxiv.org/abs/0000.00000" in links


@pytest.mark.parametrize("source, url", [
    ("Theorem 1 of A (2017), arXiv:1703.07950", "https://arxiv.org/abs/1703.07950"),
    ("Theorem 1 of A (2017), arXiv:1703.07950v2", "https://arxiv.org/abs/1703.07950v2"),
    ("Lemma 2 of B (1999), arXiv:math.OC/9901001", "https://arxiv.org/abs/math.OC/9901001"),
    ("Theorem 1 of A (2017)", ""),
    ("Theorem 1 of A (2017), arXiv:not an id", ""),
    ('Theorem 1 of A, arXiv:"><script>', ""),
])
def test_arxiv_url_only_for_a_cited_arxiv_id(source, url):
    assert html.arxiv_url(source) == url


def test_a_source_without_arxiv_id_has_no_arxiv_link(consistent):
    page = html.claim_html(replace(consistent, source="Theorem 1 of Nobody (2024)"))
    assert "arxiv.org" not in page


@pytest.mark.parametrize("claim", [CONSISTENT, VIOLATED, RAISING], ids=lambda claim: claim.id)
def test_every_check_is_on_the_page_with_its_verdict(claim):
    result = run_claim(claim, RunConfig(seed=1))
    page = html.claim_html(result)
    tags = parsed(page).tags
    articles = {attrs["id"]: attrs["class"] for tag, attrs in tags if tag == "article"}
    assert len(articles) == len(result.checks)
    for check in result.checks:
        assert articles[html.check_anchor(check)] == f"check c-{check.verdict.value}"
        assert f"#{html.check_anchor(check)}" in {attrs.get("href") for tag, attrs in tags}
    assert f'class="badge v-{result.verdict.value} big"' in page


def test_main_sanity_and_reported_checks_are_labelled(consistent):
    layer = consistent.layers[0]
    base = layer.checks[0]
    sanity = replace(base, name="tautology", sanity=True, decisive=False)
    reported = replace(base, name="as-written", decisive=False)
    labelled = replace(consistent, layers=(replace(layer, checks=(base, sanity, reported)),
                                           *consistent.layers[1:]))
    views = {view.name: view for view in html.claim_page(labelled).checks}
    assert views["tautology"].role.startswith("sanity check")
    assert views["as-written"].role == "reported, not decisive"
    assert views["square-rate"].role == "main statement"
    page = html.claim_html(labelled)
    assert page.count('class="tag main"') == 2  # in the overview and on the check itself
    assert page.count('class="tag sanity"') == 2


def test_fit_interval_and_local_slopes_are_shown(consistent):
    check = next(check for check in consistent.checks if check.fit is not None)
    view = html.fit_view(check.fit)
    assert view.exponent.text == f"{check.fit.exponent:.6g}"
    assert f"[{check.fit.ci.low:.4g}, {check.fit.ci.high:.4g}]" in view.interval
    assert [cell.text for cell in view.local_slopes] == [f"{s:.4g}" for s in check.fit.local_slopes]
    page = html.claim_html(consistent)
    assert view.interval in page and all(cell.text in page for cell in view.local_slopes)
    assert html.headline(consistent).startswith("square-rate: exponent ")


def test_below_precision_values_are_shown_as_such_never_as_numbers(consistent):
    check = Check(Layer.NUMERIC, "tiny", "a tiny quantity", Verdict.INCONCLUSIVE,
                  values={"gap": BELOW_PRECISION, "ratio": 0.5})
    table = Table("t", "A table with a tiny cell", ("d", "gap"), ((2, BELOW_PRECISION), (3, 1e-3)))
    layer = LayerResult(Layer.NUMERIC, checks=(check,), tables=(table,))
    page = html.claim_html(replace(consistent, layers=(layer,)))
    marked = re.findall(r'<span class="below-precision">([^<]*)</span>', page)
    assert marked == [BELOW_PRECISION, BELOW_PRECISION]
    assert html.cell(BELOW_PRECISION) == html.Cell(BELOW_PRECISION, below_precision=True)
    assert html.cell(1e-300) == html.Cell("1e-300", numeric=True)


@pytest.mark.parametrize("value, text", [
    (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (3, "3"), (True, "True"),
    (0.1234567891, "0.123457"), (None, ""), ("text", "text"),
])
def test_cells(value, text):
    assert html.cell(value).text == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_numbers_round_trip_to_six_digits(value):
    assert float(html.cell(value).text) == pytest.approx(value, rel=1e-5, abs=0)


def test_pages_load_nothing_from_outside(consistent):
    result = run([CONSISTENT, VIOLATED], RunConfig(seed=1))
    for page in (html.claim_html(consistent), html.summary_html(result)):
        tags = parsed(page).tags
        assert not any(tag in ("script", "link", "iframe") for tag, _ in tags)
        sources = [attrs["src"] for tag, attrs in tags if "src" in attrs]
        assert all(not re.match(r"[a-z]+:|//", source) for source in sources)
        assert '<meta name="viewport"' in page and "@media print" in page


def test_figures_are_the_pngs_beside_the_page(consistent):
    tags = parsed(html.claim_html(consistent)).tags
    assert [attrs["src"] for tag, attrs in tags if tag == "img"] == ["square.png"]


def test_summary_lists_this_runs_claims_then_links_earlier_pages():
    result = run([CONSISTENT, VIOLATED], RunConfig(seed=1))
    page = html.summary_page(result, earlier=["older-claim", CONSISTENT.id])
    assert [row.claim for row in page.claims] == [CONSISTENT.id, VIOLATED.id]
    assert [row.verdict for row in page.claims] == ["consistent", "violated"]
    assert [row.claim for row in page.earlier] == ["older-claim"]
    text = html.summary_html(result, earlier=["older-claim"])
    hrefs = [attrs["href"] for tag, attrs in parsed(text).tags if tag == "a"]
    assert hrefs == [f"{CONSISTENT.id}/index.html", f"{VIOLATED.id}/index.html",
                     "older-claim/index.html"]
    assert "1 consistent" in text and "1 violated" in text


def test_pages_state_the_results_decisive_tally():
    result = run_claim(VIOLATED, RunConfig(seed=1))
    assert html.claim_page(result).tally == str(result.decisive_tally)
    assert html.summary_row(result).tally == str(result.decisive_tally)


def test_environment_is_shown(consistent):
    view = html.environment_view(consistent.environment)
    settings = {row.label: row.cell.text for row in view.settings}
    assert settings["seed"] == "1" and settings["dtype"] == "float64"
    assert settings["device"] == "cpu"
    assert settings["precision"].startswith("50 digits") and settings["scale"] == "full"
    page = html.claim_html(consistent)
    assert all(version in page for version in consistent.environment.versions.values())


def test_an_error_layer_shows_its_message():
    page = html.claim_html(run_claim(RAISING, RunConfig(seed=1)))
    assert "RuntimeError: the experiment broke" in page and 'class="error-box"' in page


def test_seed_replicates_show_each_seeds_verdict_and_the_exponent_spread(consistent):
    spread = ExponentSpread("square-rate", (1, 2, 3), (2.01, 1.99, 2.0),
                            (Verdict.CONSISTENT, Verdict.CONSISTENT, Verdict.VIOLATED),
                            mean=2.0, sd=0.01, minimum=1.99, maximum=2.01,
                            pooled_low=1.975, pooled_high=2.025)
    replicates = Replicates((1, 2, 3), (Verdict.CONSISTENT, Verdict.CONSISTENT, Verdict.VIOLATED),
                            "consistent 2/3, violated 1/3", (spread,))
    replicated = replace(consistent, verdict=Verdict.INCONCLUSIVE, replicates=replicates)
    view = html.claim_page(replicated).replicates
    assert [(row.label, row.cell.text) for row in view.verdicts] == [
        ("1", "consistent"), ("2", "consistent"), ("3", "violated")]
    assert view.spreads[0].pooled == "[1.975, 2.025]" and view.spreads[0].mean.text == "2"
    page = html.claim_html(replicated)
    assert "Seed replicates" in page and "consistent 2/3, violated 1/3" in page
    summary = html.summary_html(RunResult(RunConfig(), (replicated,), 1.0))
    assert "seeds: consistent 2/3, violated 1/3" in summary
    assert "Seed replicates" not in html.claim_html(consistent)


def test_a_measured_duration_is_shown_in_seconds():
    assert html.cell(Duration(0.012345)) == html.Cell("0.0123 s", numeric=True)
