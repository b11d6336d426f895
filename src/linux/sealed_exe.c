/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/sealed_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd under vm.memfd_noexec=1 */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

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

int lnx_ensure_sealed_self(char **argv, char **envp, struct cella_error *err)
{
        _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return cella_errno(err, errno, "open /proc/self/exe");
        int seals = fcntl(self, F_GET_SEALS);
        if (seals >= 0 && (seals & SEALS) == SEALS)
                return 0;
        _cleanup_close_ int m = copy_to_memfd(self, err);
        if (m < 0)
                return m;
        syscall(SYS_execveat, m, "", argv, envp, AT_EMPTY_PATH);
        return cella_errno(err, errno, "re-execute cella from its sealed copy");
}
