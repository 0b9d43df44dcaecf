"""How the measures measure: best-of-repeats times, peak CPU allocator memory, counted floating-point operations."""

import itertools
import math
import time
import warnings
from collections.abc import Callable

from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode


def best_times(*functions: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of the fastest of `repeats` calls of each function, after `warmup` untimed ones. The functions
    take turns, so that a burst of load from other processes hits them alike."""
    for function in functions:
        for _ in range(warmup):
            function()
    times = [math.inf] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            times[index] = min(times[index], time.perf_counter() - start)
    return times


def peak_cpu_memory(function: Callable[[], object]) -> int:
    """Peak bytes held by torch's CPU allocator during one call, from the profiler's allocation records."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Profiler clears events at the end of each cycle": one cycle here
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as recording:
            function()
    records = [event for event in recording.profiler.kineto_results.events() if event.name() == "[memory]"]
    records.sort(key=lambda event: event.start_ns())
    return max(itertools.accumulate((event.nbytes() for event in records), initial=0))


def counted_flops(function: Callable[[], object]) -> int:
    """Floating-point operations of one call (matmuls, convolutions, attention), independent of machine load."""
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()
