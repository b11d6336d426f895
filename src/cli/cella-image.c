/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cella-image: the image commands. A program of its own so the runtime binary `cella` does not
 * link libarchive, libcurl or OpenSSL; `cella image ARGS...` execs `cella-image ARGS...`.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/json.h"
#include "image/bundle.h"
#include "image/image_io.h"
#include "image/registry.h"
#include "image/snapshot.h"
#include "image/store.h"
#include "image/source.h"
#include "image/unpack.h"

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

static int open_store(struct img_store **ret, bool create, struct cella_error *err)
{
        _cleanup_free_ char *def = arg_root ? NULL : img_store_default_root();
        const char *root = arg_root ? arg_root : def;
        if (!root)
                return cella_err(err, ENOMEM, "out of memory");
        if (!create) {
                _cleanup_free_ char *dir = NULL;
                struct stat sb;
                if (asprintf(&dir, "%s/image", root) < 0)
                        return cella_err(err, ENOMEM, "out of memory");
                if (stat(dir, &sb) < 0)
                        return -ENOENT; /* no store yet: nothing in it */
        }
        return img_store_open(root, ret, err);
}

/*
 * REF: "oci:DIR[:TAG]" (an OCI layout), a name or manifest digest in the store, or the embedded
 * busybox image (which an image of the same name in the store overrides).
 */
static int open_ref(const char *ref, struct img_store **st, struct img_source **ret,
                    struct img_descriptor *ret_top, struct cella_error *err)
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
        int r = open_store(st, false, err);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == 0) {
                struct img_store_image img;
                struct cella_error lookup_err = {0};
                r = img_store_lookup(*st, ref, &img, &lookup_err);
                if (r == 0) {
                        *ret = img_store_source(*st);
                        *ret_top = img.desc;
                        return 0;
                }
                if (r != -ENOENT) {
                        *err = lookup_err;
                        return r;
                }
        }
        if (is_embedded_busybox(ref))
                return img_source_embedded(ret, ret_top, err);
        return cella_err(err, ENOENT,
                         "image \"%s\" not found in the store (see `cella image ls`; load it "
                         "with `cella image load` or pull it; also known: busybox, oci:DIR[:TAG])",
                         ref);
}

/* One line on stderr saying how the rootfs was made (and why auto passed over the others). */
static void report_snapshotter(const char *dir, const struct img_bundle_result *res)
{
        fprintf(stderr, "cella image: bundle \"%s\": snapshotter %s%s\n", dir,
                img_snapshotter_name(res->used),
                res->in_container ? " (mounted by the runtime in the container)" : "");
        static const char *const names[] = {"overlay", "fuse-overlayfs"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (res->skipped[i][0])
                        fprintf(stderr, "cella image:   %s not used: %s\n", names[i],
                                res->skipped[i]);
}

static int cmd_bundle(int argc, char **argv)
{
        static const struct option opts[] = {
            {"rootless", no_argument, NULL, 'r'}, {"platform", required_argument, NULL, 'p'},
            {"overlay", no_argument, NULL, 'o'},  {"snapshotter", required_argument, NULL, 's'},
            {"help", no_argument, NULL, 'h'},     {0},
        };
        int mode = IMG_SNAPSHOTTER_COPY;
        bool report = false;
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
                case 'o':
                        mode = IMG_SNAPSHOTTER_OVERLAY;
                        report = true;
                        break;
                case 's':
                        mode = img_snapshotter_from_name(optarg);
                        report = true;
                        if (mode < 0)
                                return usage_error("bundle: --snapshotter wants copy, overlay, "
                                                   "fuse-overlayfs or auto, not ",
                                                   optarg);
                        break;
                case 'p':
                        if (img_platform_parse(optarg, &platform, &err) < 0)
                                return fail(&err);
                        bo.platform = &platform;
                        break;
                case 'h':
                        puts("Usage: cella image bundle [--rootless] [--snapshotter copy|overlay|"
                             "fuse-overlayfs|auto]\n"
                             "                          [--platform OS/ARCH] REF DIR [-- CMD "
                             "ARGS...]\n"
                             "Writes DIR/rootfs and DIR/config.json for `cella run -b DIR`.\n"
                             "--snapshotter overlay (or --overlay): DIR/rootfs is an overlay of "
                             "shared layer snapshots;\n"
                             "  rootless, cella mounts it in the container (the bundle is for "
                             "cella only).\n"
                             "--snapshotter fuse-overlayfs: the same through fuse-overlayfs.\n"
                             "--snapshotter auto: overlay, else fuse-overlayfs, else copy.\n"
                             "Undo any of them with `cella image unbundle DIR`. With "
                             "--snapshotter, one line on stderr\nnames the snapshotter used.");
                        return 0;
                default:
                        return 2;
                }
        }
        if (argc - optind != 2)
                return usage_error("bundle: expected REF and DIR", "");
        bo.args = cmd;
        const char *dir = argv[optind + 1];
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        struct img_store *snap_st _cleanup_(img_store_freep) = NULL;
        struct img_source *src _cleanup_(img_source_freep) = NULL;
        struct img_descriptor top;
        if (open_ref(argv[optind], &st, &src, &top, &err) < 0)
                return fail(&err);
        /* Snapshots live in the store, whatever the image came from. */
        if (mode != IMG_SNAPSHOTTER_COPY && !st && open_store(&snap_st, true, &err) < 0)
                return fail(&err);
        struct img_bundle_result res;
        if (img_bundle_create_snapshot(st ? st : snap_st, src, &top, dir, &bo, mode, &res, &err) <
            0)
                return fail(&err);
        if (report)
                report_snapshotter(dir, &res);
        return 0;
}

