#!/usr/bin/env python3
"""Peer measurements for bench 'train': transformers + PEFT LoRA training steps on the same shapes.

Usage: python3 bench/peer/train_peer.py OUT.jsonl [--shape SHAPE]...
Random-init weights of the real shapes of Llama-2-7B, Mistral-7B and Llama-3-8B (by default), or of the shapes
named with --shape as `jtune-bench train --shape` names them (llama2-7b, mistral-7b, llama3-8b, qwen2.5-7b,
qwen3-8b), in bf16, SDPA attention,
LoRA r=16, alpha 16, dropout 0 on q, k, v, o, gate, up, down (PEFT keeps the adapters in fp32), gradient
checkpointing on (and, for Llama-3-8B, off), fused AdamW, gradient clipping at 1, batch 2 x 2048 tokens with
labels = inputs. Prints and writes JSON lines with the names and units TrainBenchmark uses, so BenchMain --peer
can pair them: tokens per second over the timed steps after warm-up, and torch's peak allocated memory.
"""
import argparse
import json
import time

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

WARMUP_STEPS, TIMED_STEPS = 2, 5
ROWS, SEQ_LEN = 2, 2048
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
UNTIED = dict(tie_word_embeddings=False, use_cache=False)
COMMON = dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, rms_norm_eps=1e-5, **UNTIED)
# (option, record name, config): the option as --shape takes it, the name as TrainBenchmark records it
SHAPES = [
    ("llama2-7b", "llama2_7b", lambda: LlamaConfig(vocab_size=32000, intermediate_size=11008, num_key_value_heads=32,
                                                   max_position_embeddings=4096, rope_theta=10000.0, **COMMON)),
    ("mistral-7b", "mistral_7b", lambda: MistralConfig(vocab_size=32000, intermediate_size=14336,
                                                       num_key_value_heads=8, max_position_embeddings=32768,
                                                       rope_theta=10000.0, sliding_window=4096, **COMMON)),
    ("llama3-8b", "llama3_8b", lambda: LlamaConfig(vocab_size=128256, intermediate_size=14336, num_key_value_heads=8,
                                                   max_position_embeddings=8192, rope_theta=500000.0, **COMMON)),
    # q/k/v biases; no sliding window, as the released config
    ("qwen2.5-7b", "qwen2_5_7b", lambda: Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                                                     num_hidden_layers=28, num_attention_heads=28,
                                                     num_key_value_heads=4, max_position_embeddings=32768,
                                                     rms_norm_eps=1e-6, rope_theta=1000000.0,
                                                     use_sliding_window=False, **UNTIED)),
    # per-head q/k norms, head_dim 128
    ("qwen3-8b", "qwen3_8b", lambda: Qwen3Config(vocab_size=151936, hidden_size=4096, intermediate_size=12288,
                                                 num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                                                 head_dim=128, max_position_embeddings=40960, rms_norm_eps=1e-6,
                                                 rope_theta=1000000.0, **UNTIED)),
]
DEFAULT_SHAPES = ["llama2-7b", "mistral-7b", "llama3-8b"]


def measure(config, checkpointing):
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16, attn_implementation="sdpa")
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS,
                                             task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0, fused=True)
    tokens = torch.randint(0, config.vocab_size, (ROWS, SEQ_LEN), device="cuda")

    def step():
        loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()  # waits for the step, as a trainer logging its loss does

    for _ in range(WARMUP_STEPS):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(TIMED_STEPS):
        step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model, optimizer, params, tokens
    torch.cuda.empty_cache()
    return TIMED_STEPS * ROWS * SEQ_LEN / seconds, peak


def main():
    parser = argparse.ArgumentParser(description="transformers + PEFT LoRA training steps at the train shapes")
    parser.add_argument("out", help="JSON lines file to write")
    parser.add_argument("--shape", action="append", choices=[option for option, _, _ in SHAPES],
                        help="a shape to run instead of the defaults (repeatable)")
    args = parser.parse_args()
    chosen = list(dict.fromkeys(args.shape or DEFAULT_SHAPES))
    version = f"transformers {transformers.__version__} + peft {peft.__version__}, torch {torch.__version__}"
    records = []
    by_option = {option: (name, make_config) for option, name, make_config in SHAPES}
    for option in chosen:
        name, make_config = by_option[option]
        variants = [("bf16.gc", True)] + ([("bf16.no_gc", False)] if name == "llama3_8b" else [])
        for variant, checkpointing in variants:
            tokens_per_s, peak = measure(make_config(), checkpointing)
            prefix = f"train.{name}.{variant}."
            print(f"{prefix} {tokens_per_s:.0f} tokens/s, peak {peak:.2f} GiB", flush=True)
            records += [(prefix + "tokens_per_s", tokens_per_s, "tokens/s"), (prefix + "peak_gib", peak, "GiB")]
    with open(args.out, "w") as f:
        for name, value, unit in records:
            f.write(json.dumps({"name": name, "value": value, "unit": unit, "commit": version}) + "\n")


if __name__ == "__main__":
    main()
