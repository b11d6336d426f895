/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers shared by the config.json parser's translation units (spec.c, spec_linux.c). */

#include <json-c/json.h>

#include "base/json.h"
#include "oci/spec.h"

/*
 * Gets obj.key as an array of n elements and allocates n zeroed elements of elem_size
 * (*ret_elems NULL and *ret_n 0 when absent). Callers set their count before filling each
 * element so that oci_spec_free() releases a half-filled element too.
 */
int spec_get_array(struct json_object *obj, const char *path, const char *key, size_t elem_size,
                   struct json_object **ret_arr, void **ret_elems, size_t *ret_n,
                   struct cella_error *err);

/* arr[i] as an object; writes its path "arrpath[i]" into pbuf. */
int spec_array_obj(struct json_object *arr, const char *arrpath, size_t i,
                   char pbuf[static JSON_PATH_MAX], struct json_object **ret,
                   struct cella_error *err);

/* An object of string values (annotations, sysctl, unified) into an oci_kv array. */
int spec_parse_kv(struct json_object *obj, const char *path, const char *key, bool allow_empty_key,
                  struct oci_kv **ret, size_t *ret_n, struct cella_error *err);

int spec_parse_id_mappings(struct json_object *obj, const char *path, const char *key,
                           struct oci_id_mapping **ret, size_t *ret_n, struct cella_error *err);

/* Required integer fields. */
int spec_req_uint(struct json_object *obj, const char *path, const char *key, uint64_t max,
                  uint64_t *ret, struct cella_error *err);
int spec_req_int(struct json_object *obj, const char *path, const char *key, int64_t min,
                 int64_t max, int64_t *ret, struct cella_error *err);

/* Path checks producing "PATH: must be an absolute path, got "x"". */
int spec_check_abs(const char *value, const char *path, struct cella_error *err);

int spec_parse_linux(struct json_object *linux_obj, struct oci_linux *lx, struct cella_error *err);
int spec_check_enum(const char *value, const char *path, const char *what,
                    const char *const *allowed, struct cella_error *err);
int spec_check_enum_strv(char **values, const char *path, const char *what,
                         const char *const *allowed, struct cella_error *err);

void spec_free_linux(struct oci_linux *lx);
