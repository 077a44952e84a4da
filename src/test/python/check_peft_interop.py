#!/usr/bin/env python3
"""Checks that what jtune exports loads in transformers + PEFT and computes jtune's logits.

Usage: python3 src/test/python/check_peft_interop.py MODEL_FOLDER EXPORT_FOLDER
EXPORT_FOLDER is written by org.jtune.api.PeftInteropExport (test classes) from MODEL_FOLDER: adapter/,
merged-f32/, merged-bf16/ and expected.safetensors (jtune's logits of base + adapter for input_ids).
Prints the largest error relative to the largest logit for each, and exits 1 if one is over its tolerance:
1e-4 for the adapter and the F32 merge (fp32 math on both sides), 2e-2 for the BF16 merge (weights rounded once).
"""
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def relative_error(actual, expected):
    return ((actual.float() - expected).abs().max() / expected.abs().max()).item()


def main(model_folder, export):
    expected = load_file(f"{export}/expected.safetensors")
    ids = expected["input_ids"].long().unsqueeze(0)
    want = expected["logits"]
    results = []
    base = AutoModelForCausalLM.from_pretrained(model_folder, dtype=torch.float32, attn_implementation="eager")
    with torch.no_grad():
        peft = PeftModel.from_pretrained(base, f"{export}/adapter").eval()
        results.append(("adapter on the base (PEFT)", relative_error(peft(ids).logits[0], want), 1e-4))
        for name, tol in (("merged-f32", 1e-4), ("merged-bf16", 2e-2)):
            merged = AutoModelForCausalLM.from_pretrained(f"{export}/{name}", dtype=torch.float32,
                                                          attn_implementation="eager").eval()
            results.append((name + " (transformers)", relative_error(merged(ids).logits[0], want), tol))
    failed = False
    for what, err, tol in results:
        ok = err <= tol
        failed |= not ok
        print(f"{what}: largest error {err:.2e} of the largest logit (tolerance {tol:.0e}) {'ok' if ok else 'FAILED'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
