#!/usr/bin/env python3
"""Peer measurements for bench 'decode': transformers' generate on the same shapes.

Usage: python3 bench/peer/decode_peer.py OUT.jsonl
Random-init weights of the Llama-3-8B shape in bf16, SDPA attention, greedy decoding of 256 new tokens after a
512-token prompt, for one sequence and for 16 together, with transformers' static cache (fixed shapes) and with its
default dynamic cache; the faster of the two is the peer. Decode tokens per second exclude the prefill: the time of
generate with 256 new tokens minus that of generate with one (which is the prefill and the first token). Writes
JSON lines with the names DecodeBenchmark uses, so BenchMain --peer can pair them. There is no NF4 peer: the NF4
target is against jtune's own bf16 decoding.
"""
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, LlamaConfig

PROMPT, NEW_TOKENS, REPEATS = 512, 256, 3
CONFIG = dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
              num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0,
              rms_norm_eps=1e-5, tie_word_embeddings=False)


def seconds(model, prompt, new_tokens, cache):
    """Median wall time of generate (greedy, exactly new_tokens tokens) after a warm-up."""
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
    if cache:
        kwargs["cache_implementation"] = cache
    model.generate(prompt, **kwargs)
    times = []
    for _ in range(REPEATS):
        torch.cuda.synchronize()
        start = time.perf_counter()
        model.generate(prompt, **kwargs)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def decode_tokens_per_second(model, batch, cache):
    prompt = torch.randint(0, CONFIG["vocab_size"], (batch, PROMPT), device="cuda")
    full = seconds(model, prompt, NEW_TOKENS, cache)
    first = seconds(model, prompt, 1, cache)
    return batch * (NEW_TOKENS - 1) / (full - first)


def measure(model, name, out_path, version):
    for batch in (1, 16):
        best = None
        for cache in ("static", None):
            try:
                rate = decode_tokens_per_second(model, batch, cache)
            except Exception as e:  # a cache kind this transformers version cannot run: the other one stands
                print(f"{name} batch {batch} cache {cache}: {e}", flush=True)
                continue
            label = cache or "dynamic"
            print(f"{name}.b{batch} {label} cache: {rate:.1f} tokens/s", flush=True)
            write(out_path, dict(name=f"{name}.b{batch}.{label}_cache.tokens_per_s", value=rate,
                                 unit="tokens/s", higher_is_better=True, commit=version))
            best = rate if best is None else max(best, rate)
        if best is not None:
            write(out_path, dict(name=f"{name}.b{batch}.tokens_per_s", value=best, unit="tokens/s",
                                 higher_is_better=True, commit=version))


def write(out_path, record):
    """Appends one record at once, so that a run cut short keeps what it measured."""
    with open(out_path, "a") as out:
        out.write(json.dumps(record) + "\n")


def main(out_path):
    version = f"transformers {transformers.__version__}, torch {torch.__version__}"
    torch.manual_seed(0)
    config = LlamaConfig(**CONFIG)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16, attn_implementation="sdpa")
    model.eval()
    with torch.no_grad():
        measure(model, "decode.llama3_8b.bf16", out_path, version)


if __name__ == "__main__":
    main(sys.argv[1])
