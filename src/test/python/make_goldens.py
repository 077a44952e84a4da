#!/usr/bin/env python3
"""Golden files for the CPU engine: tiny random models of each family run through HF transformers + PEFT.

Writes src/test/resources/org/jtune/model/golden/<case>/ with
  config.json                  the model config (transformers 5 format)
  model.safetensors            fp32 base weights (safetensors.torch.save_file; lm_head absent when tied)
  adapter_config.json          LoRA config as PEFT saves it
  adapter_model.safetensors    the LoRA A/B used (B set non-zero, so that A gets gradients)
  inputs.json                  input_ids, labels, position_ids, document_ids (one list per batch row)
  expected.safetensors         loss (scalar), logits [B, T, V], and the gradient of the loss with respect to
                               every LoRA matrix, under its PEFT name (...q_proj.lora_A.weight)

Usage (from the repository root, on a host with the versions below; a GPU is not needed):
  python3 src/test/python/make_goldens.py [--out src/test/resources/org/jtune/model/golden]

Made with: torch 2.11, transformers 5.17, peft 0.21, safetensors 0.8. The script checks that the Mistral sliding
window is applied and that packed documents do not attend to each other, and stops if either is not so.

The Qwen2, Qwen3 and Gemma 3 cases have float64 counterparts, with the same names and layout but their own random
weights, in golden-numpy/ (family_reference.py, numpy only, gradients by finite differences); the tests use these
folders when present and golden-numpy/ otherwise.
"""
import argparse
import json
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, Gemma3TextConfig, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

COMMON = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, rms_norm_eps=1e-5, max_position_embeddings=128,
              initializer_range=0.08, bos_token_id=1, eos_token_id=2)

