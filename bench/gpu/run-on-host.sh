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
#   and bench-train-qwen, the training step at the Qwen2.5-7B and Qwen3-8B shapes with the peer on the same shapes)
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
        --select-class org.jtune.kernels.ElementwiseKernelsGpuTest --select-class org.jtune.model.gpu.GpuLlamaModelGpuTest \
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
    *) echo "unknown step $step"; status=1 ;;
  esac
done
exit $status
