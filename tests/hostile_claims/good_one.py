"""A claim that runs normally, beside the hostile ones."""

from tests.toy_claims import toy_claim

CLAIM = toy_claim("good-one")
