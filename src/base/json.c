/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * json-c saturates integers that do not fit 64 bits (99999999999999999999 becomes UINT64_MAX),
 * which would turn a typo into "unlimited". Finds the first integer literal outside strings
 * that fits neither int64 nor uint64; returns its offset or len if there is none.
 */
static size_t find_overflowing_int(const char *text, size_t len)
{
        bool in_str = false;
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                if (c == '"') {
                        in_str = true;
                        continue;
                }
                if (c != '-' && !(c >= '0' && c <= '9'))
                        continue;
                size_t start = i, digits = 0;
                bool neg = c == '-';
                if (neg)
                        i++;
                uint64_t v = 0;
                bool over = false;
                for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
                        unsigned d = (unsigned)(text[i] - '0');
                        over |= v > (UINT64_MAX - d) / 10;
                        v = v * 10 + d;
                }
                bool is_int = i >= len || !strchr(".eE", text[i]) || text[i] == '\0';
                /* Skip the rest of a non-integer number. */
                while (i < len && text[i] && strchr("0123456789.eE+-", text[i]))
                        i++;
                if (digits && is_int && (over || (neg && v > (uint64_t)INT64_MAX + 1)))
                        return start;
                i--;
        }
        return len;
}

int json_parse_text(const char *text, size_t len, struct json_object **ret, struct cella_error *err)
{
        if (len == 0)
                len = strlen(text);
        if (len > INT32_MAX)
                return cella_err(err, EFBIG, "invalid JSON: document larger than 2 GiB");
        struct json_tokener *tok = json_tokener_new();
        if (!tok)
                return cella_err(err, ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue && !obj) {
                /* A bare literal ("null", "12") is only complete once the tokener sees a NUL. */
                obj = json_tokener_parse_ex(tok, "", 1);
                if (json_tokener_get_error(tok) == json_tokener_success) {
                        jerr = json_tokener_success;
                        off = len;
                }
        }
        json_tokener_free(tok);
        if (jerr == json_tokener_continue)
                return cella_err(err, EINVAL, "invalid JSON: unexpected end of input");
        if (!obj && jerr == json_tokener_success)
                return cella_err(err, EINVAL, "invalid JSON: document is null");
        if (jerr != json_tokener_success) {
                size_t line = 1;
                for (size_t i = 0; i < off && i < len; i++)
                        line += text[i] == '\n';
                return cella_err(err, EINVAL, "invalid JSON at line %zu (byte %zu): %s", line, off,
                                 json_tokener_error_desc(jerr));
        }
        /* Trailing garbage after the document is an error too. */
        for (size_t i = off; i < len; i++) {
                if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') {
                        json_object_put(obj);
                        return cella_err(err, EINVAL, "invalid JSON: trailing data at byte %zu", i);
                }
        }
        size_t bad = find_overflowing_int(text, off);
        if (bad < off) {
                /* text need not be NUL-terminated: count digits within the document only. */
                size_t n = 0, line = 1;
                while (bad + n < off &&
                       (text[bad + n] == '-' || (text[bad + n] >= '0' && text[bad + n] <= '9')))
                        n++;
                for (size_t i = 0; i < bad; i++)
                        line += text[i] == '\n';
                json_object_put(obj);
                return cella_err(err, ERANGE,
                                 "invalid JSON at line %zu (byte %zu): integer %.*s does not fit "
                                 "in 64 bits",
                                 line, bad, (int)(n > 40 ? 40 : n), text + bad);
        }
        *ret = obj;
        return 0;
}

