#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the cgroup unit tests under systemd as PID 1 (for the systemd cgroup driver) on Debian's
# kernel under qemu: a debootstrapped Debian root (minbase + systemd + dbus) is booted straight
# from an initramfs, and a oneshot unit runs the tests and powers off. The development machine
# has no systemd as init, so this is where cg_init_systemd() meets real systemd.
#
#   tests/vm/cgroup-systemd.sh [BUILD_DIR] [unified|hybrid|legacy]   (default: build unified)
#
# The second argument picks systemd's cgroup layout: pure v2 (Debian 12's default), hybrid (v1
# controllers plus cgroup2 at /sys/fs/cgroup/unified) or legacy (v1 only).
#
# The root is made once into $CELLA_VM_CACHE/sdroot (debootstrap from $CELLA_VM_MIRROR, default
# http://deb.debian.org/debian) and packed once into sdroot.cpio.gz; each run appends a small
# archive with the test binary. Needs: qemu-system-x86, debootstrap, busybox-static.
set -euo pipefail

build=${1:-build}
layout=${2:-unified}
. "$(dirname "$0")/lib.sh"
case $layout in
unified) cgroup_args="systemd.unified_cgroup_hierarchy=1" ;;
hybrid) cgroup_args="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0" ;;
legacy) cgroup_args="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1" ;;
*) die "layout must be unified, hybrid or legacy" ;;
esac
test_bin="$build/tests/unit/test-cgroup"
[ -x "$test_bin" ] || die "$test_bin not built (ninja -C $build)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/extra/cella-test"
copy_with_libs "$test_bin" "$work/extra" cella-test/test-cgroup usrmerge
cat >"$work/extra/cella-test/run.sh" <<'RUN'
#!/bin/sh
echo "== $(systemctl --version | head -n1), cgroup fs $(stat -fc %T /sys/fs/cgroup)"
CMOCKA_MESSAGE_OUTPUT=TAP /cella-test/test-cgroup
echo "== test-cgroup exit $?"
systemctl poweroff -ff
RUN
chmod 755 "$work/extra/cella-test/run.sh"
make_initramfs "$work/extra" "$work/extra.cpio.gz"
# The kernel unpacks concatenated archives in order: the cached root, then the test files.
cat "$(systemd_image sdroot)" "$work/extra.cpio.gz" >"$work/initrd.gz"
log="${CELLA_VM_LOG:-$work/console.log}"
boot_systemd "$work/initrd.gz" "$log" "$cgroup_args"
grep -q '^== test-cgroup exit 0' "$log" || {
        tail -n 40 "$log" >&2
        die "tests failed or the VM did not finish"
}
grep -q 'skipped test_real_systemd_scope' "$log" && die "systemd was not detected in the VM"
echo "cgroup-systemd.sh: all cgroup tests passed under systemd ($layout cgroups)"
