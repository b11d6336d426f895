/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The OCI runtime-spec config.json (1.0.0 .. 1.3.x, Linux) as C structs.
 *
 * oci_spec_parse() reads and validates the whole document. Every validation error names the
 * JSON path and the offending value, e.g.
 *   linux.namespaces[2].type: unknown namespace "netx"
 * All strings and arrays are owned by the spec and freed by oci_spec_free(). Absent optional
 * fields are NULL / 0 with a matching has_* flag where 0 is a meaningful value. String arrays
 * are NULL-terminated (char **), with a separate count where handy.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

enum oci_ns_type {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        OCI_NS_COUNT
};

struct oci_namespace {
        enum oci_ns_type type;
        char *path; /* NULL: create a new one */
};

struct oci_id_mapping {
        uint32_t container_id, host_id, size;
};

struct oci_mount {
        char *destination;
        char *type;   /* may be NULL (bind mounts) */
        char *source; /* may be NULL */
        char **options;
        size_t n_options;
        struct oci_id_mapping *uid_mappings, *gid_mappings; /* idmapped mounts */
        size_t n_uid_mappings, n_gid_mappings;
};

struct oci_rlimit {
        int resource; /* RLIMIT_* */
        char *type;   /* "RLIMIT_NOFILE" */
        uint64_t hard, soft;
};

enum oci_cap_set {
        OCI_CAP_BOUNDING,
        OCI_CAP_EFFECTIVE,
        OCI_CAP_INHERITABLE,
        OCI_CAP_PERMITTED,
        OCI_CAP_AMBIENT,
        OCI_CAP_SET_COUNT
};

struct oci_capabilities {
        bool present[OCI_CAP_SET_COUNT];
        uint64_t sets[OCI_CAP_SET_COUNT]; /* bit N = capability N */
};

struct oci_user {
        uint32_t uid, gid;
        bool has_umask;
        uint32_t umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char *username; /* Windows only; kept for round-trip */
};

struct oci_console_size {
        uint32_t height, width;
};

struct oci_scheduler {
        char *policy; /* SCHED_OTHER, ... */
        int32_t nice, priority;
        char **flags;
        uint64_t runtime, deadline, period;
};

struct oci_io_priority {
        char *class_; /* IOPRIO_CLASS_RT/BE/IDLE */
        int32_t priority;
};

struct oci_process {
        bool terminal;
        bool has_console_size;
        struct oci_console_size console_size;
        struct oci_user user;
        char **args;
        size_t n_args;
        char *command_line; /* Windows only */
        char **env;
        size_t n_env;
        char *cwd;
        bool has_capabilities;
        struct oci_capabilities capabilities;
        struct oci_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        char *apparmor_profile;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *selinux_label;
        struct oci_scheduler *scheduler;
        struct oci_io_priority *io_priority;
};

struct oci_hook {
        char *path;
        char **args;
        char **env;
        bool has_timeout;
        int timeout; /* seconds, > 0 */
};

enum oci_hook_kind {
        OCI_HOOK_PRESTART,
        OCI_HOOK_CREATE_RUNTIME,
        OCI_HOOK_CREATE_CONTAINER,
        OCI_HOOK_START_CONTAINER,
        OCI_HOOK_POSTSTART,
        OCI_HOOK_POSTSTOP,
        OCI_HOOK_KIND_COUNT
};

struct oci_hooks {
        struct oci_hook *hooks[OCI_HOOK_KIND_COUNT];
        size_t n_hooks[OCI_HOOK_KIND_COUNT];
};

struct oci_device {
        char *path;
        char type; /* 'c', 'b', 'u', 'p' */
        int64_t major, minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid, has_gid;
        uint32_t uid, gid;
};

/* linux.resources.devices[] (cgroup device rules) */
struct oci_device_cgroup {
        bool allow;
        char type;            /* 'a', 'c', 'b'; 'a' when absent */
        int64_t major, minor; /* -1: wildcard */
        char *access;         /* "rwm" subset; NULL: all */
};

struct oci_weight_device {
        int64_t major, minor;
        bool has_weight, has_leaf_weight;
        uint16_t weight, leaf_weight;
};

struct oci_throttle_device {
        int64_t major, minor;
        uint64_t rate;
};

struct oci_hugepage_limit {
        char *page_size; /* "2MB" */
        uint64_t limit;
};

struct oci_net_priority {
        char *name;
        uint32_t priority;
};

struct oci_rdma_limit {
        char *device;
        bool has_hca_handles, has_hca_objects;
        uint32_t hca_handles, hca_objects;
};

struct oci_kv {
        char *key, *value;
};

/*
 * linux.resources. Integers use has_* flags because 0 is meaningful for most of them; memory
 * values are int64 since -1 means unlimited.
 */
struct oci_resources {
        struct oci_device_cgroup *devices;
        size_t n_devices;

        struct {
                bool present;
                bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp;
                bool has_swappiness, has_disable_oom_killer, has_use_hierarchy;
                bool has_check_before_update;
                int64_t limit, reservation, swap, kernel, kernel_tcp;
                uint64_t swappiness;
                bool disable_oom_killer, use_hierarchy, check_before_update;
        } memory;

        struct {
                bool present;
                bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime;
                bool has_realtime_period, has_idle;
                uint64_t shares, period, realtime_period, burst;
                int64_t quota, realtime_runtime, idle;
                char *cpus, *mems;
        } cpu;

        struct {
                bool present;
                bool has_limit;
                int64_t limit;
        } pids;

