#!/usr/bin/env python3
"""Peer measurements for bench 'dpo': a transformers + PEFT DPO training step at the Llama-3-8B shape.

Usage: python3 bench/peer/dpo_peer.py OUT.jsonl
As train_peer.py (random-init bf16 weights, SDPA attention, LoRA r=16, alpha 16, dropout 0 on all seven
projections, gradient checkpointing, fused AdamW, clipping at 1), with DPO in plain PyTorch: 2 pairs x 1024 tokens,
chosen and rejected rows in one batch of 4 (a 256-token prompt without labels), the reference forward under
disable_adapter() and no_grad(), per-row sums of completion log-probabilities, the sigmoid loss with beta 0.1.
Writes the names and units DpoBenchmark uses: tokens per second (all 4 x 1024 tokens of a step) and torch's peak
allocated memory.
"""
import json
import sys
import time

import peft
import torch
import torch.nn.functional as F
import transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from train_peer import SHAPES, TARGETS, TIMED_STEPS, WARMUP_STEPS

PAIRS, SEQ_LEN, PROMPT, BETA = 2, 1024, 256, 0.1


def sequence_log_probs(model, tokens, labels):
    """Per row, the sum of log p(label) over labelled tokens (the logits at t score the label at t + 1)."""
    logits = model(input_ids=tokens).logits[:, :-1].float()
    targets = labels[:, 1:]
    mask = targets != -100
    picked = torch.gather(logits, 2, targets.clamp(min=0).unsqueeze(2)).squeeze(2)
    per_token = picked - torch.logsumexp(logits, dim=-1)
    return (per_token * mask).sum(-1)


def measure(config):
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16, attn_implementation="sdpa")
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS,
                                             task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0, fused=True)
    tokens = torch.randint(0, config.vocab_size, (2 * PAIRS, SEQ_LEN), device="cuda")
    tokens[PAIRS:, :PROMPT] = tokens[:PAIRS, :PROMPT]  # each pair shares its prompt
    labels = tokens.clone()
    labels[:, :PROMPT] = -100

    def step():
        with model.disable_adapter():
            with torch.no_grad():
                reference = sequence_log_probs(model, tokens, labels)
        policy = sequence_log_probs(model, tokens, labels)
        chosen = policy[:PAIRS] - reference[:PAIRS]
        rejected = policy[PAIRS:] - reference[PAIRS:]
        loss = -F.logsigmoid(BETA * (chosen - rejected)).mean()
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
    return TIMED_STEPS * 2 * PAIRS * SEQ_LEN / seconds, peak


def main(out_path):
    version = f"transformers {transformers.__version__} + peft {peft.__version__}, torch {torch.__version__}"
    make_config = dict(SHAPES)["llama3_8b"]
    tokens_per_s, peak = measure(make_config())
    prefix = "dpo.llama3_8b.bf16.gc."
    print(f"{prefix} {tokens_per_s:.0f} tokens/s, peak {peak:.2f} GiB", flush=True)
    records = [(prefix + "tokens_per_s", tokens_per_s, "tokens/s"), (prefix + "peak_gib", peak, "GiB")]
    with open(out_path, "w") as f:
        for name, value, unit in records:
            f.write(json.dumps({"name": name, "value": value, "unit": unit, "commit": version}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