static int simple_opts(int argc, char **argv, const char *usage);

static int cmd_unbundle(int argc, char **argv)
{
        int r = simple_opts(argc, argv,
                            "Usage: cella image unbundle DIR\n"
                            "Unmounts an overlay rootfs and removes DIR/rootfs, its upper layer "
                            "and DIR/config.json.");
        if (r >= 0)
                return r;
        if (argc - optind != 1)
                return usage_error("unbundle: expected DIR", "");
        struct cella_error err = {0};
        return img_bundle_remove(argv[optind], &err) < 0 ? fail(&err) : 0;
}

static int cmd_snapshot(int argc, char **argv)
{
        static const struct option opts[] = {
            {"rootless", no_argument, NULL, 'r'},
            {"platform", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool rootless = geteuid() != 0;
        struct img_platform platform, *pp = NULL;
        struct cella_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'r')
                        rootless = true;
                else if (c == 'p') {
                        if (img_platform_parse(optarg, &platform, &err) < 0)
                                return fail(&err);
                        pp = &platform;
                } else if (c == 'h') {
                        puts("Usage: cella image snapshot [--rootless] [--platform OS/ARCH] REF\n"
                             "Unpacks the image's layers once into the store (overlay form) and "
                             "prints the\noverlay lower directories, top first, one per line.");
                        return 0;
                } else
                        return 2;
        }
        if (argc - optind != 1)
                return usage_error("snapshot: expected one REF", "");
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        struct img_store *snap_st _cleanup_(img_store_freep) = NULL;
        struct img_source *src _cleanup_(img_source_freep) = NULL;
        struct img_descriptor top;
        char **lowers = NULL;
        if (open_ref(argv[optind], &st, &src, &top, &err) < 0 ||
            (!st && open_store(&snap_st, true, &err) < 0) ||
            img_snapshot_prepare(st ? st : snap_st, src, &top, pp, rootless, &lowers, &err) < 0)
                return fail(&err);
        for (char **l = lowers; *l; l++) {
                puts(*l);
                free(*l);
        }
        free(lowers);
        return 0;
}