const char *json_to_string(struct json_object *obj, int pretty)
{
        int flags =
            JSON_C_TO_STRING_NOSLASHESCAPE |
            (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
        return json_object_to_json_string_ext(obj, flags);
}

const char *json_path_key(char buf[static JSON_PATH_MAX], const char *parent, const char *key)
{
        if (!parent || !*parent)
                snprintf(buf, JSON_PATH_MAX, "%s", key);
        else
                snprintf(buf, JSON_PATH_MAX, "%s.%s", parent, key);
        return buf;
}

const char *json_path_idx(char buf[static JSON_PATH_MAX], const char *parent, size_t idx)
{
        snprintf(buf, JSON_PATH_MAX, "%s[%zu]", parent ? parent : "", idx);
        return buf;
}

const char *json_path_mapkey(char buf[static JSON_PATH_MAX], const char *parent, const char *key)
{
        char show[JSON_VALUE_SHOW_MAX];
        json_show_str(key, show);
        size_t pl = strnlen(parent ? parent : "", JSON_PATH_MAX - 1);
        size_t kl = strlen(show);
        if (pl + kl + 3 > JSON_PATH_MAX)
                pl = JSON_PATH_MAX - kl - 3;
        memcpy(buf, parent ? parent : "", pl);
        buf[pl] = '[';
        memcpy(buf + pl + 1, show, kl);
        buf[pl + 1 + kl] = ']';
        buf[pl + 2 + kl] = '\0';
        return buf;
}

static void show_bytes(const char *s, size_t len, char *buf, size_t size)
{
        /* Leave room for the closing quote, "..." and the NUL. */
        size_t limit = size - 6, o = 0;
        buf[o++] = '"';
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : NULL;
                char tmp[8];
                if (!esc && (c < 0x20 || c == 0x7f)) {
                        snprintf(tmp, sizeof(tmp), "\\x%02x", c);
                        esc = tmp;
                }
                size_t n = esc ? strlen(esc) : 1;
                if (o + n > limit) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (esc)
                        memcpy(buf + o, esc, n);
                else
                        buf[o] = (char)c;
                o += n;
        }
        buf[o++] = '"';
        buf[o] = '\0';
}

const char *json_show_str(const char *s, char buf[static JSON_VALUE_SHOW_MAX])
{
        show_bytes(s ? s : "", s ? strlen(s) : 0, buf, JSON_VALUE_SHOW_MAX);
        return buf;
}

const char *json_show(struct json_object *obj, char buf[static JSON_VALUE_SHOW_MAX])
{
        if (json_object_is_type(obj, json_type_string)) {
                show_bytes(json_object_get_string(obj), (size_t)json_object_get_string_len(obj),
                           buf, JSON_VALUE_SHOW_MAX);
                return buf;
        }
        if (json_object_is_type(obj, json_type_object)) {
                snprintf(buf, JSON_VALUE_SHOW_MAX, "an object");
                return buf;
        }
        if (json_object_is_type(obj, json_type_array)) {
                snprintf(buf, JSON_VALUE_SHOW_MAX, "an array");
                return buf;
        }
        const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
        snprintf(buf, JSON_VALUE_SHOW_MAX, "%s", s ? s : "null");
        return buf;
}

const char *json_type_label(enum json_type type)
{
        switch (type) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a number";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "a value";
}

int json_err_type(struct cella_error *err, const char *path, const char *expected,
                  struct json_object *got)
{
        char show[JSON_VALUE_SHOW_MAX];
        return cella_err(err, EINVAL, "%s: expected %s, got %s", path, expected,
                         json_show(got, show));
}

int json_field(struct json_object *obj, const char *path, const char *key, enum json_type type,
               bool required, struct json_object **ret, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *v = NULL;
        *ret = NULL;
        if (!json_object_object_get_ex(obj, key, &v) || !v) {
                if (required)
                        return cella_err(err, EINVAL, "%s: required field missing",
                                         json_path_key(p, path, key));
                return 0;
        }
        if (!json_object_is_type(v, type))
                return json_err_type(err, json_path_key(p, path, key), json_type_label(type), v);
        *ret = v;
        return 0;
}

int json_value_string(struct json_object *val, const char *path, char **ret,
                      struct cella_error *err)
{
        if (!json_object_is_type(val, json_type_string))
                return json_err_type(err, path, "a string", val);
        const char *s = json_object_get_string(val);
        size_t len = (size_t)json_object_get_string_len(val);
        /* An embedded NUL would silently truncate the value everywhere C sees it. */
        if (memchr(s, '\0', len)) {
                char show[JSON_VALUE_SHOW_MAX];
                return cella_err(err, EINVAL, "%s: string contains a NUL byte: %s", path,
                                 json_show(val, show));
        }
        char *copy = strdup(s);
        if (!copy)
                return cella_err(err, ENOMEM, "%s: out of memory", path);
        *ret = copy;
        return 0;
}

