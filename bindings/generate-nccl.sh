#!/bin/sh
# Regenerates bindings/src/org/jtune/bindings/nccl from nccl.h with jextract, binding exactly the symbols in
# nccl-symbols.txt. The output is never edited by hand: change nccl-symbols.txt and run this script again.
#
# Usage: generate-nccl.sh [NCCL_INCLUDE]   (the folder holding nccl.h; default $NCCL_HOME/include)
# nccl.h includes cuda_runtime.h, found under $CUDA_HOME/include.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NCCL_INCLUDE=${1:-${NCCL_HOME:-/usr}/include}
HEADER="$NCCL_INCLUDE/nccl.h"

if ! command -v jextract >/dev/null 2>&1; then
    echo "error: jextract is not on PATH; install the jextract version named in bindings/README.md and retry" >&2
    exit 1
fi
if [ ! -f "$HEADER" ]; then
    echo "error: $HEADER not found; pass the folder holding nccl.h (or set NCCL_HOME)" >&2
    exit 1
fi
if [ ! -f "$CUDA_HOME/include/cuda_runtime.h" ]; then
    echo "error: $CUDA_HOME/include/cuda_runtime.h not found (nccl.h includes it); set CUDA_HOME" >&2
    exit 1
fi

echo "jextract: $(jextract --version 2>&1 | tr '\n' ' ')"
echo "header:   $HEADER ($(grep -m1 '^#define NCCL_VERSION_CODE ' "$HEADER"))"

cd "$HERE"
rm -rf src/org/jtune/bindings/nccl
jextract \
    --output src \
    --target-package org.jtune.bindings.nccl \
    --header-class-name Nccl \
    --library :libnccl.so.2 \
    -I "$CUDA_HOME/include" \
    @nccl-symbols.txt \
    "$HEADER"
echo "generated: $(find src/org/jtune/bindings/nccl -name '*.java' | wc -l) files in bindings/src/org/jtune/bindings/nccl"