/* Low level: applies layer tars in order onto DIR (created if missing) with the safe unpacker. */
static int cmd_unpack_layer(int argc, char **argv)
{
        static const struct option opts[] = {
            {"rootless", no_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct img_unpack_opts uo = {.rootless = geteuid() != 0};
        struct cella_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        uo.rootless = true;
                        break;
                case 'h':
                        puts("Usage: cella image unpack-layer [--rootless] DIR LAYER...\n"
                             "Applies layer tars (plain, gzip or zstd) in order onto DIR.");
                        return 0;
                default:
                        return 2;
                }
        }
        if (argc - optind < 2)
                return usage_error("unpack-layer: expected DIR and at least one LAYER", "");
        const char *dir = argv[optind];
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                cella_errno(&err, errno, "create \"%s\"", dir);
                return fail(&err);
        }
        _cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                cella_errno(&err, errno, "open \"%s\"", dir);
                return fail(&err);
        }
        for (int i = optind + 1; i < argc; i++) {
                _cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        cella_errno(&err, errno, "open layer \"%s\"", argv[i]);
                        return fail(&err);
                }
                uo.name = argv[i];
                if (img_unpack_layer(root, fd, &uo, NULL, &err) < 0)
                        return fail(&err);
        }
        return 0;
}

/* Parses only --help for commands without options; returns -1 to go on, else an exit code. */
static int simple_opts(int argc, char **argv, const char *usage)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c != 'h')
                        return 2;
                puts(usage);
                return 0;
        }
        return -1;
}

static void human_size(int64_t n, char buf[static 32])
{
        static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double)n;
        size_t u = 0;
        while (v >= 1000 && u + 1 < ARRAY_SIZE(unit)) {
                v /= 1000;
                u++;
        }
        snprintf(buf, 32, u ? "%.3g%s" : "%.0f%s", v, unit[u]);
}

static int cmd_ls(int argc, char **argv)
{
        static const struct option opts[] = {
            {"quiet", no_argument, NULL, 'q'},
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool quiet = false, json = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
                if (c == 'q')
                        quiet = true;
                else if (c == 'j')
                        json = true;
                else if (c == 'h') {
                        puts("Usage: cella image ls [-q|--quiet] [--json]");
                        return 0;
                } else
                        return 2;
        }
        struct cella_error err = {0};
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        _cleanup_free_ struct img_store_image *v = NULL;
        size_t n = 0;
        int r = open_store(&st, false, &err);
        if (r < 0 && r != -ENOENT)
                return fail(&err);
        if (r == 0 && img_store_list(st, &v, &n, &err) < 0)
                return fail(&err);
        struct json_object *arr = json ? json_object_new_array() : NULL;
        if (!quiet && !json)
                printf("%-40s %-16s %-14s %-10s %s\n", "REPOSITORY", "TAG", "DIGEST", "SIZE",
                       "CREATED");
        for (size_t i = 0; i < n; i++) {
                struct img_ref ref;
                char repo[IMG_REF_NAME_MAX], size_s[32] = "?";
                int64_t size = -1;
                if (img_ref_parse(v[i].name, &ref, NULL) < 0)
                        continue;
                if (img_store_image_size(st, &v[i].desc, &size, NULL) == 0)
                        human_size(size, size_s);
                if (quiet) {
                        puts(v[i].name);
                } else if (json) {
                        struct json_object *o = json_object_new_object();
                        json_object_object_add(o, "name", json_object_new_string(v[i].name));
                        json_object_object_add(o, "digest",
                                               json_object_new_string(v[i].desc.digest));
                        json_object_object_add(o, "mediaType",
                                               json_object_new_string(v[i].desc.media_type));
                        json_object_object_add(o, "size", json_object_new_int64(size));
                        json_object_object_add(o, "created", json_object_new_string(v[i].created));
                        json_object_array_add(arr, o);
                } else {
                        ref.tag[0] = ref.digest[0] = '\0';
                        img_ref_familiar(&ref, repo);
                        printf("%-40s %-16s %-14.12s %-10s %s\n", repo,
                               img_ref_parse(v[i].name, &ref, NULL) == 0 && ref.tag[0] ? ref.tag
                                                                                       : "<none>",
                               img_digest_hex(v[i].desc.digest), size_s, v[i].created);
                }
        }
        if (json) {
                puts(json_to_string(arr, 1));
                json_object_put(arr);
        }
        return 0;
}

static int cmd_inspect_remote(int argc, char **argv);

