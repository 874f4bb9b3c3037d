#!/usr/bin/env bash
# Installs the built tree into a temporary prefix (`cmake --install`), configures and builds the consumer
# project against it with find_package(cinefactor), and runs it.
#   tests/install_consumer/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/cinefactor"
test -f "$work/prefix/include/cinefactor/cinefactor.hpp"
if grep -rl 'cuda_runtime\|cublas\|#include "\(core\|data\|engine\|recommend\|eval\|server\)/' "$work/prefix/include"; then
  echo "install_consumer: an installed public header includes a CUDA or internal header" >&2
  exit 1
fi
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer" "$work/model.cfm"
