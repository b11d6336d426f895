/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/sealed_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd under vm.memfd_noexec=1 */
#endif

#define SEALS           (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define OVERLAYFS_MAGIC 0x794c7630
/* Set by us just before executing the overlayfs view of the binary; removed again at once. */
#define OVERLAY_ENV "_CELLA_SEALED_OVERLAY"

/*
 * execve needs the ELF header, program headers and PT_LOAD segments only: copying up to the
 * end of the last segment skips the debug sections, about half of a debugoptimized build.
 */
static off_t loadable_size(int fd, off_t file_size)
{
        Elf64_Ehdr eh;
        if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
                return file_size;
        Elf64_Phdr ph[64];
        size_t len = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
        if (pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
                return file_size;
        off_t end = (off_t)(eh.e_phoff + len);
        for (int i = 0; i < eh.e_phnum; i++) {
                off_t seg = (off_t)(ph[i].p_offset + ph[i].p_filesz);
                if (seg > end)
                        end = seg;
        }
        return end < file_size ? end : file_size;
}

static int copy_to_memfd(int src, struct cella_error *err)
{
        struct stat st;
        if (fstat(src, &st) < 0)
                return cella_errno(err, errno, "stat /proc/self/exe");
        int m = memfd_create("cella", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (m < 0 && errno == EINVAL)
                m = memfd_create("cella", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (m < 0)
                return cella_errno(err, errno, "memfd_create for a sealed copy of cella");
        off_t size = loadable_size(src, st.st_size), off = 0;
        while (off < size) {
                ssize_t n = sendfile(m, src, &off, (size_t)(size - off));
                if (n <= 0) {
                        int e = n < 0 ? errno : EIO;
                        close(m);
                        return cella_errno(err, e, "copy cella into a sealed memfd");
                }
        }
        if (fchmod(m, 0555) < 0 || fcntl(m, F_ADD_SEALS, SEALS) < 0) {
                int e = errno;
                close(m);
                return cella_errno(err, e, "seal the copy of cella");
        }
        return m;
}

/* Appends path to buf with overlayfs's lowerdir escapes ('\\' and ':'). */
static int append_lowerdir(char *buf, size_t size, size_t *len, const char *path)
{
        for (const char *p = path; *p; p++) {
                if (*len + 3 >= size)
                        return -ENAMETOOLONG;
                if (*p == '\\' || *p == ':')
                        buf[(*len)++] = '\\';
                buf[(*len)++] = *p;
        }
        buf[*len] = '\0';
        return 0;
}

/*
 * A private overlayfs whose layers are the binary's directory (on top) and an unrelated empty
 * enough directory (overlayfs needs two lower layers when it has no upper one). It is never
 * attached anywhere: only the returned O_PATH fd of the binary reaches it. With no upper
 * layer overlayfs refuses every write, and unlike a read-only bind mount this cannot be undone
 * by a remount. No copy is made: the page cache of the real file is used (runc 1.2 does the
 * same). Needs CAP_SYS_ADMIN; any failure means "use the memfd copy".
 */
static int open_through_overlay(int self, const char *spare_dir)
{
        char exe[PATH_MAX], lower[2 * PATH_MAX + 8];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0 || exe[0] != '/' || !spare_dir)
                return -EINVAL;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        *slash = '\0';
        const char *name = slash + 1, *dir = slash == exe ? "/" : exe;
        size_t len = 0;
        int r = append_lowerdir(lower, sizeof(lower), &len, dir);
        if (r == 0) {
                lower[len++] = ':'; /* the layer separator (room was checked) */
                r = append_lowerdir(lower, sizeof(lower), &len, spare_dir);
        }
        if (r < 0)
                return r;
        _cleanup_close_ int ctx = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (ctx < 0)
                return -errno;
        if (syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
                return -errno;
        /* xino only adds dmesg noise for layers on different filesystems; we do not need it. */
        (void)syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, "xino", "off", 0);
        if (syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        _cleanup_close_ int mnt =
            (int)syscall(SYS_fsmount, ctx, FSMOUNT_CLOEXEC,
                         MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
        if (mnt < 0)
                return -errno;
        int fd = openat(mnt, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* The top layer is the binary's own directory, so this is the same file. */
        struct stat a, b;
        if (fstat(fd, &a) < 0 || fstat(self, &b) < 0 || !S_ISREG(a.st_mode) ||
            a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec ||
            a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) {
                close(fd);
                return -ESTALE;
        }
        return fd;
}

/* Are we the overlayfs view that open_through_overlay made (and not some host overlay)? */
static bool running_from_our_overlay(int self)
{
        if (!getenv(OVERLAY_ENV))
                return false;
        unsetenv(OVERLAY_ENV);
        struct statfs sf;
        return fstatfs(self, &sf) == 0 && sf.f_type == OVERLAYFS_MAGIC && (sf.f_flags & ST_RDONLY);
}

int lnx_ensure_sealed_self(char **argv, const char *spare_dir, struct cella_error *err)
{
        extern char **environ;
        _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return cella_errno(err, errno, "open /proc/self/exe");
        int seals = fcntl(self, F_GET_SEALS);
        if (seals >= 0 && (seals & SEALS) == SEALS)
                return 0;
        /* A marker without the overlay (or a failed check) falls through to the copy, once. */
        bool tried_overlay = getenv(OVERLAY_ENV) != NULL;
        if (running_from_our_overlay(self))
                return 0;
        _cleanup_close_ int ovl = tried_overlay ? -1 : open_through_overlay(self, spare_dir);
        if (ovl >= 0 && setenv(OVERLAY_ENV, "1", 1) == 0) {
                syscall(SYS_execveat, ovl, "", argv, environ, AT_EMPTY_PATH);
                unsetenv(OVERLAY_ENV);
        }
        _cleanup_close_ int m = copy_to_memfd(self, err);
        if (m < 0)
                return m;
        syscall(SYS_execveat, m, "", argv, environ, AT_EMPTY_PATH);
        return cella_errno(err, errno, "re-execute cella from its sealed copy");
}