static int cmd_inspect(int argc, char **argv)
{
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--remote") == 0)
                        return cmd_inspect_remote(argc, argv);
        static const struct option opts[] = {
            {"platform", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct img_platform platform, *pp = NULL;
        struct cella_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'p') {
                        if (img_platform_parse(optarg, &platform, &err) < 0)
                                return fail(&err);
                        pp = &platform;
                } else if (c == 'h') {
                        puts("Usage: cella image inspect [--platform OS/ARCH] REF\n"
                             "Prints the manifest, config and digests of an image as JSON.");
                        return 0;
                } else
                        return 2;
        }
        if (argc - optind != 1)
                return usage_error("inspect: expected one REF", "");
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        struct img_source *src _cleanup_(img_source_freep) = NULL;
        struct img_descriptor top;
        struct img_manifest m;
        _cleanup_free_ char *cfg = NULL;
        size_t len;
        if (open_ref(argv[optind], &st, &src, &top, &err) < 0 ||
            img_resolve(src, &top, pp, &m, &cfg, &len, &err) < 0)
                return fail(&err);
        struct json_object *o = json_object_new_object(), *config = NULL;
        json_object_object_add(o, "Name", json_object_new_string(argv[optind]));
        json_object_object_add(o, "Digest", json_object_new_string(top.digest));
        json_object_object_add(o, "MediaType", json_object_new_string(top.media_type));
        json_object_object_add(o, "ConfigDigest", json_object_new_string(m.config.digest));
        int64_t size = m.config.size;
        struct json_object *layers = json_object_new_array();
        for (size_t i = 0; i < m.n_layers; i++) {
                size += m.layers[i].size;
                json_object_array_add(layers, json_object_new_string(m.layers[i].digest));
        }
        json_object_object_add(o, "Layers", layers);
        json_object_object_add(o, "Size", json_object_new_int64(size));
        if (json_parse_text(cfg, len, &config, &err) == 0)
                json_object_object_add(o, "Config", config);
        puts(json_to_string(o, 1));
        json_object_put(o);
        img_manifest_free(&m);
        return 0;
}

static int cmd_tag(int argc, char **argv)
{
        int r = simple_opts(argc, argv, "Usage: cella image tag SOURCE TARGET");
        if (r >= 0)
                return r;
        if (argc - optind != 2)
                return usage_error("tag: expected SOURCE and TARGET", "");
        struct cella_error err = {0};
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        struct img_store_image img;
        if (open_store(&st, true, &err) < 0 || img_store_lookup(st, argv[optind], &img, &err) < 0 ||
            img_store_tag(st, argv[optind + 1], &img.desc, &err) < 0)
                return fail(&err);
        return 0;
}

static void print_gc(const struct img_gc_stats *gc)
{
        char size[32];
        human_size((int64_t)gc->bytes_freed, size);
        printf("Deleted %llu blobs, %s freed", (unsigned long long)gc->blobs_removed, size);
        if (gc->snapshots_removed)
                printf(", %llu snapshots", (unsigned long long)gc->snapshots_removed);
        putchar('\n');
}

static int cmd_rm(int argc, char **argv)
{
        int r = simple_opts(argc, argv,
                            "Usage: cella image rm REF...\n"
                            "Removes the names, then every blob no other name needs.");
        if (r >= 0)
                return r;
        if (argc - optind < 1)
                return usage_error("rm: expected at least one REF", "");
        struct cella_error err = {0};
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        if (open_store(&st, false, &err) < 0) {
                cella_err(&err, ENOENT, "image \"%s\" not found in the store", argv[optind]);
                return fail(&err);
        }
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                struct img_store_image img;
                if (img_store_lookup(st, argv[i], &img, &err) < 0 ||
                    img_store_untag(st, img.name, &err) < 0) {
                        ret = fail(&err);
                        continue;
                }
                printf("Untagged: %s\n", img.name);
        }
        struct img_gc_stats gc;
        if (img_store_gc(st, &gc, &err) < 0)
                return fail(&err);
        print_gc(&gc);
        return ret;
}

