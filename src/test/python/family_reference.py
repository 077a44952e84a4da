#!/usr/bin/env python3
"""Float64 numpy reference of the decoder families the CPU engine runs, and golden files made with it.

The forward pass of Llama, Mistral, Qwen2, Qwen3 and Gemma 3 (text) as transformers 5 computes it (eager
attention), with PEFT LoRA on the seven projections, and the loss of a causal LM as transformers computes it.
Gradients of the loss with respect to every LoRA matrix are central finite differences of that loss in float64:
they depend on nothing but the forward pass written here, not on any hand-written backward.

The script is both the documentation of the math and a test tool:

  python3 src/test/python/family_reference.py [--out src/test/resources/org/jtune/model/golden-numpy] [CASE...]
      writes golden-numpy/<case>/ for the cases in CASES (all when none is named), in the layout of
      make_goldens.py: config.json (the fields transformers saves), model.safetensors (fp32, HF tensor names,
      lm_head absent when tied), adapter_config.json and adapter_model.safetensors (as PEFT saves them),
      inputs.json, expected.safetensors (loss, logits [B, T, V], one gradient per LoRA matrix under its PEFT name).

  python3 src/test/python/family_reference.py --check [--golden src/test/resources/org/jtune/model/golden]
      runs the reference on the transformers + PEFT goldens that exist (same weights and inputs) and compares
      loss and logits (1e-6) and every LoRA gradient (1e-5), relative to the largest value of each, with what
      transformers computed in float32; exits non-zero if any differs. This is what validates the reference
      where transformers goldens exist (six Llama/Mistral cases today: windows, packing, llama3 RoPE, tying,
      rsLoRA).

Needs only Python 3.10+ and numpy. Sizes are small (vocab 256, hidden 64, 2-3 layers, 2 rows of 20-24 tokens) so
each case's files stay under 1 MB and its finite differences take well under two minutes on one core.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass

import numpy as np

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ATTENTION_PROJECTIONS = PROJECTIONS[:4]
IGNORE_INDEX = -100  # labels with this value are not scored (torch cross_entropy's ignore_index)


# ---------------------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then data
# ---------------------------------------------------------------------------------------------------------------

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2"), "I64": np.dtype("<i8"),
           "I32": np.dtype("<i4")}


def read_safetensors(path):
    """All tensors of a safetensors file as numpy arrays (bf16 is not needed by these goldens and refused)."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, which this reader does not handle")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors


