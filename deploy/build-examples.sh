#!/usr/bin/env bash
# Installs a Teller build into <build>/install and builds every examples/<name> against that
# installed package (find_package(Teller)), as an outside skill developer would.
# Usage: deploy/build-examples.sh [BUILD_DIR]   (default: build; it must already be built)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

build=${1:-build}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
    echo "build-examples: $build is not a configured build; run deploy/build.sh first" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
prefix=$build/install
jobs=${TELLER_BUILD_JOBS:-$(nproc)}
generator=()
if command -v ninja >/dev/null; then
    generator=(-G Ninja)
fi

# A fresh install, so no file left from an older one can hide a missing install rule.
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
echo "build-examples: installed $build into $prefix"

built=()
for dir in "$repo"/examples/*/; do
    [[ -f "$dir/CMakeLists.txt" ]] || continue
    name=$(basename "$dir")
    out=$build/examples/$name
    echo "build-examples: building examples/$name against $prefix"
    cmake --fresh -S "$dir" -B "$out" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$prefix" >/dev/null

    # The example must have found this install, not some other Teller on the machine.
    found=$(sed -n 's/^Teller_DIR:PATH=//p' "$out/CMakeCache.txt")
    if [[ "$found" != "$prefix"/* ]]; then
        echo "build-examples: examples/$name found Teller at '$found', not under $prefix" >&2
        exit 1
    fi
    cmake --build "$out" -j "$jobs"
    while IFS= read -r file; do
        built+=("$file")
    done < <(find "$out" -maxdepth 1 -name '*.so' | sort)
done

if [[ ${#built[@]} -eq 0 ]]; then
    echo "build-examples: no example was built" >&2
    exit 1
fi
echo "build-examples: built"
printf '  %s\n' "${built[@]}"
