#!/usr/bin/env python3
"""Peer measurements for bench 'runtime': the same quantities through PyTorch on the same GPU.

Usage: python3 bench/peer/runtime_peer.py OUT.jsonl
Writes JSON lines with the names RuntimeBenchmark uses, so BenchMain --peer can pair them.
Launch overhead here is torch's per-op cost (a one-element fill_), which includes its dispatcher.
"""
import json
import statistics
import sys

import torch

REPEATS = 7
UNITS = {"launch": "us", "copy": "GB/s"}


def timed(work):
    """Device microseconds of one run of work, after one warm-up run."""
    work()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    work()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) * 1000.0


def main(out_path):
    dev = torch.device("cuda")
    tiny = torch.empty(64, device=dev)
    launches = 20_000
    records = {}

    def many_fills():
        for _ in range(launches):
            tiny[:1].fill_(1.0)

    records["launch.plain.back_to_back"] = statistics.median(timed(many_fills) / launches for _ in range(REPEATS))

    kernels, replays = 200, 100
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            tiny[:1].fill_(1.0)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(kernels):
            tiny[:1].fill_(1.0)

    def replay():
        for _ in range(replays):
            graph.replay()

    records["launch.graph_replay.per_kernel"] = statistics.median(
        timed(replay) / (kernels * replays) for _ in range(REPEATS))

    nbytes = 512 << 20
    host = torch.ones(nbytes, dtype=torch.uint8).pin_memory()
    device = torch.empty(nbytes, dtype=torch.uint8, device=dev)
    records["copy.pinned_host_to_device"] = statistics.median(
        nbytes / (timed(lambda: device.copy_(host, non_blocking=True)) * 1e3) for _ in range(REPEATS))
    records["copy.device_to_pinned_host"] = statistics.median(
        nbytes / (timed(lambda: host.copy_(device, non_blocking=True)) * 1e3) for _ in range(REPEATS))

    big = 2 << 30
    a = torch.full((big,), 3, dtype=torch.uint8, device=dev)
    b = torch.empty_like(a)
    records["copy.device_to_device"] = statistics.median(
        2 * big / (timed(lambda: b.copy_(a)) * 1e3) for _ in range(REPEATS))

    with open(out_path, "w") as f:
        for name, value in records.items():
            f.write(json.dumps({"name": name, "value": value, "unit": UNITS[name.split(".")[0]],
                                "commit": "torch " + torch.__version__}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
