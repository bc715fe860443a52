"""Time each registered claim's quick run, layer by layer (target: under 20 s per claim)."""

import time

from optverify.config import RunConfig
from optverify.verify import registry
from optverify.verify.runner import run_claim


def main() -> None:
    for claim_id, claim in registry.builtin_claims().items():
        start = time.perf_counter()
        result = run_claim(claim, RunConfig(quick=True))
        layers = ", ".join(f"{layer.layer.value} {layer.wall_s:.2f} s" for layer in result.layers)
        print(f"{claim_id:32s} {time.perf_counter() - start:7.2f} s  ({layers})  {result.verdict.value}")


if __name__ == "__main__":
    main()
