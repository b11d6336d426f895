/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <string.h>

int json_parse_text(const char *text, size_t len, struct json_object **ret, struct cella_error *err)
{
        if (len == 0)
                len = strlen(text);
        struct json_tokener *tok = json_tokener_new();
        if (!tok)
                return cella_err(err, ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
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
                if (!strchr(" \t\r\n", text[i])) {
                        json_object_put(obj);
                        return cella_err(err, EINVAL, "invalid JSON: trailing data at byte %zu", i);
                }
        }
        *ret = obj;
        return 0;
}

const char *json_to_string(struct json_object *obj, int pretty)
{
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
        return json_object_to_json_string_ext(obj, flags);
}
