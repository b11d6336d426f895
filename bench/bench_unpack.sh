#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Unpack and pull benchmark for the image layer, side by side with its peers, in one run:
#   unpack: `cella image bundle` vs `umoci unpack` vs `tar -xzf` of the same layers
#   pull:   `cella image pull` vs `skopeo copy docker://... oci:...` from a loopback registry
# The image is a debootstrap'd Debian minbase (built locally once, cached in $BENCH_DIR), split
# into three gzip layers (~45 MB compressed). Prints a table with means and ratios; it is a
# benchmark, not a test: nothing here fails on a number.
#
# Usage: bench/bench_unpack.sh [--runs N] [--no-pull]
# Env: CELLA_IMAGE (default build/cella-image), BENCH_DIR (default /var/tmp/cella-bench),
#      BENCH_ROOTFS (use this directory instead of debootstrap).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CELLA_IMAGE=${CELLA_IMAGE:-$REPO/build/cella-image}
[ -x "$CELLA_IMAGE" ] || CELLA_IMAGE=$REPO/build/src/cli/cella-image
WORK=${BENCH_DIR:-/var/tmp/cella-bench}
RUNS=5
PULL=1
while [ $# -gt 0 ]; do
        case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --no-pull) PULL=0; shift ;;
        *) echo "usage: $0 [--runs N] [--no-pull]" >&2; exit 2 ;;
        esac
done

need() {
        command -v "$1" >/dev/null || { echo "bench: $1 is not installed ($2)" >&2; exit 1; }
}
need hyperfine "apt-get install hyperfine"
need umoci "apt-get install umoci"
need jq "apt-get install jq"
[ -x "$CELLA_IMAGE" ] || { echo "bench: $CELLA_IMAGE not built (ninja -C build)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root (umoci and tar keep ownership)" >&2; exit 1; }

