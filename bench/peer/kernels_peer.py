#!/usr/bin/env python3
"""Peer measurements for bench 'kernels': the same operations through PyTorch on the same GPU and shapes.

Usage: python3 bench/peer/kernels_peer.py OUT.jsonl
Writes JSON lines with the names KernelBenchmark uses, so BenchMain --peer can pair them. Each
operation is what transformers/PEFT run for it (HF's RMSNorm and rotary formulas, silu(gate) * up,
torch.optim.AdamW(fused=True), torch.matmul in bf16); backward passes are autograd's. Bytes are
counted as KernelBenchmark counts them (the minimum each operation must move), so the TB/s compare
time for the same work. NF4 dequantization is measured only where bitsandbytes is installed.
"""
import json
import math
import statistics
import sys

import torch
import torch.nn.functional as F

REPEATS = 7
CALLS = 20
TOKENS, HIDDEN, INTERMEDIATE = 4096, 4096, 14336
HEADS, KV_HEADS, HEAD_DIM, VOCAB = 32, 8, 128, 32000
LAYERS, RANK = 32, 16
GEMM_SHAPES = [(4096, 4096), (4096, 1024), (4096, 14336), (14336, 4096)]
DEV = torch.device("cuda")


def micros(work):
    """Median device microseconds of one call, timed over CALLS back-to-back calls after a warm-up."""
    work()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    results = []
    for _ in range(REPEATS):
        start.record()
        for _ in range(CALLS):
            work()
        end.record()
        end.synchronize()
        results.append(start.elapsed_time(end) * 1000.0 / CALLS)
    return statistics.median(results)


def rand(*shape, scale=1.0, dtype=torch.bfloat16):
    return ((torch.rand(*shape, device=DEV) * 2 - 1) * scale).to(dtype)


