#!/usr/bin/env python3
"""Golden logits of transformers (and PEFT) for the GPU decode engine's exactness check on a GPU host.

Usage: python3 bench/peer/decode_golden.py OUT_DIR
Writes, for the Llama-3-8B shape and the Mistral-7B shape (sliding window 128, so that it cuts into the
sequences), a random-weight model folder (config.json + safetensors, bf16, seeded), and for the Llama shape also a
PEFT adapter folder (r 16, alpha 32, all seven projections, B random so that it changes the output). Then 20
sequences of random tokens (a prompt of 16 to 200 tokens and 64 more) and the logits transformers gives at the
prompt's last position and at each of the 64 positions after it (teacher forcing: one forward of the whole
sequence, as causal attention gives every prefix's logits), bf16 as the model computes them:
  OUT_DIR/<shape>/model/            the model folder jtune loads
  OUT_DIR/<shape>/adapter/          the adapter folder (llama3_8b only)
  OUT_DIR/<shape>/golden.json       sequences, prompt lengths, steps, vocabulary size, logits files
  OUT_DIR/<shape>/logits_base.bf16  little-endian bf16 [20, 65, vocab]; logits_adapter.bf16 likewise
jtune-bench decode-golden (JTUNE_DECODE_GOLDEN=OUT_DIR) runs the GPU engine on the same folders and compares.
"""
import json
import os
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig

SEQUENCES, STEPS = 20, 64
COMMON = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
              num_key_value_heads=8, rms_norm_eps=1e-5, tie_word_embeddings=False)
SHAPES = [
    ("llama3_8b", lambda: LlamaConfig(vocab_size=128256, max_position_embeddings=8192, rope_theta=500000.0,
                                      **COMMON), True),
    ("mistral_7b", lambda: MistralConfig(vocab_size=32000, max_position_embeddings=32768, rope_theta=10000.0,
                                         sliding_window=128, **COMMON), False),
]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def logits_of(model, sequences, prompt_lengths):
    """[SEQUENCES, STEPS + 1, vocab] bf16: the logits at positions L-1 .. L-1+STEPS of each sequence."""
    out = []
    with torch.no_grad():
        for tokens, length in zip(sequences, prompt_lengths):
            ids = torch.tensor([tokens], device="cuda")
            logits = model(input_ids=ids).logits[0, length - 1:length + STEPS]
            out.append(logits.to(torch.bfloat16))
    return torch.stack(out)


def write_bf16(tensor, path):
    tensor.contiguous().view(torch.int16).cpu().numpy().tofile(path)


def main(out_dir):
    for name, make_config, with_adapter in SHAPES:
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        config = make_config()
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16, attn_implementation="sdpa")
        model.eval()
        model.save_pretrained(os.path.join(folder, "model"), safe_serialization=True)
        generator = torch.Generator().manual_seed(1)
        lengths = torch.randint(16, 201, (SEQUENCES,), generator=generator).tolist()
        sequences = [torch.randint(0, config.vocab_size, (n + STEPS,), generator=generator).tolist() for n in lengths]
        files = {"base": "logits_base.bf16"}
        write_bf16(logits_of(model, sequences, lengths), os.path.join(folder, files["base"]))
        print(f"{name}: base logits written", flush=True)
        if with_adapter:
            peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                                          target_modules=TARGETS, task_type="CAUSAL_LM"))
            with torch.no_grad():
                for module_name, parameter in peft_model.named_parameters():
                    if "lora_B" in module_name:
                        parameter.normal_(0.0, 0.02, generator=None)
            peft_model.eval()
            peft_model.save_pretrained(os.path.join(folder, "adapter"))
            files["adapter"] = "logits_adapter.bf16"
            write_bf16(logits_of(peft_model, sequences, lengths), os.path.join(folder, files["adapter"]))
            print(f"{name}: adapter logits written", flush=True)
            del peft_model
        with open(os.path.join(folder, "golden.json"), "w") as f:
            json.dump({"sequences": sequences, "prompt_lengths": lengths, "steps": STEPS,
                       "vocab_size": config.vocab_size, "logits": files}, f)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main(sys.argv[1])
