/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cella-image: the image commands. A program of its own so the runtime binary `cella` does not
 * link libarchive, libcurl or OpenSSL; `cella image ARGS...` execs `cella-image ARGS...`.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "image/bundle.h"
#include "image/source.h"

static const char *arg_root;

static int fail(const struct cella_error *err)
{
        fprintf(stderr, "cella image: %s\n", err->msg[0] ? err->msg : strerror(err->code));
        return 1;
}

static int usage_error(const char *msg, const char *what)
{
        fprintf(stderr, "cella image: %s%s\nTry 'cella image --help'.\n", msg, what);
        return 2;
}

/* Splits argv at the first "--": options and operands before it, a command after it. */
static char **split_dashdash(int *argc, char **argv)
{
        for (int i = 1; i < *argc; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        argv[i] = NULL;
                        char **rest = argv + i + 1;
                        *argc = i;
                        return rest;
                }
        }
        return NULL;
}

static bool is_embedded_busybox(const char *ref)
{
        static const char *const names[] = {
            "busybox",
            "busybox:latest",
            "library/busybox",
            "library/busybox:latest",
            "docker.io/library/busybox",
            "docker.io/library/busybox:latest",
        };
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strcmp(ref, names[i]) == 0)
                        return true;
        return false;
}

/* REF: "oci:DIR[:TAG]" (an OCI layout) or the embedded busybox image. */
static int open_ref(const char *ref, struct img_source **ret, struct img_descriptor *ret_top,
                    struct cella_error *err)
{
        if (strncmp(ref, "oci:", 4) == 0) {
                _cleanup_free_ char *dir = strdup(ref + 4);
                if (!dir)
                        return cella_err(err, ENOMEM, "out of memory");
                char *tag = strrchr(dir, ':');
                if (tag)
                        *tag++ = '\0';
                return img_source_oci_layout(dir, tag, ret, ret_top, err);
        }
        if (is_embedded_busybox(ref))
                return img_source_embedded(ret, ret_top, err);
        return cella_err(err, ENOENT, "image \"%s\" not found (known: busybox, oci:DIR[:TAG])",
                         ref);
}

static int cmd_bundle(int argc, char **argv)
{
        static const struct option opts[] = {
            {"rootless", no_argument, NULL, 'r'},
            {"platform", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        char **cmd = split_dashdash(&argc, argv);
        struct img_bundle_opts bo = {.rootless = geteuid() != 0, .terminal = isatty(0) == 1};
        struct img_platform platform;
        struct cella_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        bo.rootless = true;
                        break;
                case 'p':
                        if (img_platform_parse(optarg, &platform, &err) < 0)
                                return fail(&err);
                        bo.platform = &platform;
                        break;
                case 'h':
                        puts("Usage: cella image bundle [--rootless] [--platform OS/ARCH] REF DIR "
                             "[-- CMD ARGS...]\n"
                             "Writes DIR/rootfs and DIR/config.json for `cella run -b DIR`.");
                        return 0;
                default:
                        return 2;
                }
        }
        if (argc - optind != 2)
                return usage_error("bundle: expected REF and DIR", "");
        bo.args = cmd;
        struct img_source *src _cleanup_(img_source_freep) = NULL;
        struct img_descriptor top;
        if (open_ref(argv[optind], &src, &top, &err) < 0)
                return fail(&err);
        if (img_bundle_create(src, &top, argv[optind + 1], &bo, &err) < 0)
                return fail(&err);
        return 0;
}

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *help;
} commands[] = {
    {"bundle", cmd_bundle, "make an OCI runtime bundle (rootfs + config.json) from an image"},
};

static void usage(void)
{
        puts("Usage: cella image [--root DIR] COMMAND [ARGS...]\n\nCommands:");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                printf("  %-10s %s\n", commands[i].name, commands[i].help);
        puts("\nImages: busybox (embedded), oci:DIR[:TAG] (an OCI image layout).");
}

int main(int argc, char **argv)
{
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
                        arg_root = argv[++i];
                else if (strncmp(argv[i], "--root=", 7) == 0)
                        arg_root = argv[i] + 7;
                else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        usage();
                        return 0;
                } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
                        puts("cella-image " CELLA_VERSION);
                        return 0;
                } else
                        return usage_error("unknown option: ", argv[i]);
        }
        if (i == argc) {
                usage();
                return 2;
        }
        for (size_t k = 0; k < ARRAY_SIZE(commands); k++) {
                if (strcmp(argv[i], commands[k].name) == 0) {
                        optind = 1;
                        return commands[k].fn(argc - i, argv + i);
                }
        }
        return usage_error("unknown command: ", argv[i]);
}
