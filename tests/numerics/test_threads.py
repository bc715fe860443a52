"""The run's thread policy: one torch and one BLAS thread per CPU layer, restored afterwards."""

import pytest
import torch
from threadpoolctl import threadpool_info

from optverify.numerics.threads import CPU_THREADS, layer_threads, single_threaded_on_cpu


@pytest.fixture(autouse=True)
def two_torch_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_a_cpu_layer_runs_on_one_torch_and_one_blas_thread_and_the_counts_come_back():
    before = _blas_threads()
    with single_threaded_on_cpu("cpu"):
        assert torch.get_num_threads() == CPU_THREADS == 1
        assert set(_blas_threads()) <= {CPU_THREADS}
    assert torch.get_num_threads() == 2 and _blas_threads() == before


def test_a_gpu_layer_keeps_the_torch_thread_count():
    assert layer_threads("cuda") == 2 and layer_threads("cpu") == CPU_THREADS
    with single_threaded_on_cpu("cuda"):
        assert torch.get_num_threads() == 2