        struct {
                bool present;
                bool has_weight, has_leaf_weight;
                uint16_t weight, leaf_weight;
                struct oci_weight_device *weight_device;
                size_t n_weight_device;
                struct oci_throttle_device *throttle_read_bps, *throttle_write_bps;
                struct oci_throttle_device *throttle_read_iops, *throttle_write_iops;
                size_t n_throttle_read_bps, n_throttle_write_bps;
                size_t n_throttle_read_iops, n_throttle_write_iops;
        } block_io;

        struct oci_hugepage_limit *hugepage_limits;
        size_t n_hugepage_limits;

        struct {
                bool present;
                bool has_class_id;
                uint32_t class_id;
                struct oci_net_priority *priorities;
                size_t n_priorities;
        } network;

        struct oci_rdma_limit *rdma;
        size_t n_rdma;

        struct oci_kv *unified; /* linux.resources.unified */
        size_t n_unified;
};

struct oci_seccomp_arg {
        uint32_t index;
        uint64_t value, value_two;
        char *op; /* SCMP_CMP_* */
};

struct oci_seccomp_syscall {
        char **names;
        size_t n_names;
        char *action; /* SCMP_ACT_* */
        bool has_errno_ret;
        uint32_t errno_ret;
        struct oci_seccomp_arg *args;
        size_t n_args;
};

struct oci_seccomp {
        char *default_action;
        bool has_default_errno_ret;
        uint32_t default_errno_ret;
        char **architectures;
        size_t n_architectures;
        char **flags;
        size_t n_flags;
        char *listener_path;
        char *listener_metadata;
        struct oci_seccomp_syscall *syscalls;
        size_t n_syscalls;
};

struct oci_time_offset {
        bool present;
        int64_t secs;
        uint32_t nanosecs;
};

struct oci_personality {
        char *domain; /* LINUX, LINUX32 */
        char **flags;
};

struct oci_linux {
        struct oci_namespace *namespaces;
        size_t n_namespaces;
        struct oci_id_mapping *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct oci_time_offset time_offsets[2]; /* [0] monotonic, [1] boottime */
        struct oci_device *devices;
        size_t n_devices;
        char *cgroups_path;
        bool has_resources;
        struct oci_resources resources;
        struct oci_kv *sysctl;
        size_t n_sysctl;
        struct oci_seccomp *seccomp;
        char *rootfs_propagation;
        char **masked_paths;
        size_t n_masked_paths;
        char **readonly_paths;
        size_t n_readonly_paths;
        char *mount_label;
        struct oci_personality *personality;
        bool has_intel_rdt;
        char *intel_rdt_clos_id; /* cella has no resctrl support: refused at create */
};

struct oci_spec {
        char *oci_version;
        struct {
                char *path;
                bool readonly;
        } root;
        bool has_root;
        struct oci_mount *mounts;
        size_t n_mounts;
        bool has_process;
        struct oci_process process;
        char *hostname;
        char *domainname;
        struct oci_hooks hooks;
        struct oci_kv *annotations;
        size_t n_annotations;
        bool has_linux;
        struct oci_linux linux_;
};

/*
 * Parses and validates config.json text. On error returns a negative errno and err->msg names
 * the JSON path and bad value. `len` may be 0 if json is NUL-terminated.
 */
int oci_spec_parse(const char *json, size_t len, struct oci_spec **ret_spec,
                   struct cella_error *err);

/* Reads bundle/config.json and parses it (error messages include the file path). */
int oci_spec_load(const char *path, struct oci_spec **ret_spec, struct cella_error *err);

void oci_spec_free(struct oci_spec *spec);

/* Helpers over a parsed spec. */
const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, enum oci_ns_type type);
const char *oci_ns_type_name(enum oci_ns_type type);     /* "pid", "network", ... */
const char *oci_ns_proc_name(enum oci_ns_type type);     /* /proc/PID/ns/ name: "pid", "net", ... */
int oci_ns_clone_flag(enum oci_ns_type type);            /* CLONE_NEWPID, ... */
const char *oci_hook_kind_name(enum oci_hook_kind kind); /* "prestart", "createRuntime", ... */

/* Capability names <-> numbers ("CAP_SYS_ADMIN" <-> 21). Unknown: -1 / NULL. */
int oci_cap_from_name(const char *name);
const char *oci_cap_name(int cap);
int oci_cap_last(void); /* highest capability number cella knows */

/* RLIMIT_* name -> resource number, -1 if unknown. */
int oci_rlimit_from_name(const char *name);
const char *oci_rlimit_name(int resource); /* RLIMIT_NOFILE -> "RLIMIT_NOFILE", NULL if unknown */

/* Name -> enum value, -1 if unknown. */
int oci_ns_type_from_name(const char *name);   /* "network" -> OCI_NS_NETWORK */
int oci_hook_kind_from_name(const char *name); /* "createRuntime" -> OCI_HOOK_CREATE_RUNTIME */

/* NULL-terminated lists of the seccomp names the parser accepts (and `features` reports). */
const char *const *oci_seccomp_actions(void);   /* SCMP_ACT_* */
const char *const *oci_seccomp_operators(void); /* SCMP_CMP_* */
const char *const *oci_seccomp_archs(void);     /* SCMP_ARCH_* */
const char *const *oci_seccomp_flags(void);     /* SECCOMP_FILTER_FLAG_* */
bool oci_name_in(const char *const *list, const char *name);

/*
 * Parses a runtime-spec process object (`exec --process process.json`) with the same rules as
 * config.json's "process". Free with oci_process_free().
 */
int oci_process_parse(const char *json, size_t len, struct oci_process **ret_process,
                      struct cella_error *err);
void oci_process_free(struct oci_process *process);

/* A linux.resources object on its own (`update -r FILE`); error paths start "resources.". */
int oci_resources_parse(const char *json, size_t len, struct oci_resources **ret,
                        struct cella_error *err);
void oci_resources_free(struct oci_resources *res);