int json_field_string(struct json_object *obj, const char *path, const char *key, bool required,
                      char **ret, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *v;
        int r = json_field(obj, path, key, json_type_string, required, &v, err);
        if (r < 0 || !v)
                return r;
        return json_value_string(v, json_path_key(p, path, key), ret, err);
}

int json_field_bool(struct json_object *obj, const char *path, const char *key, bool *ret,
                    bool *ret_has, struct cella_error *err)
{
        struct json_object *v;
        int r = json_field(obj, path, key, json_type_boolean, false, &v, err);
        if (ret_has)
                *ret_has = r == 0 && v;
        if (r < 0 || !v)
                return r;
        *ret = json_object_get_boolean(v);
        return 0;
}

/* Splits a JSON integer into sign and magnitude; json-c keeps values above INT64_MAX as uint64. */
static int int_parts(struct json_object *val, const char *path, bool *neg, int64_t *i, uint64_t *u,
                     struct cella_error *err)
{
        if (!json_object_is_type(val, json_type_int))
                return json_err_type(err, path, "an integer", val);
        errno = 0;
        *i = json_object_get_int64(val);
        *neg = *i < 0;
        *u = *neg ? 0 : json_object_get_uint64(val);
        return 0;
}

int json_value_int(struct json_object *val, const char *path, int64_t min, int64_t max,
                   int64_t *ret, struct cella_error *err)
{
        bool neg = false;
        int64_t i = 0;
        uint64_t u = 0;
        int r = int_parts(val, path, &neg, &i, &u, err);
        if (r < 0)
                return r;
        if ((!neg && u > (uint64_t)INT64_MAX) || i < min || i > max) {
                char show[JSON_VALUE_SHOW_MAX];
                return cella_err(err, ERANGE, "%s: %s out of range [%lld, %lld]", path,
                                 json_show(val, show), (long long)min, (long long)max);
        }
        *ret = i;
        return 0;
}

int json_value_uint(struct json_object *val, const char *path, uint64_t max, uint64_t *ret,
                    struct cella_error *err)
{
        bool neg = false;
        int64_t i = 0;
        uint64_t u = 0;
        int r = int_parts(val, path, &neg, &i, &u, err);
        if (r < 0)
                return r;
        if (neg || u > max) {
                char show[JSON_VALUE_SHOW_MAX];
                return cella_err(err, ERANGE, "%s: %s out of range [0, %llu]", path,
                                 json_show(val, show), (unsigned long long)max);
        }
        *ret = u;
        return 0;
}

int json_field_int(struct json_object *obj, const char *path, const char *key, int64_t min,
                   int64_t max, int64_t *ret, bool *ret_has, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *v;
        int r = json_field(obj, path, key, json_type_int, false, &v, err);
        if (ret_has)
                *ret_has = false;
        if (r < 0 || !v)
                return r;
        r = json_value_int(v, json_path_key(p, path, key), min, max, ret, err);
        if (ret_has)
                *ret_has = r == 0;
        return r;
}

int json_field_uint(struct json_object *obj, const char *path, const char *key, uint64_t max,
                    uint64_t *ret, bool *ret_has, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *v;
        int r = json_field(obj, path, key, json_type_int, false, &v, err);
        if (ret_has)
                *ret_has = false;
        if (r < 0 || !v)
                return r;
        r = json_value_uint(v, json_path_key(p, path, key), max, ret, err);
        if (ret_has)
                *ret_has = r == 0;
        return r;
}

void json_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

int json_field_strv(struct json_object *obj, const char *path, const char *key, bool required,
                    char ***ret, size_t *ret_n, struct cella_error *err)
{
        char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
        struct json_object *arr;
        int r = json_field(obj, path, key, json_type_array, required, &arr, err);
        *ret = NULL;
        if (ret_n)
                *ret_n = 0;
        if (r < 0 || !arr)
                return r;
        json_path_key(p, path, key);
        size_t n = json_object_array_length(arr);
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                return cella_err(err, ENOMEM, "%s: out of memory", p);
        for (size_t i = 0; i < n; i++) {
                r = json_value_string(json_object_array_get_idx(arr, i), json_path_idx(pi, p, i),
                                      &v[i], err);
                if (r < 0) {
                        json_strv_free(v);
                        return r;
                }
        }
        *ret = v;
        if (ret_n)
                *ret_n = n;
        return 0;
}
