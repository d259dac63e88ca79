#!/usr/bin/env bash
# The first README command: install what is missing, build, train the default intent model and
# the FAQ model if there are none, and start the bot (gateway + engine) on
# http://127.0.0.1:8080. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
deploy/build.sh -DTELLER_BUILD_TESTS=OFF -DTELLER_BUILD_BENCH=OFF

model=${TELLER_MODEL:-models/teller-intent.model}
if [[ ! -f $model ]]; then
    echo "quickstart: no model at $model; training one from the skills' examples"
    build/teller train --output "$model"
fi

faq_model="$(dirname "$model")/teller-faq.model"
if [[ ! -f $faq_model ]]; then
    echo "quickstart: no FAQ model at $faq_model; training one from knowledge/faq"
    build/teller train-faq --output "$faq_model"
fi

exec build/teller run --model "$model" "$@"