CASES = {
    # name: (config class, config overrides, batch rows, tokens per row, lora extras, packed)
    "llama_mha": (LlamaConfig, dict(num_key_value_heads=4), 2, 24, {}, False),
    "mistral_gqa_window": (MistralConfig, dict(num_key_value_heads=2, sliding_window=8), 2, 24, {}, False),
    "llama3_rope": (LlamaConfig, dict(num_key_value_heads=2, rope_parameters=dict(
        rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
        original_max_position_embeddings=32)), 1, 32, {}, False),
    "llama_tied": (LlamaConfig, dict(num_key_value_heads=4, tie_word_embeddings=True), 1, 20, {}, False),
    "llama_packed": (LlamaConfig, dict(num_key_value_heads=2), 1, 30, {}, True),
    "llama_rslora": (LlamaConfig, dict(num_key_value_heads=4), 1, 16, dict(use_rslora=True), False),
    # Qwen2 always has q/k/v biases (randomised below so that they count); tied embeddings; GQA
    "qwen2_bias_tied": (Qwen2Config, dict(num_key_value_heads=2, tie_word_embeddings=True,
                                          rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
                        2, 24, {}, False),
    # transformers 5 turns use_sliding_window + max_window_layers into layer_types: layer i slides iff
    # i >= max_window_layers, so here layer 0 is full and layer 1 has the window (checked in make_case)
    "qwen2_window": (Qwen2Config, dict(num_key_value_heads=2, use_sliding_window=True, sliding_window=8,
                                       max_window_layers=1,
                                       rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
                     2, 24, {}, False),
    # Qwen3: q_norm / k_norm per head; head_dim 32 while hidden / heads is 16
    "qwen3": (Qwen3Config, dict(num_key_value_heads=2, head_dim=32,
                                rope_parameters=dict(rope_type="default", rope_theta=1000000.0)), 2, 24, {}, False),
    # Gemma 3 text: local (window 8, RoPE base 1e4) and global (RoPE base 1e6) layers, scores scaled by
    # query_pre_attn_scalar^-0.5 with query_pre_attn_scalar != head_dim, tied embeddings, tanh GELU
    "gemma3": (Gemma3TextConfig, dict(num_hidden_layers=3, num_key_value_heads=2, head_dim=32,
                                      query_pre_attn_scalar=24, sliding_window=8,
                                      layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                                      rope_parameters=dict(
                                          full_attention=dict(rope_type="default", rope_theta=1000000.0),
                                          sliding_attention=dict(rope_type="default", rope_theta=10000.0)),
                                      hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True),
               2, 20, {}, False),
}

# what transformers must derive from the config, checked before anything is written
EXPECTED_LAYER_TYPES = {
    "qwen2_window": ["full_attention", "sliding_attention"],
    "gemma3": ["sliding_attention", "full_attention", "sliding_attention"],
}


def build_model(config_class, overrides, seed):
    config = config_class(**COMMON, **overrides, attn_implementation="eager", dtype="float32")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    with torch.no_grad():  # norm weights start at 1 (Gemma: 0) and biases at 0: perturb them so that they count
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith(".bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def make_inputs(rows, length, packed, seed):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, 256, (rows, length), generator=g)
    labels = input_ids.clone()
    labels[:, :3] = -100  # a "prompt" that is not scored
    labels[:, length // 2] = -100
    if packed:
        first = length * 2 // 5
        position_ids = torch.cat([torch.arange(first), torch.arange(length - first)]).unsqueeze(0)
    else:
        position_ids = torch.arange(length).unsqueeze(0).repeat(rows, 1)
    # documents as transformers finds them: a new one wherever the position does not step by one
    diff = torch.diff(position_ids, prepend=position_ids[:, :1] - 1, dim=-1)
    document_ids = (diff != 1).cumsum(-1)
    return input_ids, labels, position_ids, document_ids


def packed_mask(document_ids):
    """Additive float mask [B, 1, T, T]: 0 where causal and same document, the float minimum elsewhere."""
    t = document_ids.shape[1]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    same = document_ids[:, :, None] == document_ids[:, None, :]
    allowed = (causal[None] & same)[:, None]
    return torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)


def check_packing(model, input_ids, position_ids, document_ids, mask):
    """Logits of the packed row must equal those of each document run on its own."""
    with torch.no_grad():
        packed = model(input_ids=input_ids, position_ids=position_ids, attention_mask=mask).logits
        for doc in document_ids[0].unique():
            idx = (document_ids[0] == doc).nonzero().squeeze(1)
            alone = model(input_ids=input_ids[:, idx]).logits
            if not torch.allclose(packed[:, idx], alone, atol=1e-5, rtol=1e-5):
                return False
    return True


def check_window(model, input_ids, window):
    """Logits before the window is full equal those without a window; later ones must differ.

    Without a window means with an explicit 4-D causal mask, which transformers uses as given for every layer
    (full and sliding alike), so this works whichever layers of the family slide."""
    with torch.no_grad():
        windowed = model(input_ids=input_ids).logits
        full = model(input_ids=input_ids, attention_mask=packed_mask(torch.zeros_like(input_ids))).logits
    assert torch.allclose(windowed[:, :window], full[:, :window], atol=1e-6), "window changed early positions"
    assert (windowed[:, window:] - full[:, window:]).abs().max() > 1e-3, "sliding window was not applied"


def make_case(name, spec, out_root, seed):
    config_class, overrides, rows, length, lora_extras, packed = spec
    out = os.path.join(out_root, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    base = build_model(config_class, overrides, seed)
    if name in EXPECTED_LAYER_TYPES:
        assert base.config.layer_types == EXPECTED_LAYER_TYPES[name], base.config.layer_types
    if config_class is Qwen2Config:
        assert any(n.endswith("q_proj.bias") for n, _ in base.named_parameters()), "Qwen2 without q/k/v biases"
    input_ids, labels, position_ids, document_ids = make_inputs(rows, length, packed, seed + 7)

    if "sliding_window" in overrides:
        assert length > overrides["sliding_window"]
        check_window(base, input_ids, overrides["sliding_window"])
    mask = None
    if packed:
        # transformers 5 splits documents itself when position_ids restart and no mask is given; use that path
        # if it really blocks cross-document attention here, else an explicit 4-D mask, and check that one too.
        if not check_packing(base, input_ids, position_ids, document_ids, None):
            mask = packed_mask(document_ids)
            assert check_packing(base, input_ids, position_ids, document_ids, mask), "packing not honoured"

    base.config.architectures = [type(base).__name__]
    base.config.to_json_file(os.path.join(out, "config.json"))  # only non-default fields, as save_pretrained
    state = {k: v.detach().contiguous() for k, v in base.state_dict().items()}
    if base.config.tie_word_embeddings and "lm_head.weight" in state:
        assert state["lm_head.weight"].data_ptr() == state["model.embed_tokens.weight"].data_ptr()
        del state["lm_head.weight"]
    save_file(state, os.path.join(out, "model.safetensors"))

    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=ALL_PROJECTIONS, task_type="CAUSAL_LM",
                      **lora_extras)
    model = get_peft_model(base, lora)
    torch.manual_seed(seed + 1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                torch.nn.init.normal_(p, std=0.1)
    model.save_pretrained(out)
    readme = os.path.join(out, "README.md")
    if os.path.exists(readme):
        os.remove(readme)

    result = model(input_ids=input_ids, labels=labels, position_ids=position_ids, attention_mask=mask)
    result.loss.backward()
    expected = {"loss": result.loss.detach().reshape(()), "logits": result.logits.detach().contiguous()}
    for n, p in model.named_parameters():
        if "lora_" in n:
            expected[n.replace(".default", "")] = p.grad.detach().contiguous()
    saved = load_file(os.path.join(out, "adapter_model.safetensors"))
    grads = {k for k in expected if "lora_" in k}
    assert grads == set(saved), (sorted(grads)[:3], sorted(saved)[:3])
    assert all(expected[k].abs().max() > 0 for k in grads), "a LoRA gradient is all zero"
    save_file(expected, os.path.join(out, "expected.safetensors"))

    with open(os.path.join(out, "inputs.json"), "w") as f:
        json.dump({"input_ids": input_ids.tolist(), "labels": labels.tolist(),
                   "position_ids": position_ids.tolist(), "document_ids": document_ids.tolist(),
                   "explicit_packing_mask": mask is not None}, f, indent=1)
    for file in os.listdir(out):
        size = os.path.getsize(os.path.join(out, file))
        assert size < 1_000_000, f"{name}/{file} is {size} bytes"
    print(f"{name}: loss {result.loss.item():.6f}, files in {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/org/jtune/model/golden")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    for i, (name, spec) in enumerate(CASES.items()):
        make_case(name, spec, args.out, 1000 + 17 * i)


if __name__ == "__main__":
    main()
