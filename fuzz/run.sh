#!/bin/sh
# Builds every libFuzzer target with clang, ASan and UBSan, and runs each for SECONDS
# (default 60) on its seed corpus. Exits non-zero if any target finds a crash, leak or UB;
# the reproducer is left in BUILD/fuzz-artifacts/NAME/ (BUILD: $FUZZ_BUILD_DIR or build-fuzz).
#   usage: fuzz/run.sh [SECONDS]
set -eu

seconds=${1:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
jobs=${FUZZ_JOBS:-1}

command -v clang >/dev/null || { echo "fuzz/run.sh: clang is required" >&2; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
        # fuzzer-no-link instruments the libraries for coverage; the targets add -fsanitize=fuzzer.
        # werror off: this build is for finding bugs, not for policing clang-only warnings.
        CC=clang meson setup "$build" "$src" -Dfuzz=true -Dtests=false \
                -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized -Dwerror=false \
                -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined'
fi

targets=$(sed -n "s/^ *'\([a-z0-9_]*\)' *: *\[.*/\1/p" "$src/fuzz/meson.build")
for t in $targets; do
        ninja -C "$build" "fuzz/fuzz-$t"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $targets; do
        corpus=$(mktemp -d)
        # Work on a copy so the checked-in seeds stay small and reviewable.
        cp "$src/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
        artifacts="$build/fuzz-artifacts/$t"
        mkdir -p "$artifacts"
        dict=""
        [ -f "$src/fuzz/$t.dict" ] && dict="-dict=$src/fuzz/$t.dict"
        # -jobs>1 forks workers that log to ./fuzz-N.log: keep those in the artifacts dir.
        parallel=""
        [ "$jobs" -gt 1 ] && parallel="-jobs=$jobs -workers=$jobs"
        echo "== fuzz-$t for ${seconds}s"
        if ! (cd "$artifacts" && "$build/fuzz/fuzz-$t" -max_total_time="$seconds" \
                -max_len=65536 -timeout=10 -print_final_stats=1 $parallel \
                -artifact_prefix="$artifacts/" $dict "$corpus"); then
                echo "fuzz-$t: FAILED (reproducers in $artifacts)" >&2
                status=1
        fi
        rm -rf "$corpus"
        rm -f "$artifacts"/fuzz-*.log
        rmdir "$artifacts" 2>/dev/null || true
done
exit $status
