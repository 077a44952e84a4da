#!/usr/bin/env python3
"""The transformers + PEFT side of the fidelity run (jtune-bench fidelity; issue 15, point 5).

Usage: python3 bench/peer/fidelity_peer.py DIR

Reads what `jtune-bench fidelity --out DIR` wrote: fidelity.json (the settings both sides share), model/ (a
random-weight bf16 model folder), adapter/ (the initial LoRA adapter as a PEFT folder) and batches.safetensors (one
training batch per step in step order, then the held-out eval batches; labels as transformers takes them). Loads
the model in bf16 with SDPA attention and the adapter with PEFT (trainable; PEFT keeps the adapters in fp32), checks
that every adapter matrix loaded equals the file's, trains one step per batch with torch AdamW (the same betas, eps,
weight decay, a constant rate without warmup), gradient clipping by global norm, gradient checkpointing as the
settings say, then scores the eval batches. Writes DIR/peer.jsonl in the lines of jtune.jsonl: a run line, one line
per step (loss, gradient norm before clipping, learning rate) and the eval loss (mean over labelled tokens).
"""
import json
import os
import sys
import time

import peft
import torch
import transformers
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def check_adapter(model, adapter_dir):
    """Every lora_A/lora_B matrix of the file is in the model, equal (PEFT would otherwise warn and go on)."""
    stored = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    loaded = {name.replace(".default", ""): p for name, p in model.named_parameters() if "lora_" in name}
    if set(stored) != set(loaded):
        missing, extra = sorted(set(stored) - set(loaded)), sorted(set(loaded) - set(stored))
        sys.exit(f"the adapter's matrices and PEFT's differ: missing in the model {missing[:3]}, "
                 f"not in the file {extra[:3]}")
    for name, value in stored.items():
        if not torch.equal(loaded[name].detach().float().cpu(), value.float()):
            sys.exit(f"{name}: PEFT loaded other values than the file holds")
    return len(stored)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fidelity_peer.py DIR (the --out folder of jtune-bench fidelity)")
    d = sys.argv[1]
    with open(os.path.join(d, "fidelity.json")) as f:
        s = json.load(f)
    if s["lrSchedule"] != "constant" or s["gradientAccumulationSteps"] != 1:
        sys.exit(f"this peer runs a constant rate with one micro-batch per step, not {s['lrSchedule']} with "
                 f"{s['gradientAccumulationSteps']}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(s["seed"])
    model = AutoModelForCausalLM.from_pretrained(os.path.join(d, "model"), dtype=torch.bfloat16,
                                                 attn_implementation="sdpa").to(device)
    model.config.use_cache = False
    if s["gradientCheckpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model = PeftModel.from_pretrained(model, os.path.join(d, "adapter"), is_trainable=True)
    matrices = check_adapter(model, os.path.join(d, "adapter"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    lr = s["learningRate"]
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(s["adamBeta1"], s["adamBeta2"]), eps=s["adamEpsilon"],
                                  weight_decay=s["weightDecay"])
    batches = load_file(os.path.join(d, "batches.safetensors"))
    train_ids, train_labels = batches["train.input_ids"].long(), batches["train.labels"].long()
    eval_ids, eval_labels = batches["eval.input_ids"].long(), batches["eval.labels"].long()
    if train_ids.shape[0] != s["steps"]:
        sys.exit(f"batches.safetensors has {train_ids.shape[0]} training batches for {s['steps']} steps")

    versions = f"transformers {transformers.__version__} + peft {peft.__version__}, torch {torch.__version__}"
    place = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    with open(os.path.join(d, "peer.jsonl"), "w") as log:
        def line(obj):
            log.write(json.dumps(obj) + "\n")
            log.flush()

        line({"run": {"side": "peer", "placement": place, "versions": versions, "adapter_matrices": matrices}})
        start = time.perf_counter()
        for step in range(s["steps"]):
            ids, labels = train_ids[step].to(device), train_labels[step].to(device)
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            clip = s["maxGradNorm"] if s["maxGradNorm"] > 0 else float("inf")
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            value = loss.item()
            line({"step": step + 1, "loss": value, "grad_norm": norm.item(), "lr": lr})
            if (step + 1) % 10 == 0 or step == 0 or step + 1 == s["steps"]:
                print(f"step {step + 1}/{s['steps']} loss {value:.5f} ({time.perf_counter() - start:.0f} s)",
                      flush=True)
        model.eval()
        loss_sum, tokens = 0.0, 0
        with torch.no_grad():
            for i in range(eval_ids.shape[0]):
                ids, labels = eval_ids[i].to(device), eval_labels[i].to(device)
                n = int((labels[:, 1:] != -100).sum())
                loss_sum += model(input_ids=ids, labels=labels).loss.item() * n
                tokens += n
        line({"eval_loss": loss_sum / tokens, "eval_tokens": tokens})
        print(f"eval loss {loss_sum / tokens:.5f} over {tokens} tokens")


if __name__ == "__main__":
    main()
