"""A user's claim file with a false inequality beside a true one: "log is convex" written as
log((a + b) / 2) <= (log a + log b) / 2 (false: log is concave), and its true reversal."""

from optverify.kit import Bound, Claim, RealRange, Session, Source

BOX = {"a": RealRange("1/10", 10), "b": RealRange("1/10", 10)}


def convex_log_margin(x, m):
    return (m.log(x["a"]) + m.log(x["b"])) / 2 - m.log((x["a"] + x["b"]) / 2)


def concave_log_margin(x, m):
    return -convex_log_margin(x, m)


def numeric(s: Session) -> None:
    s.search("log-convex", "log((a + b)/2) <= (log a + log b)/2", convex_log_margin, BOX)
    s.search("log-concave", "log((a + b)/2) >= (log a + log b)/2", concave_log_margin, BOX)


CLAIM = Claim(id="false-jensen", title="log is convex (false) and concave (true)",
              source=Source(paper="a user's notes", theorem="Jensen for log"),
              bound=Bound.inequality("log((a + b)/2) <= (log(a) + log(b))/2"), numeric=numeric)
