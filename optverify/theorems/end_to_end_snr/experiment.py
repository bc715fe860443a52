"""Experiment layer of `end-to-end-snr` (torch): Setting II (`setting_two`: the Monte-Carlo SNR of
the end-to-end and the decomposition gradient vs k, whose variance ratio Theta(k) is the claim's
main bound; Setting I's tuple signal; SGD training curves), then Setting I (`setting_one`: the SNR
of the line-image CNN's last layer at initialization and the race of both approaches to a target
held-out accuracy).

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 3 (Settings I and II,
Fig. 5).
"""

from __future__ import annotations

from optverify.kit import Session
from optverify.theorems.end_to_end_snr import setting_one, setting_two


def verify(s: Session) -> None:
    """Setting II, then Setting I."""
    setting_two.verify(s)
    setting_one.verify(s)