def hf_rmsnorm(x, w, eps=1e-5):
    h = x.to(torch.float32)
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + eps)
    return w * h.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def hf_rope(q, k, cos, sin):
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def main(out_path):
    records = {}

    def tb(name, nbytes, us):
        records[name] = (nbytes / (us * 1e6), "TB/s")

    n = TOKENS * HIDDEN
    shape = f"{TOKENS}x{HIDDEN}"
    x = rand(TOKENS, HIDDEN, scale=1.0).requires_grad_(True)
    w = rand(HIDDEN, scale=1.0)
    dy = rand(TOKENS, HIDDEN)
    tb(f"rmsnorm.forward.{shape}", 2 * n + 2 * HIDDEN + 2 * n + 4 * TOKENS, micros(lambda: hf_rmsnorm(x, w)))
    y = hf_rmsnorm(x, w)
    tb(f"rmsnorm.backward.{shape}", 4 * n + 2 * HIDDEN + 4 * TOKENS + 2 * n,
       micros(lambda: torch.autograd.grad(y, x, dy, retain_graph=True)))
    del x, y, dy

    n = TOKENS * INTERMEDIATE
    shape = f"{TOKENS}x{INTERMEDIATE}"
    gate = rand(TOKENS, INTERMEDIATE, scale=4.0).requires_grad_(True)
    up = rand(TOKENS, INTERMEDIATE, scale=4.0).requires_grad_(True)
    dh = rand(TOKENS, INTERMEDIATE)
    tb(f"swiglu.forward.{shape}", 6 * n, micros(lambda: F.silu(gate) * up))
    h = F.silu(gate) * up
    tb(f"swiglu.backward.{shape}", 10 * n, micros(lambda: torch.autograd.grad(h, (gate, up), dh, retain_graph=True)))
    del gate, up, dh, h

    q = rand(1, HEADS, TOKENS, HEAD_DIM, scale=2.0).requires_grad_(True)
    k = rand(1, KV_HEADS, TOKENS, HEAD_DIM, scale=2.0).requires_grad_(True)
    positions = (torch.arange(TOKENS, device=DEV) % 2048).float()
    inv_freq = 1.0 / (10000 ** (torch.arange(0, HEAD_DIM, 2, device=DEV).float() / HEAD_DIM))
    freqs = positions[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(torch.bfloat16)[None, None], emb.sin().to(torch.bfloat16)[None, None]
    q_elements, k_elements = TOKENS * HEADS * HEAD_DIM, TOKENS * KV_HEADS * HEAD_DIM
    shape = f"{TOKENS}x{HEADS}+{KV_HEADS}x{HEAD_DIM}"
    rope_bytes = 2 * (2 * q_elements + 2 * k_elements) + 4 * TOKENS + 2 * HEAD_DIM
    tb(f"rope.forward.{shape}", rope_bytes, micros(lambda: hf_rope(q, k, cos, sin)))
    qe, ke = hf_rope(q, k, cos, sin)
    dq, dk = rand(*qe.shape), rand(*ke.shape)
    tb(f"rope.backward.{shape}", rope_bytes,
       micros(lambda: torch.autograd.grad((qe, ke), (q, k), (dq, dk), retain_graph=True)))
    del q, k, qe, ke, dq, dk

    n = TOKENS * HIDDEN
    shape = f"{TOKENS}x{HIDDEN}"
    table = rand(VOCAB, HIDDEN)
    ids = torch.randint(0, VOCAB, (TOKENS,), device=DEV, dtype=torch.int32)
    tb(f"embedding.gather.{shape}", 4 * n + 4 * TOKENS, micros(lambda: F.embedding(ids, table)))
    del table
    a, b = rand(TOKENS, HIDDEN), rand(TOKENS, HIDDEN)
    tb(f"residual_add.{shape}", 6 * n, micros(lambda: a.add_(b)))
    wide = torch.empty(TOKENS, HIDDEN, device=DEV, dtype=torch.float32)
    tb(f"convert.bf16_to_f32.{shape}", 6 * n, micros(lambda: wide.copy_(b)))
    tb(f"convert.f32_to_bf16.{shape}", 6 * n, micros(lambda: a.copy_(wide)))
    del a, b, wide

    try:
        import bitsandbytes.functional as bnbf
        weight = rand(INTERMEDIATE, HIDDEN)
        packed, state = bnbf.quantize_4bit(weight, blocksize=64, compress_statistics=True, quant_type="nf4")
        n = INTERMEDIATE * HIDDEN
        blocks = n // 64
        nested = (blocks + 255) // 256
        tb(f"nf4.dequantize_double_quant.{INTERMEDIATE}x{HIDDEN}", n // 2 + blocks + 4 * nested + 2 * n,
           micros(lambda: bnbf.dequantize_4bit(packed, state)))
        del weight, packed, state
    except ImportError:
        print("bitsandbytes not installed: no NF4 peer", file=sys.stderr)

    projections = [(HIDDEN, HIDDEN), (KV_HEADS * HEAD_DIM, HIDDEN), (KV_HEADS * HEAD_DIM, HIDDEN),
                   (HIDDEN, HIDDEN), (INTERMEDIATE, HIDDEN), (INTERMEDIATE, HIDDEN), (HIDDEN, INTERMEDIATE)]
    params = []
    for _ in range(LAYERS):
        for out_features, in_features in projections:
            for shape in ((RANK, in_features), (out_features, RANK)):
                p = torch.nn.Parameter(torch.full(shape, 1e-3, device=DEV))
                p.grad = torch.full(shape, 1e-3, device=DEV)
                params.append(p)
    total = sum(p.numel() for p in params)
    name = f"mistral7b_lora_r{RANK}_{len(params)}_tensors"
    grads = [p.grad for p in params]
    tb(f"grad_norm.{name}", 4 * total, micros(lambda: torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))))
    optimizer = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=True)
    tb(f"adamw.step.{name}", 28 * total, micros(optimizer.step))
    del params, grads, optimizer

    for k_dim, n_dim in GEMM_SHAPES:
        m = TOKENS
        flop = 2.0 * m * n_dim * k_dim
        x, w, dy = rand(m, k_dim), rand(n_dim, k_dim), rand(m, n_dim)
        shape = f"m{m}_k{k_dim}_n{n_dim}"
        records[f"gemm.forward.{shape}"] = (flop / (micros(lambda: torch.matmul(x, w.t())) * 1e6), "TFLOP/s")
        records[f"gemm.backward_input.{shape}"] = (flop / (micros(lambda: torch.matmul(dy, w)) * 1e6), "TFLOP/s")
        records[f"gemm.weight_gradient.{shape}"] = (
            flop / (micros(lambda: torch.matmul(dy.t(), x)) * 1e6), "TFLOP/s")
        del x, w, dy

    with open(out_path, "w") as f:
        for name, (value, unit) in records.items():
            if math.isfinite(value):
                f.write(json.dumps({"name": name, "value": value, "unit": unit,
                                    "commit": "torch " + torch.__version__}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
