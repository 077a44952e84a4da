#!/usr/bin/env python3
"""Peer measurements for bench 'attention': torch's scaled_dot_product_attention on the same shapes.

Usage: python3 bench/peer/attention_peer.py OUT.jsonl
Causal, grouped-query (enable_gqa=True), bf16: 32 query and 8 kv heads of dimension 128 (Llama-3-8B) at batch
2 x 2048 and 1 x 16384 tokens, forward and backward; 16 and 8 of dimension 256 with scale 1/sqrt(256)
(Gemma-3-12B) at batch 2 x 2048, forward only (as AttentionBenchmark); laid out as the model's projections produce
them ([batch, tokens, heads, d] viewed as [batch, heads, tokens, d]). Writes JSON lines with the names and units AttentionBenchmark uses, so
BenchMain --peer can pair them; TFLOP/s count only the causal (visible) score pairs, as there.
"""
import json
import statistics
import sys

import torch
import torch.nn.functional as F

REPEATS = 7
# batch, tokens, heads, kv heads, head dim, with backward
SHAPES = [(2, 2048, 32, 8, 128, True), (1, 16384, 32, 8, 128, True), (2, 2048, 16, 8, 256, False)]


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
    records = []
    for batch, seq, heads, kv_heads, head_dim, with_backward in SHAPES:
        def rand(count):
            x = torch.empty(batch, seq, count, head_dim, device=dev, dtype=torch.bfloat16).uniform_(-1, 1)
            return x.transpose(1, 2).requires_grad_(with_backward)
        q, k, v = rand(heads), rand(kv_heads), rand(kv_heads)
        d_out = torch.empty(batch, seq, heads, head_dim, device=dev, dtype=torch.bfloat16).uniform_(-1, 1)
        d_out = d_out.transpose(1, 2)
        holder = {}
        scale = head_dim ** -0.5

        def forward():
            holder["out"] = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True, scale=scale)

        def backward():
            torch.autograd.grad(holder["out"], (q, k, v), d_out, retain_graph=True)

        fwd, bwd = [], []
        for _ in range(REPEATS):
            with torch.set_grad_enabled(with_backward):
                fwd.append(millis(forward))
            if with_backward:
                bwd.append(millis(backward))
        fwd_ms = statistics.median(fwd)
        pairs = batch * heads * seq * (seq + 1) / 2
        fwd_flops = 4.0 * head_dim * pairs
        bwd_flops = 2.5 * fwd_flops
        prefix = f"attention.b{batch}_t{seq}_h{heads}_kv{kv_heads}_d{head_dim}."
        records += [
            (prefix + "fwd.ms", fwd_ms, "ms"),
            (prefix + "fwd.tflops", fwd_flops / (fwd_ms * 1e9), "TFLOP/s"),
        ]
        if with_backward:
            bwd_ms = statistics.median(bwd)
            records += [
                (prefix + "bwd.ms", bwd_ms, "ms"),
                (prefix + "fwd_bwd.ms", fwd_ms + bwd_ms, "ms"),
                (prefix + "bwd.tflops", bwd_flops / (bwd_ms * 1e9), "TFLOP/s"),
                (prefix + "fwd_bwd.tflops", (fwd_flops + bwd_flops) / ((fwd_ms + bwd_ms) * 1e9), "TFLOP/s"),
            ]
        del q, k, v, d_out, holder
        torch.cuda.empty_cache()
    with open(out_path, "w") as f:
        for name, value, unit in records:
            f.write(json.dumps({"name": name, "value": value, "unit": unit,
                                "commit": "torch " + torch.__version__}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