mkdir -p "$WORK"
ROOTFS=${BENCH_ROOTFS:-$WORK/rootfs}
if [ ! -d "$ROOTFS/usr" ]; then
        need debootstrap "apt-get install debootstrap"
        echo "bench: debootstrap --variant=minbase bookworm into $ROOTFS (once)" >&2
        debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >&2
        rm -f "$ROOTFS"/var/cache/apt/archives/*.deb
fi

# ---- the image: an OCI layout with three gzip layers ----
LAYOUT=$WORK/layout
if [ ! -f "$LAYOUT/index.json" ]; then
        rm -rf "$LAYOUT" "$WORK/layers"
        mkdir -p "$LAYOUT/blobs/sha256" "$WORK/layers"
        t() { tar --sort=name --numeric-owner --xattrs --mtime=@1700000000 -C "$ROOTFS" "$@"; }
        t -cf "$WORK/layers/1.tar" usr/lib
        t -cf "$WORK/layers/2.tar" usr/bin usr/sbin
        t -cf "$WORK/layers/3.tar" --exclude=./usr/lib --exclude=./usr/bin --exclude=./usr/sbin .
        layers="" diffs=""
        for i in 1 2 3; do
                diff=$(sha256sum < "$WORK/layers/$i.tar" | cut -d' ' -f1)
                gzip -n -6 -f "$WORK/layers/$i.tar"
                d=$(sha256sum < "$WORK/layers/$i.tar.gz" | cut -d' ' -f1)
                cp "$WORK/layers/$i.tar.gz" "$LAYOUT/blobs/sha256/$d"
                size=$(stat -c %s "$WORK/layers/$i.tar.gz")
                layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$size}"
                diffs="$diffs${diffs:+,}\"sha256:$diff\""
        done
        arch=$(dpkg --print-architecture)
        printf '{"architecture":"%s","os":"linux","config":{"Cmd":["bash"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
                "$arch" "$diffs" > "$WORK/config.json"
        c=$(sha256sum < "$WORK/config.json" | cut -d' ' -f1)
        cp "$WORK/config.json" "$LAYOUT/blobs/sha256/$c"
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
                "$c" "$(stat -c %s "$WORK/config.json")" "$layers" > "$WORK/manifest.json"
        m=$(sha256sum < "$WORK/manifest.json" | cut -d' ' -f1)
        cp "$WORK/manifest.json" "$LAYOUT/blobs/sha256/$m"
        printf '{"imageLayoutVersion":"1.0.0"}' > "$LAYOUT/oci-layout"
        printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
                "$m" "$(stat -c %s "$WORK/manifest.json")" > "$LAYOUT/index.json"
fi
LAYERS=$(ls "$WORK"/layers/*.tar.gz)
# shellcheck disable=SC2086 # LAYERS is a list of paths without spaces, split on purpose
echo "image: $(du -cb $LAYERS | tail -1 | cut -f1 | awk '{printf "%.1f MB", $1/1e6}') compressed in 3 layers, $(find "$ROOTFS" | wc -l) files" >&2

OUT=$WORK/out
results=$WORK/results
mkdir -p "$results"
tarx="mkdir -p $OUT/r"
for l in $LAYERS; do tarx="$tarx && tar --numeric-owner -xzf $l -C $OUT/r"; done

hyperfine --style basic --warmup 1 --runs "$RUNS" --prepare "rm -rf $OUT; sync" \
        --export-json "$results/unpack.json" \
        -n cella "$CELLA_IMAGE bundle oci:$LAYOUT:latest $OUT/b -- true" \
        -n umoci "umoci unpack --image $LAYOUT:latest $OUT/b" \
        -n tar "$tarx" >&2

REG_PID=
cleanup() {
        rm -rf "$OUT"
        [ -z "$REG_PID" ] || { kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null || true; }
}
trap cleanup EXIT

if [ "$PULL" = 1 ] && command -v docker-registry >/dev/null && command -v skopeo >/dev/null; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        rm -rf "$WORK/registry"
        mkdir -p "$WORK/registry"
        cat > "$WORK/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry/data
http:
  addr: 127.0.0.1:$port
EOF
        docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
        REG_PID=$!
        for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
        skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:latest" "docker://127.0.0.1:$port/bench:latest"
        hyperfine --style basic --warmup 1 --runs "$RUNS" --prepare "rm -rf $OUT; mkdir -p $OUT; sync" \
                --export-json "$results/pull.json" \
                -n cella "$CELLA_IMAGE --root $OUT/store pull -q 127.0.0.1:$port/bench:latest" \
                -n skopeo "skopeo copy -q --src-tls-verify=false docker://127.0.0.1:$port/bench:latest oci:$OUT/sk:latest" >&2
fi

mean() { jq -r ".results[] | select(.command == \"$2\") | .mean" "$results/$1.json"; }
cpu() { jq -r ".results[] | select(.command == \"$2\") | (.user + .system)" "$results/$1.json"; }
row() { # label file cella-name peer-name
        awk -v n="$1" -v a="$(mean "$2" cella)" -v b="$(mean "$2" "$3")" -v p="$3" \
                -v ca="$(cpu "$2" cella)" -v cb="$(cpu "$2" "$3")" \
                'BEGIN { printf "| %-24s | %-6s | %7.3f s | %7.3f s | %5.2f× | %6.3f s | %6.3f s | %5.2f× |\n",
                         n, p, a, b, b / a, ca, cb, cb / ca }'
}
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (wall time suffers first when it is high)"
echo
echo "| operation                | peer   | cella wall | peer wall | ratio | cella CPU | peer CPU | ratio |"
echo "|--------------------------|--------|-----------|-----------|-------|-----------|----------|-------|"
row "unpack 3 layers" unpack umoci
row "unpack 3 layers" unpack tar
if [ -f "$results/pull.json" ] && [ "$PULL" = 1 ]; then
        row "pull from local registry" pull skopeo
fi
echo
echo "(ratio = peer / cella; > 1: cella is faster. Targets: ≥ 2× umoci, ≥ 0.77× tar (within"
echo " 1.3×), ≥ 1× skopeo. CPU = user + system time of the command and its children.)"
