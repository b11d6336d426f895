#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the cgroup unit tests (tests/unit/test_cgroup.c) on a pure cgroup v2 host: Debian's
# kernel booted under qemu (software emulation, no KVM needed) with cgroup_no_v1=all, from an
# initramfs holding busybox, the test binary and its shared libraries. The development
# machine's controllers are bound to cgroup v1, so this is where the v2 backend (subtree
# delegation, cgroup.freeze, cgroup.kill, v2 resource files, the eBPF device filter) meets a
# real kernel.
#
#   tests/vm/cgroup-v2.sh [BUILD_DIR]        (default: build)
#
# The kernel is fetched once with `apt-get download` and unpacked with dpkg -x into
# $CELLA_VM_CACHE (default /var/cache/cella-vm); it is never installed on the host.
# Needs: qemu-system-x86, busybox-static. Exit status: 0 if every test passed (skips allowed).
set -euo pipefail

build=${1:-build}
cache=${CELLA_VM_CACHE:-/var/cache/cella-vm}
test_bin="$build/tests/unit/test-cgroup"
busybox=$(command -v busybox || echo /bin/busybox)

die() { echo "cgroup-v2.sh: $*" >&2; exit 1; }
[ -x "$test_bin" ] || die "$test_bin not built (ninja -C $build)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || [ -x /bin/busybox ] || die "busybox-static missing"

kernel() {
        if [ ! -s "$cache/vmlinuz" ]; then
                mkdir -p "$cache"
                local pkg
                pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
                [ -n "$pkg" ] || die "cannot resolve linux-image-amd64"
                (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
                rm -rf "$cache/pkg"
                dpkg -x "$cache/${pkg}"_*.deb "$cache/pkg"
                cp "$cache"/pkg/boot/vmlinuz-* "$cache/vmlinuz.tmp"
                mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
                rm -rf "$cache/pkg" "$cache/${pkg}"_*.deb
        fi
        echo "$cache/vmlinuz"
}

initramfs() {
        local root=$1 out=$2
        mkdir -p "$root"/{bin,proc,sys,dev,tmp}
        cp "$busybox" "$root/bin/busybox"
        cp "$test_bin" "$root/test-cgroup"
        # The test binary is dynamic (cmocka, json-c, libc): take its libraries and loader along.
        ldd "$test_bin" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
                [ -n "$lib" ] && cp --parents -L "$lib" "$root/"
        done
        cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
echo "== cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "== kernel $(uname -r)"
CMOCKA_MESSAGE_OUTPUT=TAP /test-cgroup
echo "== test-cgroup exit $?"
poweroff -f
INIT
        chmod 755 "$root/init"
        (cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vmlinuz=$(kernel)
initramfs "$work/root" "$work/initrd.gz"
log="$work/console.log"
timeout 600 qemu-system-x86_64 -accel tcg -m 768 -smp 2 -nographic -no-reboot \
        -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
        -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet" </dev/null | tee "$log" |
        grep --line-buffered -E '^(==|ok|not ok|#|1\.\.)' || true
grep -q '^== test-cgroup exit 0' "$log" || die "tests failed or the VM did not finish (log above)"
grep -q 'cgroup2 controllers:.*memory' "$log" || die "the VM kernel has no memory controller on cgroup2"
echo "cgroup-v2.sh: all cgroup tests passed on pure cgroup v2"
