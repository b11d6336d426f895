#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the cgroup integration tests (pytest, through the runtime's CLI) on a real cgroup v2 host:
# Debian's kernel under qemu with systemd 252 as PID 1 in its default unified layout.
#
#   tests/vm/integration-v2.sh [BUILD_DIR] [RUNTIME] [PYTEST_ARGS...]
#
# RUNTIME defaults to BUILD_DIR/cella; /usr/sbin/runc checks the tests themselves. PYTEST_ARGS
# default to the cgroup test files. The root (Debian minbase + systemd, python3-pytest,
# busybox-static, procps) is made once into $CELLA_VM_CACHE (lib.sh).
set -euo pipefail

build=${1:-build}
runtime=${2:-$build/cella}
shift $(($# > 2 ? 2 : $#))
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/integration/test_cgroup_resources.py
        tests/integration/test_cgroup_commands.py)
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$runtime" ] || die "runtime $runtime not found"
[ -x "$build/tests/probe" ] || die "$build/tests/probe not built"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
x="$work/extra/cella-test"
mkdir -p "$x/repo/tests"
cp -r "$repo/tests/integration" "$x/repo/tests/"
find "$x/repo" -name __pycache__ -prune -exec rm -rf {} +
copy_with_libs "$runtime" "$work/extra" cella-test/runtime usrmerge
cp "$build/tests/probe" "$x/probe"
{
        echo '#!/bin/bash'
        echo 'echo "== $(systemctl --version | head -n1), cgroup fs $(stat -fc %T /sys/fs/cgroup)"'
        echo 'cd /cella-test/repo'
        printf 'CELLA=/cella-test/runtime CELLA_PROBE=/cella-test/probe python3 -m pytest -v -p no:cacheprovider'
        printf ' %q' "${tests[@]}"
        echo ' 2>&1 | sed "s/^/# /"'
        echo 'echo "== pytest exit ${PIPESTATUS[0]}"'
        echo 'systemctl poweroff -ff'
} >"$x/run.sh"
chmod 755 "$x/run.sh"
# pivot_root(2) cannot leave the initial rootfs, and containers need it: copy the root into a
# tmpfs and switch_root there before systemd starts (this /init replaces the image's symlink).
cat >"$work/extra/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb mkdir -p /newroot
$bb mount -t tmpfs -o mode=0755 tmpfs /newroot
for d in /*; do
        case $d in /newroot | /proc | /sys | /dev | /init) ;; *) $bb cp -a "$d" /newroot/ ;; esac
done
$bb mkdir -p /newroot/proc /newroot/sys /newroot/dev
exec $bb switch_root /newroot /lib/systemd/systemd
INIT
chmod 755 "$work/extra/init"
make_initramfs "$work/extra" "$work/extra.cpio.gz"
cat "$(systemd_image sdroot-py python3,python3-pytest,busybox-static,procps)" "$work/extra.cpio.gz" \
        >"$work/initrd.gz"
log="${CELLA_VM_LOG:-$work/console.log}"
boot_systemd "$work/initrd.gz" "$log" "systemd.unified_cgroup_hierarchy=1"
grep -q '^== pytest exit 0' "$log" || {
        tail -n 30 "$log" >&2
        die "integration tests failed or the VM did not finish"
}
echo "integration-v2.sh: cgroup integration tests passed on cgroup v2 ($runtime)"
