/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small helpers over json-c shared by the spec parser, the state store and the CLI. */

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

/* Parses text (len bytes) into a tree; on syntax error fills err with line/offset context. */
int json_parse_text(const char *text, size_t len, struct json_object **ret,
                    struct cella_error *err);

/* Serialises without escaping '/' and without spaces (the style runc prints). */
const char *json_to_string(struct json_object *obj, int pretty);

/*
 * Typed, path-aware field access for validating documents (config.json, state.json, API
 * payloads). `path` is the JSON path of `obj` ("" for the root, "linux.namespaces[2]"); error
 * messages name the field's full path and the bad value:
 *   process.cwd: expected a string, got 5
 * A JSON null counts as absent (like Go's encoding/json). Absent optional fields leave the
 * out-params untouched and clear *ret_has; absent required fields are an error.
 */
#include <stdbool.h>
#include <stdint.h>

#define JSON_PATH_MAX       256
#define JSON_VALUE_SHOW_MAX 96

/* "parent.key" / "key" (parent ""), and "parent[i]". Truncates, never overflows. */
const char *json_path_key(char buf[static JSON_PATH_MAX], const char *parent, const char *key);
const char *json_path_idx(char buf[static JSON_PATH_MAX], const char *parent, size_t idx);
/* parent["key"] for maps with arbitrary keys (annotations, sysctl). */
const char *json_path_mapkey(char buf[static JSON_PATH_MAX], const char *parent, const char *key);

/* A short, printable rendering of a value for error messages (strings quoted, truncated). */
const char *json_show(struct json_object *obj, char buf[static JSON_VALUE_SHOW_MAX]);
/* Quotes a C string for messages: "abc", non-printables escaped, truncated. */
const char *json_show_str(const char *s, char buf[static JSON_VALUE_SHOW_MAX]);

/* "string", "integer", ... as used in messages. */
const char *json_type_label(enum json_type type);

/* Fails with "PATH: expected TYPE, got VALUE". */
int json_err_type(struct cella_error *err, const char *path, const char *expected,
                  struct json_object *got);

/* Gets member key of the object obj, checking its type. *ret = NULL when absent. */
int json_field(struct json_object *obj, const char *path, const char *key, enum json_type type,
               bool required, struct json_object **ret, struct cella_error *err);

/* A string without embedded NUL bytes; *ret is a malloc'd copy (untouched when absent). */
int json_field_string(struct json_object *obj, const char *path, const char *key, bool required,
                      char **ret, struct cella_error *err);
int json_value_string(struct json_object *val, const char *path, char **ret,
                      struct cella_error *err);

int json_field_bool(struct json_object *obj, const char *path, const char *key, bool *ret,
                    bool *ret_has, struct cella_error *err);

/* Integers (JSON numbers with a fraction or exponent are refused) within [min, max]. */
int json_field_int(struct json_object *obj, const char *path, const char *key, int64_t min,
                   int64_t max, int64_t *ret, bool *ret_has, struct cella_error *err);
int json_field_uint(struct json_object *obj, const char *path, const char *key, uint64_t max,
                    uint64_t *ret, bool *ret_has, struct cella_error *err);
int json_value_int(struct json_object *val, const char *path, int64_t min, int64_t max,
                   int64_t *ret, struct cella_error *err);
int json_value_uint(struct json_object *val, const char *path, uint64_t max, uint64_t *ret,
                    struct cella_error *err);

/* An array of strings as a NULL-terminated malloc'd vector (*ret NULL, *ret_n 0 if absent). */
int json_field_strv(struct json_object *obj, const char *path, const char *key, bool required,
                    char ***ret, size_t *ret_n, struct cella_error *err);

void json_strv_free(char **v);

/* For _cleanup_(json_object_putp). */
static inline void json_object_putp(struct json_object **o)
{
        if (*o)
                json_object_put(*o);
}
