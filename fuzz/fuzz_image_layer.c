/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the layer unpacker: the input is a layer (tar, or gzip/zstd of one),
 * unpacked into a fresh directory inside a fresh parent. Any input gives a success or a clean
 * error, and nothing may ever appear in the parent next to the target (no escape).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/fs.h"
#include "image/unpack.h"

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        if (d)
                closedir(d);
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char parent[] = "/tmp/cella-fuzz-layer-XXXXXX";
        if (!mkdtemp(parent))
                abort();
        char target[64];
        snprintf(target, sizeof(target), "%s/root", parent);
        int fd = memfd_create("layer", MFD_CLOEXEC);
        if (fd < 0 || mkdir(target, 0755) < 0 || fs_write_all(fd, data, size) < 0 ||
            lseek(fd, 0, SEEK_SET) < 0)
                abort();
        int root = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct img_unpack_opts opts = {.rootless = geteuid() != 0};
        struct cella_error err = {0};
        int r = img_unpack_layer(root, fd, &opts, NULL, &err);
        if (r < 0 && err.msg[0] == '\0')
                abort();
        if (count_entries(parent) != 1) /* only "root": nothing escaped next to it */
                abort();
        close(root);
        close(fd);
        fs_rm_rf(parent);
        return 0;
}