static int cmd_prune(int argc, char **argv)
{
        int r = simple_opts(argc, argv,
                            "Usage: cella image prune\n"
                            "Deletes blobs that no image name needs and leftover temp files.");
        if (r >= 0)
                return r;
        struct cella_error err = {0};
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        struct img_gc_stats gc = {0};
        r = open_store(&st, false, &err);
        if (r < 0 && r != -ENOENT)
                return fail(&err);
        if (r == 0 && img_store_gc(st, &gc, &err) < 0)
                return fail(&err);
        print_gc(&gc);
        return 0;
}

static int cmd_load(int argc, char **argv)
{
        static const struct option opts[] = {
            {"input", required_argument, NULL, 'i'},
            {"name", required_argument, NULL, 'n'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *input = "-", *name = NULL;
        bool quiet = false;
        int c;
        while ((c = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1) {
                if (c == 'i')
                        input = optarg;
                else if (c == 'n')
                        name = optarg;
                else if (c == 'q')
                        quiet = true;
                else if (c == 'h') {
                        puts("Usage: cella image load [-i FILE|DIR] [--name NAME] [-q]\n"
                             "Loads a docker-archive or OCI archive (stdin by default; plain, "
                             "gzip or zstd) or an OCI layout directory.");
                        return 0;
                } else
                        return 2;
        }
        if (argc != optind)
                return usage_error("load: unexpected argument ", argv[optind]);
        struct cella_error err = {0};
        if (strcmp(input, "-") == 0 && isatty(STDIN_FILENO)) {
                cella_err(&err, EINVAL,
                          "load: refusing to read an archive from a terminal; use "
                          "-i FILE or a pipe");
                return fail(&err);
        }
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        _cleanup_free_ struct img_loaded *loaded = NULL;
        size_t n;
        if (open_store(&st, true, &err) < 0 || img_load(st, input, name, &loaded, &n, &err) < 0)
                return fail(&err);
        for (size_t i = 0; i < n && !quiet; i++)
                printf("Loaded image: %s\n", loaded[i].name);
        return 0;
}

static int cmd_save(int argc, char **argv)
{
        static const struct option opts[] = {
            {"output", required_argument, NULL, 'o'},
            {"format", required_argument, NULL, 'f'},
            {"platform", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *output = "-";
        enum img_save_format format = IMG_SAVE_DOCKER_ARCHIVE;
        struct img_platform platform, *pp = NULL;
        struct cella_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                if (c == 'o')
                        output = optarg;
                else if (c == 'f') {
                        if (img_save_format_parse(optarg, &format, &err) < 0)
                                return fail(&err);
                } else if (c == 'p') {
                        if (img_platform_parse(optarg, &platform, &err) < 0)
                                return fail(&err);
                        pp = &platform;
                } else if (c == 'h') {
                        puts("Usage: cella image save [-o FILE|DIR] [--format docker-archive|"
                             "oci-archive|oci] [--platform OS/ARCH] REF...\n"
                             "Writes images from the store (stdout by default).");
                        return 0;
                } else
                        return 2;
        }
        if (argc - optind < 1)
                return usage_error("save: expected at least one REF", "");
        if (strcmp(output, "-") == 0 && isatty(STDOUT_FILENO)) {
                cella_err(&err, EINVAL,
                          "save: refusing to write an archive to a terminal; use "
                          "-o FILE or a pipe");
                return fail(&err);
        }
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        if (open_store(&st, false, &err) < 0) {
                cella_err(&err, ENOENT, "image \"%s\" not found in the store", argv[optind]);
                return fail(&err);
        }
        if (img_save(st, argv + optind, (size_t)(argc - optind), output, format, pp, &err) < 0)
                return fail(&err);
        return 0;
}

/* Options shared by the commands that talk to a registry. */
enum {
        OPT_TLS_VERIFY = 1000,
        OPT_CA_FILE,
        OPT_CERT_DIR,
        OPT_AUTHFILE,
        OPT_CREDS,
        OPT_PLATFORM,
        OPT_PROGRESS,
        OPT_PARALLEL,
        OPT_CHUNK,
        OPT_REMOTE,
        OPT_PASSWORD_STDIN,
};

#define REGISTRY_OPTIONS                                                                           \
        {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},                                   \
            {"ca-file", required_argument, NULL, OPT_CA_FILE},                                     \
            {"cert-dir", required_argument, NULL, OPT_CERT_DIR},                                   \
            {"authfile", required_argument, NULL, OPT_AUTHFILE},                                   \
            {"creds", required_argument, NULL, OPT_CREDS},                                         \
            {"platform", required_argument, NULL, OPT_PLATFORM},                                   \
            {"progress", required_argument, NULL, OPT_PROGRESS},                                   \
            {"parallel", required_argument, NULL, OPT_PARALLEL},                                   \
            {"chunk-size", required_argument, NULL, OPT_CHUNK}, {"quiet", no_argument, NULL, 'q'}, \
        {                                                                                          \
                "help", no_argument, NULL, 'h'                                                     \
        }

struct reg_args {
        struct img_registry_opts o;
        struct img_platform platform;
        char *creds;
        bool quiet;
};

/* Handles one registry option; returns 0 if handled, 1 if not ours, 2 on a usage error. */
static int registry_opt(int c, struct reg_args *a, struct cella_error *err)
{
        switch (c) {
        case OPT_TLS_VERIFY:
                a->o.reg.tls_verify_set = true;
                a->o.reg.tls_verify = strcmp(optarg, "false") != 0 && strcmp(optarg, "0") != 0;
                return 0;
        case OPT_CA_FILE:
                a->o.reg.ca_file = optarg;
                return 0;
        case OPT_CERT_DIR:
                a->o.reg.cert_dir = optarg;
                return 0;
        case OPT_AUTHFILE:
                a->o.reg.authfile = optarg;
                return 0;
        case OPT_CREDS: {
                free(a->creds);
                a->creds = strdup(optarg);
                char *colon = a->creds ? strchr(a->creds, ':') : NULL;
                if (!colon) {
                        cella_err(err, EINVAL, "--creds wants USER:PASSWORD");
                        return 2;
                }
                *colon = '\0';
                a->o.reg.username = a->creds;
                a->o.reg.password = colon + 1;
                return 0;
        }
        case OPT_PLATFORM:
                if (img_platform_parse(optarg, &a->platform, err) < 0)
                        return 2;
                a->o.platform = &a->platform;
                return 0;
        case OPT_PROGRESS:
                if (strcmp(optarg, "json") == 0)
                        a->o.progress = IMG_PROGRESS_JSON;
                else if (strcmp(optarg, "tty") == 0)
                        a->o.progress = IMG_PROGRESS_TTY;
                else if (strcmp(optarg, "none") == 0)
                        a->o.progress = IMG_PROGRESS_NONE;
                else if (strcmp(optarg, "auto") != 0) {
                        cella_err(err, EINVAL, "--progress wants auto, tty, json or none");
                        return 2;
                }
                return 0;
        case OPT_PARALLEL:
                a->o.parallel = atoi(optarg);
                return 0;
        case OPT_CHUNK:
                a->o.chunk_size = strtoull(optarg, NULL, 0);
                return 0;
        case 'q':
                a->quiet = true;
                a->o.progress = IMG_PROGRESS_NONE;
                return 0;
        default:
                return 1;
        }
}

static const char registry_help[] =
    "  --tls-verify=false     accept any certificate (and plain HTTP)\n"
    "  --ca-file FILE         trust this CA certificate\n"
    "  --cert-dir DIR         trust DIR/ca.crt (default: /etc/containers/certs.d/HOST,\n"
    "                         then /etc/docker/certs.d/HOST)\n"
    "  --authfile FILE        credentials file (default ~/.docker/config.json)\n"
    "  --creds USER:PASSWORD  credentials for this command only\n"
    "  --platform OS/ARCH     which image of a multi-platform index\n"
    "  --progress MODE        auto (tty if stderr is a terminal), tty, json, none\n"
    "  --parallel N           concurrent layer transfers (default 3)\n"
    "  --chunk-size BYTES     push: upload in chunks of this size\n"
    "  -q, --quiet            print only the result";

static int parse_registry_args(int argc, char **argv, struct reg_args *a, const char *usage,
                               struct cella_error *err)
{
        static const struct option opts[] = {
            REGISTRY_OPTIONS, {"remote", no_argument, NULL, OPT_REMOTE}, {0}};
        a->o.progress = isatty(STDERR_FILENO) ? IMG_PROGRESS_TTY : IMG_PROGRESS_NONE;
        a->o.parallel = 3;
        int c;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("%s\nOptions:\n%s\n", usage, registry_help);
                        return 0;
                }
                if (c == OPT_REMOTE)
                        continue;
                int r = registry_opt(c, a, err);
                if (r == 2)
                        return fail(err) + 1;
                if (r == 1)
                        return 2;
        }
        return -1;
}

static int cmd_pull(int argc, char **argv)
{
        struct reg_args a = {0};
        struct cella_error err = {0};
        int r = parse_registry_args(argc, argv, &a, "Usage: cella image pull [OPTIONS] REF", &err);
        if (r >= 0)
                return r;
        if (argc - optind != 1)
                return usage_error("pull: expected one REF", "");
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        char name[IMG_REF_NAME_MAX];
        r = open_store(&st, true, &err);
        if (r == 0)
                r = img_pull(st, argv[optind], &a.o, name, &err);
        free(a.creds);
        if (r < 0)
                return fail(&err);
        struct img_store_image img;
        if (img_store_lookup(st, name, &img, &err) == 0 && !a.quiet)
                printf("Pulled %s\nDigest: %s\n", name, img.desc.digest);
        else if (a.quiet)
                puts(name);
        return 0;
}

static int cmd_push(int argc, char **argv)
{
        struct reg_args a = {0};
        struct cella_error err = {0};
        int r = parse_registry_args(argc, argv, &a,
                                    "Usage: cella image push [OPTIONS] REF [DESTINATION]\n"
                                    "Pushes REF from the store to its registry (or DESTINATION).",
                                    &err);
        if (r >= 0)
                return r;
        if (argc - optind < 1 || argc - optind > 2)
                return usage_error("push: expected REF [DESTINATION]", "");
        struct img_store *st _cleanup_(img_store_freep) = NULL;
        r = open_store(&st, false, &err);
        if (r == -ENOENT)
                cella_err(&err, ENOENT, "image \"%s\" not found in the store", argv[optind]);
        if (r == 0)
                r = img_push(st, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &a.o,
                             &err);
        free(a.creds);
        if (r < 0)
                return fail(&err);
        if (!a.quiet)
                printf("Pushed %s\n", argc - optind == 2 ? argv[optind + 1] : argv[optind]);
        return 0;
}

static int cmd_tags(int argc, char **argv)
{
        struct reg_args a = {0};
        struct cella_error err = {0};
        int r = parse_registry_args(argc, argv, &a, "Usage: cella image tags [OPTIONS] REPOSITORY",
                                    &err);
        if (r >= 0)
                return r;
        if (argc - optind != 1)
                return usage_error("tags: expected one REPOSITORY", "");
        _cleanup_free_ char *text = NULL;
        r = img_remote_tags(argv[optind], &a.o, &text, &err);
        free(a.creds);
        if (r < 0)
                return fail(&err);
        fputs(text, stdout);
        return 0;
}

static int cmd_inspect_remote(int argc, char **argv)
{
        struct reg_args a = {0};
        struct cella_error err = {0};
        optind = 1;
        int r = parse_registry_args(argc, argv, &a,
                                    "Usage: cella image inspect --remote [OPTIONS] REF", &err);
        if (r >= 0)
                return r;
        if (argc - optind != 1)
                return usage_error("inspect: expected one REF", "");
        _cleanup_free_ char *json = NULL;
        r = img_remote_inspect(argv[optind], &a.o, &json, &err);
        free(a.creds);
        if (r < 0)
                return fail(&err);
        puts(json);
        return 0;
}

static int read_password_stdin(char *buf, size_t size)
{
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t k = read(STDIN_FILENO, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t)k;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = '\0';
        return n > 0 ? 0 : -EINVAL;
}

static int cmd_login(int argc, char **argv)
{
        static const struct option opts[] = {
            {"username", required_argument, NULL, 'u'},
            {"password", required_argument, NULL, 'p'},
            {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
            REGISTRY_OPTIONS,
            {0},
        };
        struct reg_args a = {0};
        struct cella_error err = {0};
        const char *user = NULL, *pass = NULL;
        char pbuf[1024];
        bool from_stdin = false;
        int c;
        while ((c = getopt_long(argc, argv, "u:p:qh", opts, NULL)) != -1) {
                if (c == 'u')
                        user = optarg;
                else if (c == 'p')
                        pass = optarg;
                else if (c == OPT_PASSWORD_STDIN)
                        from_stdin = true;
                else if (c == 'h') {
                        printf("Usage: cella image login -u USER (-p PASSWORD | --password-stdin) "
                               "REGISTRY\nOptions:\n%s\n",
                               registry_help);
                        return 0;
                } else if (registry_opt(c, &a, &err) != 0)
                        return err.code ? fail(&err) + 1 : 2;
        }
        if (argc - optind != 1 || !user)
                return usage_error("login: expected -u USER and a REGISTRY", "");
        if (from_stdin || !pass) {
                if (read_password_stdin(pbuf, sizeof(pbuf)) < 0) {
                        cella_err(&err, EINVAL, "login: no password (give -p or --password-stdin)");
                        return fail(&err);
                }
                pass = pbuf;
        }
        int r = img_login(argv[optind], user, pass, &a.o, &err);
        explicit_bzero(pbuf, sizeof(pbuf));
        if (r < 0)
                return fail(&err);
        puts("Login Succeeded");
        return 0;
}

static int cmd_logout(int argc, char **argv)
{
        static const struct option opts[] = {REGISTRY_OPTIONS, {0}};
        struct reg_args a = {0};
        struct cella_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
                if (c == 'h') {
                        puts("Usage: cella image logout [--authfile FILE] REGISTRY");
                        return 0;
                }
                if (registry_opt(c, &a, &err) != 0)
                        return 2;
        }
        if (argc - optind != 1)
                return usage_error("logout: expected a REGISTRY", "");
        if (img_logout(argv[optind], &a.o, &err) < 0)
                return fail(&err);
        printf("Removed login credentials for %s\n", argv[optind]);
        return 0;
}

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *help;
} commands[] = {
    {"ls", cmd_ls, "list images in the store"},
    {"pull", cmd_pull, "download an image from a registry into the store"},
    {"push", cmd_push, "upload an image from the store to a registry"},
    {"login", cmd_login, "check and store credentials for a registry"},
    {"logout", cmd_logout, "remove stored credentials for a registry"},
    {"tags", cmd_tags, "list the tags of a remote repository"},
    {"inspect", cmd_inspect, "show an image's digests, layers and config as JSON (--remote)"},
    {"load", cmd_load, "load a docker-archive, OCI archive or OCI layout into the store"},
    {"save", cmd_save, "write images as a docker-archive, OCI archive or OCI layout"},
    {"tag", cmd_tag, "give an image another name"},
    {"rm", cmd_rm, "remove image names and the blobs no other name needs"},
    {"prune", cmd_prune, "remove blobs no image needs"},
    {"bundle", cmd_bundle, "make an OCI runtime bundle (rootfs + config.json) from an image"},
    {"unbundle", cmd_unbundle, "unmount and remove a bundle's rootfs and config"},
    {"snapshot", cmd_snapshot, "unpack the layers once for overlayfs; print the lower dirs"},
    {"unpack-layer", cmd_unpack_layer, "apply layer tars onto a directory (low level)"},
};

static void usage(void)
{
        puts("Usage: cella image [--root DIR] COMMAND [ARGS...]\n\nCommands:");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                printf("  %-13s %s\n", commands[i].name, commands[i].help);
        puts("\nREF: a name in the store (busybox, registry:5000/app:v1, NAME@sha256:...), a "
             "manifest digest,\nbusybox (embedded, when the store has none), or oci:DIR[:TAG] "
             "(an OCI image layout).\nThe store is --root/image (default /var/lib/cella, "
             "rootless $XDG_DATA_HOME/cella).");
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
