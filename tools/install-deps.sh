#!/bin/sh
# Installs cella's build dependencies (and with --test, what the test suites drive) from
# Debian 12's archive. One list, used by the README, .ci/run and developers alike.
#   usage: tools/install-deps.sh [--test] [--list]     (--list: print the packages, install none)
set -eu

build="meson ninja-build pkg-config gcc libc6-dev libjson-c-dev libseccomp-dev \
libarchive-dev libssl-dev libcurl4-openssl-dev libzstd-dev zlib1g-dev busybox-static"

test="libcmocka-dev python3-pytest python3-jsonschema golang-github-opencontainers-specs-dev \
clang clang-format libclang-rt-14-dev runc crun uidmap iproute2 procps util-linux e2fsprogs \
umoci skopeo docker-registry apache2-utils openssl hyperfine \
containerd podman docker.io \
qemu-system-x86 cpio debootstrap jq fuse-overlayfs acl zstd file"

pkgs=$build list=
for arg in "$@"; do
        case $arg in
        --test) pkgs="$build $test" ;;
        --list) list=1 ;;
        *) echo "usage: tools/install-deps.sh [--test] [--list]" >&2; exit 2 ;;
        esac
done
if [ -n "$list" ]; then
        echo "$pkgs"
        exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: run as root (apt-get needs it)" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "install-deps: installed: $pkgs"
