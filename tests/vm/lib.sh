# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/vm scripts: Debian's kernel, fetched once into $cache and never installed
# on the host, and copying a dynamic binary with its libraries into a root directory.

cache=${CELLA_VM_CACHE:-/var/cache/cella-vm}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

vm_kernel() {
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

# copy_with_libs BINARY ROOT DEST [usrmerge]: BINARY to ROOT/DEST plus every library ldd
# names. With usrmerge, ROOT is a merged-/usr Debian root whose /lib is a symlink that a
# directory in a later archive would replace: libraries go below /usr, the loader is ROOT's.
copy_with_libs() {
        cp "$1" "$2/$3"
        { ldd "$1" 2>/dev/null || true; } | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
                [ -n "$lib" ] || continue
                if [ -z "${4:-}" ]; then
                        cp --parents -L "$lib" "$2/"
                elif [ "${lib#/lib/}" != "$lib" ]; then
                        mkdir -p "$2/usr$(dirname "$lib")"
                        cp -L "$lib" "$2/usr$lib"
                fi
        done
}

# make_initramfs ROOT OUT: a gzip'd newc cpio of ROOT.
make_initramfs() {
        local busybox
        busybox=$(command -v busybox || echo /bin/busybox)
        (cd "$1" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$2"
}

# The oneshot unit that runs the tests, its output on the serial console.
write_units() {
        local root=$1
        cat >"$root/etc/systemd/system/cella-test.service" <<'UNIT'
[Unit]
Description=cella cgroup tests
Requires=dbus.service
After=dbus.service

[Service]
Type=oneshot
ExecStart=/cella-test/run.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
UNIT
        mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
        ln -sf /etc/systemd/system/cella-test.service \
                "$root/etc/systemd/system/multi-user.target.wants/cella-test.service"
        ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
        # Nothing that waits for a terminal, a disk or the network.
        for u in serial-getty@ttyS0.service getty@tty1.service systemd-remount-fs.service \
                apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
                systemd-firstboot.service; do
                ln -sf /dev/null "$root/etc/systemd/system/$u"
        done
        echo cella-vm >"$root/etc/hostname"
        : >"$root/etc/machine-id"
        ln -sf /lib/systemd/systemd "$root/init"
}

# systemd_image NAME EXTRA_PACKAGES: a Debian root with systemd as init, packed once into
# $cache/NAME.cpio.gz; at boot its cella-test.service runs /cella-test/run.sh on the console.
systemd_image() {
        local name=$1 pkgs=systemd,systemd-sysv,dbus${2:+,$2}
        local mirror=${CELLA_VM_MIRROR:-http://deb.debian.org/debian}
        if [ ! -s "$cache/$name.cpio.gz" ]; then
                command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
                if [ ! -d "$cache/$name" ]; then
                        rm -rf "$cache/$name.tmp"
                        debootstrap --variant=minbase --include="$pkgs" bookworm \
                                "$cache/$name.tmp" "$mirror" >"$cache/$name.log" 2>&1 ||
                                die "debootstrap failed (see $cache/$name.log)"
                        mv "$cache/$name.tmp" "$cache/$name"
                fi
                rm -rf "$cache/$name"/usr/share/{doc,man,locale,info} "$cache/$name"/var/cache/apt/*
                write_units "$cache/$name"
                make_initramfs "$cache/$name" "$cache/$name.cpio.gz.tmp"
                mv "$cache/$name.cpio.gz.tmp" "$cache/$name.cpio.gz"
        fi
        echo "$cache/$name.cpio.gz"
}

# boot_systemd INITRD LOG KERNEL_ARGS: boots it, prints test lines, keeps the console in LOG.
boot_systemd() {
        timeout 600 qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
                -kernel "$(vm_kernel)" -initrd "$1" \
                -append "console=ttyS0 panic=-1 quiet systemd.show_status=0 $3" </dev/null |
                tee "$2" | grep --line-buffered -E '^(==|ok|not ok|#|1\.\.|[A-Za-z_/.]+\.py |=+ .* =+$|FAILED|PASSED|ERROR)' || true
}

