/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * linux.resources, one function per controller and cgroup version. Each takes the directory
 * of the container's cgroup in the hierarchy that holds the controller; cg_apply_resources()
 * (resources.c) finds that directory, which in hybrid mode may be the cgroup2 one.
 * Errors start with the spec field: `linux.resources.memory.limit: write "...": ...`.
 */

#include "base/error.h"
#include "oci/spec.h"

/* Writes value to dir/file; on failure prefixes err with "linux.resources.<field>". */
int cg_set(const char *dir, const char *file, const char *value, const char *field,
           struct cella_error *err);
int cg_set_i64(const char *dir, const char *file, int64_t v, const char *field,
               struct cella_error *err);

/* checkBeforeUpdate: refuses a limit below what the cgroup already uses (dir/usage_file). */
int cg_check_usage(const char *dir, const char *usage_file, int64_t limit, struct cella_error *err);
/* A hugepage size ("2MB") becomes part of a file name: letters and digits only. */
int cg_check_page_size(const char *size, struct cella_error *err);
/* linux.resources.hugepageLimits into hugetlb.<size>.<suffix> (v1: limit_in_bytes, v2: max). */
int cg_set_hugetlb_limits(const char *dir, const struct oci_resources *r, const char *suffix,
                          struct cella_error *err);

int cg_v1_set_memory(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v1_set_cpu(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v1_set_blkio(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v1_set_hugetlb(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v1_set_net_cls(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v1_set_net_prio(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v1_set_devices(const char *dir, const struct oci_device_cgroup *rules, size_t n,
                      struct cella_error *err);

int cg_v2_set_memory(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v2_set_cpu(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v2_set_io(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v2_set_hugetlb(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_v2_set_unified(const char *dir, const struct oci_resources *r, struct cella_error *err);
/* Loads the rules as a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to dir. */
int cg_v2_set_devices(const char *dir, const struct oci_device_cgroup *rules, size_t n,
                      struct cella_error *err);

/* Same files in v1 and v2. */
int cg_set_cpuset(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_set_pids(const char *dir, const struct oci_resources *r, struct cella_error *err);
int cg_set_rdma(const char *dir, const struct oci_resources *r, struct cella_error *err);

/*
 * The device rules runc applies: the spec's rules, then its default allow list (mknod of any
 * device; null, zero, full, random, urandom, tty, ptmx, pts). Returns a malloc'd array whose
 * strings point into the spec's (do not free them).
 */
int cg_device_rules(const struct oci_resources *r, struct oci_device_cgroup **ret, size_t *ret_n);

/*
 * The eBPF device filter as instructions (struct bpf_insn); last matching rule wins, no match
 * denies. Pure, for unit tests: *ret_insns is malloc'd.
 */
struct bpf_insn;
int cg_bpf_devices_program(const struct oci_device_cgroup *rules, size_t n,
                           struct bpf_insn **ret_insns, size_t *ret_n);
