#!/usr/bin/env python3
"""DPO golden files for the CPU engine: one DPO step on a tiny random Llama with a PEFT LoRA adapter.

Writes src/test/resources/org/jtune/train/golden/dpo_llama/ with
  config.json, model.safetensors   the base model, built as make_goldens.py builds its models
  adapter_config.json              LoRA r 4, alpha 8 on all seven projections, as PEFT saves it
  adapter_model.safetensors        the LoRA A/B used (B set non-zero, so that every matrix gets a gradient)
  pairs.json                       two preference pairs as token ids (prompt, chosen, rejected), the pad id, and
                                   the loss settings of each case
  expected-<case>.safetensors      per loss case: loss (scalar), policy_logps and reference_logps [4] (rows: chosen
                                   of pair 0 and 1, then rejected of pair 0 and 1, as TRL concatenates them), and
                                   the gradient of the loss with respect to every LoRA matrix under its PEFT name

TRL is not needed: the losses are written below in plain PyTorch as TRL defines them in DPOTrainer
(TRL 0.28.0, `dpo_loss` and `concatenated_forward`; TRL 1.x `_compute_loss` computes the same losses, without
label smoothing for sigmoid):
  sigmoid  -(1 - ls) * logsigmoid(beta * d) - ls * logsigmoid(-beta * d),  d = (pc - rc) - (pr - rr)
  hinge    relu(1 - beta * d)
  ipo      ((pc - rc) / nc - (pr - rr) / nr - 1 / (2 * beta)) ** 2, nc and nr the completion tokens of each side
with pc, pr the policy's and rc, rr the reference's summed log-probabilities of the completion tokens; the
reference is the same model with the adapter disabled (TRL's choice for a PEFT model without a ref_model).
The batch loss is the mean over pairs.

Usage (from the repository root, on a host with the versions below; a GPU is not needed):
  python3 src/test/python/make_dpo_goldens.py [--out src/test/resources/org/jtune/train/golden]

Made with: torch 2.11, transformers 5.17, peft 0.21, safetensors 0.8.
"""
import argparse
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_goldens import ALL_PROJECTIONS, build_model  # noqa: E402

NAME = "dpo_llama"
SEED = 2024
PAD = 2  # the eos id: Llama ships no pad token, and TRL pads with eos then
CASES = {
    "sigmoid": dict(loss_type="sigmoid", beta=0.1, label_smoothing=0.0),
    "sigmoid_smoothed": dict(loss_type="sigmoid", beta=0.5, label_smoothing=0.2),
    "ipo": dict(loss_type="ipo", beta=0.1, label_smoothing=0.0),
    "hinge": dict(loss_type="hinge", beta=0.1, label_smoothing=0.0),
}


def make_pairs(seed):
    """Two pairs of random ids; prompts start with BOS (1), completions end with EOS (2), lengths all differ."""
    g = torch.Generator().manual_seed(seed)

    def ids(n):
        return torch.randint(3, 256, (n,), generator=g).tolist()

    return [
        dict(prompt=[1] + ids(4), chosen=ids(5) + [2], rejected=ids(2) + [2]),
        dict(prompt=[1] + ids(2), chosen=ids(3) + [2], rejected=ids(6) + [2]),
    ]


def collate(pairs):
    """TRL's layout: prompt + chosen rows of all pairs, then prompt + rejected rows, right-padded."""
    rows = [p["prompt"] + p["chosen"] for p in pairs] + [p["prompt"] + p["rejected"] for p in pairs]
    completion = [[0] * len(p["prompt"]) + [1] * len(p["chosen"]) for p in pairs] \
        + [[0] * len(p["prompt"]) + [1] * len(p["rejected"]) for p in pairs]
    width = max(len(r) for r in rows)
    input_ids = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
    attention_mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    completion_mask = torch.tensor([c + [0] * (width - len(c)) for c in completion])
    return input_ids, attention_mask, completion_mask


def sequence_logps(model, input_ids, attention_mask, completion_mask):
    """Sum over completion tokens of log p(token), per row (TRL: shift, selective log-softmax, mask, sum)."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    per_token = torch.gather(logits[:, :-1].log_softmax(-1), 2, input_ids[:, 1:, None]).squeeze(2)
    return (per_token * completion_mask[:, 1:]).sum(1)


def dpo_loss(case, policy, reference, completion_mask):
    pc, pr = policy.chunk(2)
    rc, rr = reference.chunk(2)
    beta, ls = case["beta"], case["label_smoothing"]
    d = (pc - rc) - (pr - rr)
    if case["loss_type"] == "sigmoid":
        losses = -F.logsigmoid(beta * d) * (1 - ls) - F.logsigmoid(-beta * d) * ls
    elif case["loss_type"] == "hinge":
        losses = torch.relu(1 - beta * d)
    elif case["loss_type"] == "ipo":
        nc, nr = completion_mask[:, 1:].sum(1).clamp(min=1).chunk(2)
        losses = ((pc - rc) / nc - (pr - rr) / nr - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(case["loss_type"])
    return losses.mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/org/jtune/train/golden")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    out = os.path.join(args.out, NAME)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)

    base = build_model(LlamaConfig, dict(num_key_value_heads=2), SEED)
    base.config.architectures = [type(base).__name__]
    base.config.to_json_file(os.path.join(out, "config.json"))
    save_file({k: v.detach().contiguous() for k, v in base.state_dict().items()},
              os.path.join(out, "model.safetensors"))

    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=ALL_PROJECTIONS, task_type="CAUSAL_LM")
    model = get_peft_model(base, lora)
    torch.manual_seed(SEED + 1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                torch.nn.init.normal_(p, std=0.1)
    model.save_pretrained(out)
    readme = os.path.join(out, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    saved = set(load_file(os.path.join(out, "adapter_model.safetensors")))

    pairs = make_pairs(SEED + 7)
    input_ids, attention_mask, completion_mask = collate(pairs)
    with torch.no_grad(), model.disable_adapter():
        reference = sequence_logps(model, input_ids, attention_mask, completion_mask)
    for name, case in CASES.items():
        model.zero_grad(set_to_none=True)
        policy = sequence_logps(model, input_ids, attention_mask, completion_mask)
        loss = dpo_loss(case, policy, reference, completion_mask)
        loss.backward()
        expected = {"loss": loss.detach().reshape(()), "policy_logps": policy.detach().contiguous(),
                    "reference_logps": reference.detach().contiguous()}
        for n, p in model.named_parameters():
            if "lora_" in n:
                expected[n.replace(".default", "")] = p.grad.detach().contiguous()
        grads = {k for k in expected if "lora_" in k}
        assert grads == saved, (sorted(grads)[:3], sorted(saved)[:3])
        assert all(expected[k].abs().max() > 0 for k in grads), f"{name}: a LoRA gradient is all zero"
        save_file(expected, os.path.join(out, f"expected-{name}.safetensors"))
        print(f"{name}: loss {loss.item():.6f}")

    with open(os.path.join(out, "pairs.json"), "w") as f:
        json.dump({"pairs": pairs, "pad_token_id": PAD, "cases": CASES}, f, indent=1)
    for file in os.listdir(out):
        size = os.path.getsize(os.path.join(out, file))
        assert size < 1_000_000, f"{NAME}/{file} is {size} bytes"
    print(f"files in {out}")


if __name__ == "__main__":
    main()
