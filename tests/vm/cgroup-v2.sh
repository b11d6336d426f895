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
# $CELLA_VM_CACHE (default /var/cache/cella-vm); it is never installed on the host (lib.sh).
# Needs: qemu-system-x86, busybox-static. Exit status: 0 if every test passed (skips allowed).
set -euo pipefail

build=${1:-build}
. "$(dirname "$0")/lib.sh"
test_bin="$build/tests/unit/test-cgroup"
busybox=$(command -v busybox || echo /bin/busybox)

[ -x "$test_bin" ] || die "$test_bin not built (ninja -C $build)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[ -x "$busybox" ] || die "busybox-static missing"

initramfs() {
        local root=$1 out=$2
        mkdir -p "$root"/{bin,proc,sys,dev,tmp}
        cp "$busybox" "$root/bin/busybox"
        copy_with_libs "$test_bin" "$root" test-cgroup
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
        make_initramfs "$root" "$out"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vmlinuz=$(vm_kernel)
initramfs "$work/root" "$work/initrd.gz"
log="$work/console.log"
timeout 600 qemu-system-x86_64 -accel tcg -m 768 -smp 2 -nographic -no-reboot \
        -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
        -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet" </dev/null | tee "$log" |
        grep --line-buffered -E '^(==|ok|not ok|#|1\.\.)' || true
grep -q '^== test-cgroup exit 0' "$log" || die "tests failed or the VM did not finish (log above)"
grep -q 'cgroup2 controllers:.*memory' "$log" || die "the VM kernel has no memory controller on cgroup2"
echo "cgroup-v2.sh: all cgroup tests passed on pure cgroup v2"
