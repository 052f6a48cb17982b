#!/usr/bin/env bash
# Builds libengram_kernels.a, compiles the C test program against include/engram_kernels.h with
# warnings as errors, links the static library and runs it. Exits non-zero on any failure.
#
# VALGRIND=1 scripts/c-abi-test.sh runs the program under valgrind (memcheck) with the scalar
# kernels (ENGRAM_SIMD=scalar), since valgrind cannot decode AVX-512.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --lib
gcc -std=c11 -Wall -Wextra -Werror -O2 -I include tests/c/abi_test.c \
    target/release/libengram_kernels.a -lpthread -ldl -lm -o target/c-abi-test
if [[ "${VALGRIND:-0}" == 1 ]]; then
    ENGRAM_SIMD=scalar valgrind --error-exitcode=9 --quiet target/c-abi-test
else
    target/c-abi-test
fi
