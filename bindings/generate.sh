#!/bin/sh
# Regenerates bindings/src from cuda.h with jextract, binding exactly the symbols in symbols.txt.
# The output is never edited by hand: change symbols.txt and run this script again.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
HEADER="$CUDA_HOME/include/cuda.h"

if ! command -v jextract >/dev/null 2>&1; then
    echo "error: jextract is not on PATH; install the jextract version named in bindings/README.md and retry" >&2
    exit 1
fi
if [ ! -f "$HEADER" ]; then
    echo "error: $HEADER not found; set CUDA_HOME to the CUDA toolkit root" >&2
    exit 1
fi

echo "jextract: $(jextract --version 2>&1 | tr '\n' ' ')"
echo "header:   $HEADER ($(grep -m1 '^#define CUDA_VERSION ' "$HEADER"))"

cd "$HERE"
# Only this header's files: bindings/src/org/jtune/bindings/nccl is generate-nccl.sh's.
rm -f src/org/jtune/bindings/*.java
jextract \
    --output src \
    --target-package org.jtune.bindings \
    --header-class-name CudaDriver \
    --library :libcuda.so.1 \
    @symbols.txt \
    "$HEADER"
echo "generated: $(find src/org/jtune/bindings -maxdepth 1 -name '*.java' | wc -l) files in bindings/src/org/jtune/bindings"
