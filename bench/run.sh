#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Compare cella, runc and crun side by side: `run` of /bin/true (median, p90, ratio to crun),
# the runtime's peak RSS and the smallest memory limit a container starts under.
#   bench/run.sh [--runs N] [--help for all options]
# Needs root, busybox-static, runc, crun, a C compiler and build/cella (meson setup build &&
# ninja -C build). Prints a markdown table and writes it to bench/results.md.
# Method and findings: docs/benchmarks.md.
exec python3 "$(dirname "$0")/bench.py" "$@"
