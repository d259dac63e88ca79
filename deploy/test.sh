#!/usr/bin/env bash
# The second README command: install what is missing, build, and run the whole test suite.
# Tests start their own redis-server on free loopback ports and librdkafka mock clusters.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
deploy/build.sh -DTELLER_BUILD_TESTS=ON
# Out-of-tree skills under examples/, built against the installed package as their authors would.
deploy/build-examples.sh

jobs=${TELLER_TEST_JOBS:-$(nproc)}
ctest --test-dir build --output-on-failure -j "$jobs" -LE bench
