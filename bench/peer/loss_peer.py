#!/usr/bin/env python3
"""Peer measurements for bench 'loss': torch's LM head and cross-entropy, unfused, on the same shapes.

Usage: python3 bench/peer/loss_peer.py OUT.jsonl
logits = F.linear(hidden, weight), loss = F.cross_entropy(logits.float(), targets) (HF upcasts the logits to
float32 before the loss), dH = d loss / d hidden; the head weight is frozen. Vocabulary 128,256, hidden size 4096,
bf16, at 4,096 and 32,768 tokens. Records, with the names and units LossBenchmark uses so that BenchMain --peer
can pair them: milliseconds for loss and dH, and the peak memory allocated beyond the inputs during the call
(torch.cuda.max_memory_allocated over memory_allocated before it; dH included, as in jtune's figure), written
under both of jtune's memory names (workspace from the chunk choice, and the driver's measure).
"""
import json
import statistics
import sys

import torch
import torch.nn.functional as F

REPEATS = 5
VOCAB, DIM = 128256, 4096
TOKENS = [4096, 32768]
MIB = float(1 << 20)


def millis(work):
    """Device milliseconds of one run of work, after one warm-up run."""
    work()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    work()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def main(out_path):
    dev = torch.device("cuda")
    weight = torch.empty(VOCAB, DIM, device=dev, dtype=torch.bfloat16).uniform_(-0.02, 0.02)
    records = []
    for tokens in TOKENS:
        hidden = torch.empty(tokens, DIM, device=dev, dtype=torch.bfloat16).uniform_(-1, 1).requires_grad_()
        targets = torch.randint(0, VOCAB, (tokens,), device=dev)

        def step():
            logits = F.linear(hidden, weight)
            loss = F.cross_entropy(logits.float(), targets)
            (d_hidden,) = torch.autograd.grad(loss, (hidden,))
            return loss, d_hidden

        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        result = step()
        torch.cuda.synchronize()
        extra = torch.cuda.max_memory_allocated() - base
        del result
        ms = statistics.median(millis(step) for _ in range(REPEATS))
        prefix = f"loss.t{tokens}_v{VOCAB}_d{DIM}."
        records += [
            (prefix + "ms", ms, "ms"),
            (prefix + "extra.mib", extra / MIB, "MiB"),
            (prefix + "extra_driver.mib", extra / MIB, "MiB"),
        ]
        del hidden, targets
        torch.cuda.empty_cache()
    with open(out_path, "w") as f:
        for name, value, unit in records:
            f.write(json.dumps({"name": name, "value": value, "unit": unit,
                                "commit": "torch " + torch.__version__}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
