#!/usr/bin/env bash
# Builds libengram_kernels.a, compiles the C test program against include/engram_kernels.h with
# warnings as errors, links the static library and runs it. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --lib
gcc -std=c11 -Wall -Wextra -Werror -O2 -I include tests/c/abi_test.c \
    target/release/libengram_kernels.a -lpthread -ldl -lm -o target/c-abi-test
target/c-abi-test