def write_safetensors(path, tensors, metadata=None):
    """fp32 safetensors with tensors in name order and the header padded to 8 bytes, as safetensors writes it."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name], dtype="<f4")
        blob = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# ---------------------------------------------------------------------------------------------------------------
# The architecture: what each family changes relative to Llama, read from config.json as transformers reads it
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Architecture:
    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    eps: float
    tied: bool
    # per layer: the attention window in tokens (None: full causal attention) and the RoPE inverse frequencies
    windows: list
    inv_freqs: list
    attention_scale: float          # multiplies q.k
    activation: str                 # "silu" or "gelu_pytorch_tanh", applied to gate_proj's output
    norm_offset: float = 0.0        # RMSNorm multiplies by (norm_offset + weight): 0 for Llama/Qwen, 1 for Gemma
    embed_scale: float = 1.0        # the embedding rows are multiplied by this (sqrt(hidden) for Gemma)
    qkv_bias: bool = False          # q, k and v projections have biases (Qwen2)
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False           # RMSNorm over each head of q and k before RoPE (Qwen3, Gemma 3)
    sandwich_norms: bool = False    # norms after attention and MLP too (Gemma 3)


def rope_inverse_frequencies(rope, head_dim):
    """inv_freq[i] = 1 / theta^(2i / head_dim), i < head_dim / 2, and the llama3 rescaling of it.

    transformers (modeling_rope_utils.py, _compute_default_rope_parameters / _compute_llama3_parameters) computes
    these in float32; here they are float64. Only 'default' and 'llama3' are written; others are refused.
    """
    theta = float(rope["rope_theta"])
    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind == "default":
        return inv_freq
    if kind != "llama3":
        raise ValueError(f"rope_type {kind!r} is not implemented in this reference")
    # Llama 3.1: wavelengths longer than original_max / low_freq_factor are slowed by `factor`, those shorter than
    # original_max / high_freq_factor kept, and the band between interpolated smoothly.
    factor, low, high = float(rope["factor"]), float(rope["low_freq_factor"]), float(rope["high_freq_factor"])
    original = float(rope["original_max_position_embeddings"])
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > original / low, inv_freq / factor, inv_freq)
    smooth = (original / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= original / high) & (wavelen <= original / low)
    return np.where(medium, smoothed, scaled)


def _rope_parameters(cfg, layer_type=None):
    """The RoPE parameters of a layer: transformers 5 'rope_parameters' (per layer type for Gemma 3), else v4."""
    rope = cfg.get("rope_parameters")
    if rope is not None and layer_type is not None and layer_type in rope:
        return rope[layer_type]
    if rope is not None and "rope_theta" in rope:
        return rope
    legacy = dict(cfg.get("rope_scaling") or {})
    legacy.setdefault("rope_theta", cfg.get("rope_theta", 10000.0))
    return legacy


def _layer_types(cfg, default):
    return cfg.get("layer_types") or default


def architecture(cfg):
    """Reads config.json the way transformers 5 builds the model from it; one small function per family."""
    kind = cfg["model_type"]
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    common = dict(vocab=cfg["vocab_size"], hidden=cfg["hidden_size"], intermediate=cfg["intermediate_size"],
                  layers=cfg["num_hidden_layers"], heads=heads,
                  kv_heads=cfg.get("num_key_value_heads") or heads, head_dim=head_dim, eps=cfg["rms_norm_eps"],
                  tied=cfg.get("tie_word_embeddings", False), attention_scale=head_dim ** -0.5,
                  activation=cfg.get("hidden_act", "silu"))
    n = common["layers"]
    if kind in ("llama", "mistral"):
        return _llama_or_mistral(cfg, common, n)
    if kind in ("qwen2", "qwen3"):
        return _qwen(cfg, common, n, kind)
    if kind == "gemma3_text":
        return _gemma3(cfg, common, n)
    raise ValueError(f"model_type {kind!r} is not implemented in this reference")


def _llama_or_mistral(cfg, common, n):
    # LlamaAttention / MistralAttention: Mistral applies config.sliding_window to every layer
    # (create_sliding_window_causal_mask when sliding_window is set); Llama has no window.
    window = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
    inv = rope_inverse_frequencies(_rope_parameters(cfg), common["head_dim"])
    return Architecture(**common, windows=[window] * n, inv_freqs=[inv] * n,
                        qkv_bias=cfg.get("attention_bias", False), o_bias=cfg.get("attention_bias", False),
                        mlp_bias=cfg.get("mlp_bias", False))


def _qwen(cfg, common, n, kind):
    # Qwen2Config / Qwen3Config.__post_init__: sliding_window is kept only if use_sliding_window, and then layer i
    # slides iff i >= max_window_layers (layer_types, saved in config.json, says the same).
    window = cfg.get("sliding_window") if cfg.get("use_sliding_window", False) else None
    types = _layer_types(cfg, ["sliding_attention" if window is not None and i >= cfg.get("max_window_layers", 28)
                               else "full_attention" for i in range(n)])
    windows = [window if t == "sliding_attention" else None for t in types]
    inv = rope_inverse_frequencies(_rope_parameters(cfg), common["head_dim"])
    if kind == "qwen2":
        # Qwen2Attention: q_proj, k_proj and v_proj always have biases (bias=True), o_proj never.
        return Architecture(**common, windows=windows, inv_freqs=[inv] * n, qkv_bias=True)
    # Qwen3Attention: q_norm / k_norm = Qwen3RMSNorm(head_dim) on each head of q and k, before RoPE; biases only
    # with attention_bias (on all four projections); head_dim is its own field (default 128), not hidden / heads.
    bias = cfg.get("attention_bias", False)
    return Architecture(**common, windows=windows, inv_freqs=[inv] * n, qkv_bias=bias, o_bias=bias, qk_norm=True)


def _gemma3(cfg, common, n):
    # Gemma3TextModel / Gemma3DecoderLayer / Gemma3Attention:
    #  - Gemma3RMSNorm computes x / sqrt(mean(x^2) + eps) * (1 + weight), weights initialised to 0;
    #  - Gemma3TextScaledWordEmbedding multiplies the rows by sqrt(hidden_size) (the tied lm_head does not);
    #  - MLP activation is config.hidden_activation (gelu_pytorch_tanh);
    #  - input_layernorm -> attention -> post_attention_layernorm -> +residual,
    #    pre_feedforward_layernorm -> MLP -> post_feedforward_layernorm -> +residual;
    #  - q_norm / k_norm (Gemma3RMSNorm over head_dim) before RoPE; scores scaled by query_pre_attn_scalar^-0.5;
    #  - layer_types (default: every sliding_window_pattern-th layer, 1-based, is full) pick the window and the
    #    RoPE parameters: rope_parameters["sliding_attention"] (rope_local_base_freq) for local layers,
    #    rope_parameters["full_attention"] (rope_theta) for global ones.
    if cfg.get("final_logit_softcapping") is not None or cfg.get("attn_logit_softcapping") is not None:
        raise ValueError("logit soft-capping is not implemented in this reference (Gemma 3 configs leave it null)")
    if cfg.get("use_bidirectional_attention"):
        raise ValueError("bidirectional attention is not implemented in this reference")
    pattern = cfg.get("_sliding_window_pattern", cfg.get("sliding_window_pattern", 6))
    types = _layer_types(cfg, ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)])
    rope = cfg.get("rope_parameters")
    if rope is None or "sliding_attention" not in rope:  # transformers 4 fields
        rope = {"full_attention": _rope_parameters(cfg),
                "sliding_attention": {"rope_type": "default", "rope_theta": cfg.get("rope_local_base_freq", 1e4)}}
    common = dict(common, attention_scale=float(cfg.get("query_pre_attn_scalar", 256)) ** -0.5,
                  activation=cfg.get("hidden_activation") or "gelu_pytorch_tanh",
                  tied=cfg.get("tie_word_embeddings", True))
    bias = cfg.get("attention_bias", False)
    return Architecture(**common, windows=[cfg["sliding_window"] if t == "sliding_attention" else None for t in types],
                        inv_freqs=[rope_inverse_frequencies(rope[t], common["head_dim"]) for t in types],
                        norm_offset=1.0, embed_scale=math.sqrt(cfg["hidden_size"]), qkv_bias=bias, o_bias=bias,
                        qk_norm=True, sandwich_norms=True)


# ---------------------------------------------------------------------------------------------------------------
# The forward pass. Every activation may carry extra leading dimensions ([..., B, T, D]): finite differences run
# many perturbed copies of one LoRA matrix at once as such a leading dimension.
# ---------------------------------------------------------------------------------------------------------------

def rms_norm(x, weight, eps, offset):
    """x / sqrt(mean(x^2) + eps) * (offset + weight) over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (offset + weight)


