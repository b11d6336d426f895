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
        ldd "$1" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
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
