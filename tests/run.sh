#!/bin/sh
# Runs every test suite: C unit tests (meson), the fuzzers for a bounded time, the cgroup-v2 VM
# suite when its harness is present, then the pytest suites (integration, conformance, engine
# compatibility). pytest runs last so its summary line closes the output.
#   usage: tests/run.sh            (from the repository root, as root)
#   env:   FUZZ_SECONDS (default 60 per target; 0 skips), BUILD_DIR (default build)
set -eu

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build"
ninja -C "$build"

echo "== unit tests"
meson test -C "$build" --suite unit --print-errorlogs

fuzz=${FUZZ_SECONDS:-60}
if [ "$fuzz" != 0 ]; then
        echo "== fuzzing (${fuzz}s per target)"
        fuzz/run.sh "$fuzz"
fi

# cgroup v2 only (cgroup_no_v1=all) and systemd as PID 1: what this host cannot be. Each suite
# boots its VM once (qemu, software emulation); the kernel and a debootstrapped root are cached.
if command -v qemu-system-x86_64 >/dev/null; then
        echo "== cgroup v2 unit tests in a VM"
        tests/vm/cgroup-v2.sh "$build"
        echo "== cgroup tests under systemd in a VM"
        tests/vm/cgroup-systemd.sh "$build"
        echo "== cgroup integration tests through the CLI on cgroup v2 + systemd in a VM"
        tests/vm/integration-v2.sh "$build"
else
        echo "== SKIPPED: cgroup v2 / systemd VM suites: qemu-system-x86_64 is not installed"
fi

echo "== pytest"
suites=tests/integration
for d in tests/conformance tests/compat; do
        [ -d "$d" ] && suites="$suites $d"
done
# shellcheck disable=SC2086
exec /usr/bin/python3 -m pytest -p no:cacheprovider $suites