def activation(name, x):
    if name == "silu":
        return x / (1.0 + np.exp(-x))
    if name in ("gelu_pytorch_tanh", "gelu_new", "gelu_fast"):
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), torch's gelu(approximate="tanh")
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    raise ValueError(f"activation {name!r} is not implemented in this reference")


def rotate(x, cos, sin):
    """RoPE as transformers applies it: x * cos + rotate_half(x) * sin, halves (not pairs) of each head."""
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


@dataclass
class Lora:
    """PEFT LoRA: y = x W^T (+ b) + scaling * (x A^T) B^T; A is [r, in], B is [out, r]."""
    scaling: float
    a: dict  # (layer, projection) -> array; may carry a leading "copies" axis when perturbed
    b: dict


class Model:
    def __init__(self, cfg, weights, lora):
        self.arch = architecture(cfg)
        shapes = tensor_shapes(cfg)
        if self.arch.tied:
            weights = {k: v for k, v in weights.items() if k != "lm_head.weight"}  # a tied copy, if saved, is unused
        missing, unexpected = sorted(set(shapes) - set(weights)), sorted(set(weights) - set(shapes))
        if missing or unexpected:
            raise ValueError(f"weights do not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        for name, shape in shapes.items():
            if tuple(weights[name].shape) != shape:
                raise ValueError(f"{name} has shape {tuple(weights[name].shape)}, the config implies {shape}")
        self.w = {k: v.astype(np.float64) for k, v in weights.items()}
        self.lora = lora

    def linear(self, x, layer, proj, prefix):
        y = x @ self.w[f"{prefix}.{proj}.weight"].T
        bias = self.w.get(f"{prefix}.{proj}.bias")
        if bias is not None:
            y = y + bias
        key = (layer, proj)
        if key in self.lora.a:
            # a perturbed matrix carries K copies ([K, r, in] or [K, out, r]); its K axis goes ahead of x's batch axis
            a, b = self.lora.a[key], self.lora.b[key]
            down = x @ a.T if a.ndim == 2 else np.matmul(x, np.swapaxes(a[:, None], -1, -2))
            up = down @ b.T if b.ndim == 2 else np.matmul(down, np.swapaxes(b[:, None], -1, -2))
            y = y + self.lora.scaling * up
        return y

    def attention(self, x, layer, positions, allowed):
        arch, p = self.arch, f"model.layers.{layer}.self_attn"
        split = lambda t, n: t.reshape(t.shape[:-1] + (n, arch.head_dim))  # noqa: E731  [..., T, n, head_dim]
        q = split(self.linear(x, layer, "q_proj", p), arch.heads)
        k = split(self.linear(x, layer, "k_proj", p), arch.kv_heads)
        v = split(self.linear(x, layer, "v_proj", p), arch.kv_heads)
        if arch.qk_norm:  # Qwen3 / Gemma 3: RMSNorm over each head's head_dim values, before RoPE
            q = rms_norm(q, self.w[f"{p}.q_norm.weight"], arch.eps, arch.norm_offset)
            k = rms_norm(k, self.w[f"{p}.k_norm.weight"], arch.eps, arch.norm_offset)
        angles = positions[..., None].astype(np.float64) * arch.inv_freqs[layer]       # [B, T, hd/2]
        angles = np.concatenate([angles, angles], axis=-1)[..., None, :]                # [B, T, 1, hd]
        q, k = rotate(q, np.cos(angles), np.sin(angles)), rotate(k, np.cos(angles), np.sin(angles))
        # [..., B, heads, T, hd]; kv head j serves query heads j*g .. j*g+g-1 (repeat_kv)
        q, k, v = (np.swapaxes(t, -2, -3) for t in (q, k, v))
        group = arch.heads // arch.kv_heads
        k, v = np.repeat(k, group, axis=-3), np.repeat(v, group, axis=-3)
        scores = np.matmul(q, np.swapaxes(k, -1, -2)) * arch.attention_scale
        scores = np.where(allowed[layer][:, None], scores, -np.inf)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        out = np.swapaxes(np.matmul(probs, v), -2, -3)
        out = out.reshape(out.shape[:-2] + (arch.heads * arch.head_dim,))
        return self.linear(out, layer, "o_proj", p)

    def mlp(self, x, layer):
        p = f"model.layers.{layer}.mlp"
        gate = activation(self.arch.activation, self.linear(x, layer, "gate_proj", p))
        return self.linear(gate * self.linear(x, layer, "up_proj", p), layer, "down_proj", p)

    def layer(self, h, layer, positions, allowed):
        arch, p, w = self.arch, f"model.layers.{layer}", self.w
        norm = lambda x, name: rms_norm(x, w[f"{p}.{name}.weight"], arch.eps, arch.norm_offset)  # noqa: E731
        attn = self.attention(norm(h, "input_layernorm"), layer, positions, allowed)
        if arch.sandwich_norms:  # Gemma 3: four norms per layer
            h = h + norm(attn, "post_attention_layernorm")
            return h + norm(self.mlp(norm(h, "pre_feedforward_layernorm"), layer), "post_feedforward_layernorm")
        h = h + attn
        return h + self.mlp(norm(h, "post_attention_layernorm"), layer)

    def masks(self, document_ids):
        """allowed[layer][b, q, k]: k <= q, same document, and, in a window of W, q - k < W.

        transformers' sliding_window_overlay keeps kv_idx > q_idx - W: W keys including the query's own token.
        """
        t = document_ids.shape[1]
        q, k = np.arange(t)[:, None], np.arange(t)[None, :]
        base = (k <= q)[None] & (document_ids[:, :, None] == document_ids[:, None, :])
        return [base if w is None else base & (q - k < w)[None] for w in self.arch.windows]

    def embed(self, input_ids):
        return self.w["model.embed_tokens.weight"][input_ids] * self.arch.embed_scale

    def logits(self, h):
        h = rms_norm(h, self.w["model.norm.weight"], self.arch.eps, self.arch.norm_offset)
        head = self.w["model.embed_tokens.weight"] if self.arch.tied else self.w["lm_head.weight"]
        return h @ head.T

    def forward(self, batch, start_layer=0, start=None, layer_inputs=None):
        """Logits [..., B, T, V]; from `start` (the input of `start_layer`) when given; records layer inputs."""
        positions, allowed = batch["position_ids"], batch["allowed"]
        h = self.embed(batch["input_ids"]) if start is None else start
        for layer in range(start_layer, self.arch.layers):
            if layer_inputs is not None:
                layer_inputs.append(h)
            h = self.layer(h, layer, positions, allowed)
        return self.logits(h)


def causal_lm_loss(logits, labels):
    """transformers ForCausalLMLoss: labels shifted left by one (the last position gets -100), cross entropy in
    float, mean over the positions whose label is not -100 across the whole batch. logits [..., B, T, V]."""
    shifted = np.concatenate([labels[:, 1:], np.full((labels.shape[0], 1), IGNORE_INDEX)], axis=1)
    scored = shifted != IGNORE_INDEX
    top = logits.max(axis=-1, keepdims=True)
    log_z = (np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0])
    index = np.broadcast_to(np.where(scored, shifted, 0)[..., None], logits.shape[:-1] + (1,))
    target = np.take_along_axis(logits, index, axis=-1)[..., 0]
    return ((log_z - target) * scored).sum(axis=(-1, -2)) / scored.sum()


