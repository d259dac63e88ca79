#!/usr/bin/env bash
# The first README command: install what is missing, build, train the default intent model if
# there is none, and start the bot (gateway + engine) on http://127.0.0.1:8080. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
deploy/build.sh -DTELLER_BUILD_TESTS=OFF -DTELLER_BUILD_BENCH=OFF

model=${TELLER_MODEL:-models/teller-intent.model}
if [[ ! -f $model ]]; then
    echo "quickstart: no model at $model; training one from the skills' examples"
    build/teller train --output "$model"
fi

exec build/teller run --model "$model" "$@"