# ---------------------------------------------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------------------------------------------

FD_STEP = 1e-5       # central differences: truncation ~ h^2 f''' / 6 ~ 1e-11, rounding ~ 1e-16 |loss| / h ~ 1e-11
FD_COPIES = 192      # perturbed copies evaluated together


def finite_difference_gradients(model, batch, progress=None):
    """d loss / d every LoRA element, by (loss(w + h) - loss(w - h)) / 2h, one element at a time.

    A perturbation in layer L leaves the input of layer L unchanged, so each run starts there, with up to
    FD_COPIES perturbed copies of the matrix stacked on a leading axis.
    """
    inputs = []
    model.forward(batch, layer_inputs=inputs)
    labels, grads = batch["labels"], {}
    keys = sorted(model.lora.a, key=lambda k: (k[0], PROJECTIONS.index(k[1])))
    for done, key in enumerate(keys):
        layer = key[0]
        for which, table in (("A", model.lora.a), ("B", model.lora.b)):
            original = table[key]
            flat = original.reshape(-1)
            grad = np.empty(flat.size)
            for first in range(0, flat.size, FD_COPIES // 2):
                idx = np.arange(first, min(first + FD_COPIES // 2, flat.size))
                copies = np.repeat(flat[None], 2 * idx.size, axis=0)
                copies[np.arange(idx.size), idx] += FD_STEP
                copies[idx.size + np.arange(idx.size), idx] -= FD_STEP
                table[key] = copies.reshape((2 * idx.size,) + original.shape)
                try:
                    losses = causal_lm_loss(model.forward(batch, layer, inputs[layer]), labels)
                finally:
                    table[key] = original
                grad[idx] = (losses[:idx.size] - losses[idx.size:]) / (2 * FD_STEP)
            grads[(key, which)] = grad.reshape(original.shape)
        if progress:
            progress(done + 1, len(keys))
    return grads


# ---------------------------------------------------------------------------------------------------------------
# Golden folders: reading (for --check) and writing (the numpy cases)
# ---------------------------------------------------------------------------------------------------------------

def peft_name(layer, proj, which):
    block = "self_attn" if proj in ATTENTION_PROJECTIONS else "mlp"
    return f"base_model.model.model.layers.{layer}.{block}.{proj}.lora_{which}.weight"


def lora_scaling(adapter_config):
    r, alpha = adapter_config["r"], adapter_config["lora_alpha"]
    return alpha / math.sqrt(r) if adapter_config.get("use_rslora") else alpha / r  # PEFT LoraLayer.update_layer


def load_lora(folder, layers):
    with open(os.path.join(folder, "adapter_config.json")) as f:
        adapter_config = json.load(f)
    tensors = read_safetensors(os.path.join(folder, "adapter_model.safetensors"))
    a, b = {}, {}
    for layer in range(layers):
        for proj in adapter_config["target_modules"]:
            a[(layer, proj)] = tensors[peft_name(layer, proj, "A")].astype(np.float64)
            b[(layer, proj)] = tensors[peft_name(layer, proj, "B")].astype(np.float64)
    return Lora(lora_scaling(adapter_config), a, b)


def prepare_batch(model, inputs):
    batch = {k: np.array(inputs[k], dtype=np.int64) for k in ("input_ids", "labels", "position_ids", "document_ids")}
    batch["allowed"] = model.masks(batch["document_ids"])
    return batch


def run_case(folder, progress=None):
    """Loss, logits and finite-difference LoRA gradients (by PEFT name) of the golden folder's model and inputs."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(folder, "inputs.json")) as f:
        inputs = json.load(f)
    weights = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = Model(cfg, weights, load_lora(folder, cfg["num_hidden_layers"]))
    batch = prepare_batch(model, inputs)
    logits = model.forward(batch)
    loss = float(causal_lm_loss(logits, batch["labels"]))
    grads = finite_difference_gradients(model, batch, progress)
    named = {peft_name(layer, proj, which): g for ((layer, proj), which), g in grads.items()}
    return loss, logits, named


def _progress(name):
    start = time.time()

    def report(done, total):
        if done == total or done % 7 == 0:
            print(f"  {name}: {done}/{total} LoRA pairs ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    return report


# ---------------------------------------------------------------------------------------------------------------
# The numpy cases
# ---------------------------------------------------------------------------------------------------------------

TRANSFORMERS_VERSION = "5.17.0"
COMMON = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              rms_norm_eps=1e-5, max_position_embeddings=128, initializer_range=0.08, bos_token_id=1,
              eos_token_id=2)


def llama_config(**overrides):
    c = dict(COMMON, architectures=["LlamaForCausalLM"], model_type="llama", attention_bias=False,
             attention_dropout=0.0, head_dim=16, hidden_act="silu", mlp_bias=False, num_key_value_heads=4,
             pad_token_id=None, pretraining_tp=1, rope_parameters={"rope_theta": 10000.0, "rope_type": "default"},
             tie_word_embeddings=False, use_cache=True)
    return dict(c, **overrides)


def qwen_config(kind, **overrides):
    """Qwen2Config / Qwen3Config fields as transformers 5 saves them (sliding_window null unless used)."""
    c = dict(COMMON, architectures=["Qwen2ForCausalLM" if kind == "qwen2" else "Qwen3ForCausalLM"],
             model_type=kind, attention_dropout=0.0, hidden_act="silu", num_key_value_heads=2, pad_token_id=None,
             rope_parameters={"rope_theta": 1000000.0, "rope_type": "default"}, tie_word_embeddings=False,
             use_cache=True, use_sliding_window=False, sliding_window=None, max_window_layers=28)
    if kind == "qwen3":
        c.update(attention_bias=False, head_dim=32)
    c.update(overrides)
    if c["use_sliding_window"] is False:
        c["sliding_window"] = None
    c.setdefault("layer_types", ["sliding_attention" if c["sliding_window"] is not None
                                 and i >= c["max_window_layers"] else "full_attention"
                                 for i in range(c["num_hidden_layers"])])
    return c


def gemma3_config(**overrides):
    """Gemma3TextConfig fields as transformers 5 saves them."""
    c = dict(COMMON, architectures=["Gemma3ForCausalLM"], model_type="gemma3_text", num_hidden_layers=3,
             num_key_value_heads=2, head_dim=32, hidden_activation="gelu_pytorch_tanh", pad_token_id=0,
             tie_word_embeddings=True, attention_bias=False, attention_dropout=0.0, query_pre_attn_scalar=24,
             sliding_window=8, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             final_logit_softcapping=None, attn_logit_softcapping=None, use_bidirectional_attention=False,
             rope_parameters={"full_attention": {"rope_theta": 1000000.0, "rope_type": "default"},
                              "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}},
             use_cache=True)
    return dict(c, **overrides)


# name: (config.json fields, batch rows, tokens per row)
CASES = {
    "llama_mha": (llama_config(), 2, 24),
    "qwen2_bias_tied": (qwen_config("qwen2", tie_word_embeddings=True), 2, 24),
    "qwen2_window": (qwen_config("qwen2", use_sliding_window=True, sliding_window=8, max_window_layers=1), 2, 24),
    "qwen3": (qwen_config("qwen3"), 2, 24),
    "gemma3": (gemma3_config(), 2, 20),
}


def tensor_shapes(cfg):
    """HF names and shapes of the base weights of a config (lm_head absent when tied)."""
    arch = architecture(cfg)
    d, q, kv, f = arch.hidden, arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim, arch.intermediate
    shapes = {"model.embed_tokens.weight": (arch.vocab, d), "model.norm.weight": (d,)}
    if not arch.tied:
        shapes["lm_head.weight"] = (arch.vocab, d)
    for i in range(arch.layers):
        p = f"model.layers.{i}"
        shapes.update({f"{p}.self_attn.q_proj.weight": (q, d), f"{p}.self_attn.k_proj.weight": (kv, d),
                       f"{p}.self_attn.v_proj.weight": (kv, d), f"{p}.self_attn.o_proj.weight": (d, q),
                       f"{p}.mlp.gate_proj.weight": (f, d), f"{p}.mlp.up_proj.weight": (f, d),
                       f"{p}.mlp.down_proj.weight": (d, f),
                       f"{p}.input_layernorm.weight": (d,), f"{p}.post_attention_layernorm.weight": (d,)})
        if arch.qkv_bias:
            shapes.update({f"{p}.self_attn.q_proj.bias": (q,), f"{p}.self_attn.k_proj.bias": (kv,),
                           f"{p}.self_attn.v_proj.bias": (kv,)})
        if arch.o_bias:
            shapes[f"{p}.self_attn.o_proj.bias"] = (d,)
        if arch.mlp_bias:
            shapes.update({f"{p}.mlp.gate_proj.bias": (f,), f"{p}.mlp.up_proj.bias": (f,),
                           f"{p}.mlp.down_proj.bias": (d,)})
        if arch.qk_norm:
            shapes.update({f"{p}.self_attn.q_norm.weight": (arch.head_dim,),
                           f"{p}.self_attn.k_norm.weight": (arch.head_dim,)})
        if arch.sandwich_norms:
            shapes.update({f"{p}.pre_feedforward_layernorm.weight": (d,),
                           f"{p}.post_feedforward_layernorm.weight": (d,)})
    return shapes


def random_weights(cfg, rng):
    """Normal(0, initializer_range) matrices; norms 1 + 0.1 N (0.1 N for Gemma's (1 + w)); biases 0.1 N."""
    arch = architecture(cfg)
    weights = {}
    for name, shape in tensor_shapes(cfg).items():
        if "norm" in name:
            weights[name] = (1.0 - arch.norm_offset) + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            weights[name] = 0.1 * rng.standard_normal(shape)
        else:
            weights[name] = cfg["initializer_range"] * rng.standard_normal(shape)
    return {k: v.astype(np.float32) for k, v in weights.items()}


def random_lora(arch, rng, r):
    """A as PEFT initialises it (kaiming-uniform, bound 1/sqrt(in)); B normal(0, 0.1) instead of zeros."""
    d, q, kv, f = arch.hidden, arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim, arch.intermediate
    dims = {"q_proj": (d, q), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (q, d), "gate_proj": (d, f),
            "up_proj": (d, f), "down_proj": (f, d)}
    tensors = {}
    for layer in range(arch.layers):
        for proj in PROJECTIONS:
            fan_in, fan_out = dims[proj]
            tensors[peft_name(layer, proj, "A")] = rng.uniform(-1, 1, (r, fan_in)) / math.sqrt(fan_in)
            tensors[peft_name(layer, proj, "B")] = 0.1 * rng.standard_normal((fan_out, r))
    return {k: v.astype(np.float32) for k, v in tensors.items()}


def adapter_config(r=4, alpha=8):
    """adapter_config.json as PEFT 0.21 saves it for LoraConfig(r, alpha, dropout 0, all 7 projections)."""
    return {"alora_invocation_tokens": None, "alpha_pattern": {}, "arrow_config": None, "auto_mapping": None,
            "base_model_name_or_path": None, "bias": "none", "corda_config": None, "ensure_weight_tying": False,
            "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True,
            "init_lora_weights": True, "kasa_config": None, "layer_replication": None, "layers_pattern": None,
            "layers_to_transform": None, "loftq_config": {}, "lora_alpha": alpha, "lora_bias": False,
            "lora_dropout": 0.0, "lora_ga_config": None, "megatron_config": None, "megatron_core": "megatron.core",
            "modules_to_save": None, "monteclora_config": None, "peft_type": "LORA", "peft_version": "0.21.0",
            "qalora_group_size": 16, "r": r, "rank_pattern": {}, "revision": None,
            "target_modules": ["q_proj", "o_proj", "up_proj", "v_proj", "k_proj", "gate_proj", "down_proj"],
            "target_parameters": None, "task_type": "CAUSAL_LM", "trainable_token_indices": None,
            "use_bdlora": None, "use_dora": False, "use_qalora": False, "use_rslora": False, "velora_config": None}


def random_inputs(rows, length, rng):
    """Token ids 3..255; labels equal to them except a 3-token 'prompt' and the middle token (-100)."""
    input_ids = rng.integers(3, 256, (rows, length))
    labels = input_ids.copy()
    labels[:, :3] = IGNORE_INDEX
    labels[:, length // 2] = IGNORE_INDEX
    positions = np.tile(np.arange(length), (rows, 1))
    return {"input_ids": input_ids.tolist(), "labels": labels.tolist(), "position_ids": positions.tolist(),
            "document_ids": np.zeros((rows, length), dtype=int).tolist(), "explicit_packing_mask": False}


def config_json(cfg):
    saved = dict(cfg, dtype="float32", transformers_version=TRANSFORMERS_VERSION)
    return json.dumps(dict(sorted(saved.items())), indent=2) + "\n"


def check_window(folder):
    """Where a layer has a window W, logits before position W equal those without windows and later ones differ."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(folder, "inputs.json")) as f:
        inputs = json.load(f)
    model = Model(cfg, read_safetensors(os.path.join(folder, "model.safetensors")),
                  load_lora(folder, cfg["num_hidden_layers"]))
    windows = {w for w in model.arch.windows if w is not None}
    if not windows:
        return
    (window,) = windows
    assert window < len(inputs["input_ids"][0]), "rows must be longer than the window"
    windowed = model.forward(prepare_batch(model, inputs))
    model.arch.windows = [None] * model.arch.layers
    full = model.forward(prepare_batch(model, inputs))
    assert np.abs(windowed[:, :window] - full[:, :window]).max() < 1e-12, "the window changed early positions"
    assert np.abs(windowed[:, window:] - full[:, window:]).max() > 1e-3, "the sliding window was not applied"


def make_case(name, spec, out_root, seed):
    cfg, rows, length = spec
    out = os.path.join(out_root, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = np.random.default_rng(seed)
    with open(os.path.join(out, "config.json"), "w") as f:
        f.write(config_json(cfg))
    write_safetensors(os.path.join(out, "model.safetensors"), random_weights(cfg, rng))
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(adapter_config(), f, indent=2)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), random_lora(architecture(cfg), rng, 4),
                      metadata={"format": "pt"})
    with open(os.path.join(out, "inputs.json"), "w") as f:
        json.dump(random_inputs(rows, length, rng), f, indent=1)

    start = time.time()
    check_window(out)
    loss, logits, grads = run_case(out, _progress(name))
    assert all(np.abs(g).max() > 0 for g in grads.values()), "a LoRA gradient is all zero"
    expected = {"loss": np.array(loss), "logits": logits, **grads}
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)
    for file in os.listdir(out):
        size = os.path.getsize(os.path.join(out, file))
        assert size < 1_000_000, f"{name}/{file} is {size} bytes"
    print(f"{name}: loss {loss:.6f}, {len(grads)} gradients in {time.time() - start:.0f} s, files in {out}")


# ---------------------------------------------------------------------------------------------------------------
# --check: the reference against transformers + PEFT goldens
# ---------------------------------------------------------------------------------------------------------------

# The transformers goldens are float32 results: their own rounding is ~1e-7 of the values' scale (about 1e-6 on
# logits near 4), so the tolerances are relative to the largest |value| of each kind.
CHECK_LOSS_TOL, CHECK_LOGIT_TOL, CHECK_GRAD_TOL = 1e-6, 1e-6, 1e-5


def check_case(folder):
    """|reference - transformers| of loss, logits and gradients relative to the largest |value| of each kind;
    True when all are within tolerance."""
    expected = read_safetensors(os.path.join(folder, "expected.safetensors"))
    loss, logits, grads = run_case(folder)
    assert set(grads) == {k for k in expected if "lora_" in k}, "gradient names differ"
    loss_diff = abs(loss - float(expected["loss"]))
    logit_diff, logit_scale = float(np.abs(logits - expected["logits"]).max()), float(np.abs(expected["logits"]).max())
    grad_diff = max(float(np.abs(g - expected[k]).max()) for k, g in grads.items())
    grad_scale = max(float(np.abs(expected[k]).max()) for k in grads)
    loss_err, logit_err = loss_diff / abs(float(expected["loss"])), logit_diff / logit_scale
    grad_err = grad_diff / grad_scale
    ok = loss_err <= CHECK_LOSS_TOL and logit_err <= CHECK_LOGIT_TOL and grad_err <= CHECK_GRAD_TOL
    print(f"{os.path.basename(folder)}: loss {loss:.8f} diff {loss_diff:.1e} (rel. {loss_err:.1e}); logits max diff "
          f"{logit_diff:.1e} (/ max |logit| {logit_scale:.2f} = {logit_err:.1e}); {len(grads)} gradients max diff "
          f"{grad_diff:.1e} (/ max |gradient| {grad_scale:.2f} = {grad_err:.1e}): {'ok' if ok else 'DIFFERS'}",
          flush=True)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"cases to write (default: all of {', '.join(CASES)})")
    parser.add_argument("--out", default="src/test/resources/org/jtune/model/golden-numpy")
    parser.add_argument("--check", action="store_true", help="compare with the transformers goldens instead")
    parser.add_argument("--golden", default="src/test/resources/org/jtune/model/golden")
    args = parser.parse_args()
    if args.check:
        names = args.cases or sorted(os.listdir(args.golden))
        folders = [os.path.join(args.golden, n) for n in names
                   if os.path.exists(os.path.join(args.golden, n, "expected.safetensors"))]
        if not folders:
            sys.exit(f"no transformers goldens under {args.golden}")
        results = [check_case(folder) for folder in folders]
        sys.exit(0 if all(results) else 1)
    for name in args.cases or CASES:
        if name not in CASES:
            sys.exit(f"unknown case {name!r}; cases: {', '.join(CASES)}")
    for i, (name, spec) in enumerate(CASES.items()):
        if not args.cases or name in args.cases:
            make_case(name, spec, args.out, 2000 + 17 * i)


if __name__ == "__main__":
    main()
