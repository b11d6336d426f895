/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small helpers over json-c shared by the spec parser, the state store and the CLI. */

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

/* Parses text (len bytes) into a tree; on syntax error fills err with line/offset context. */
int json_parse_text(const char *text, size_t len, struct json_object **ret, struct cella_error *err);

/* Serialises without escaping '/' and without spaces (the style runc prints). */
const char *json_to_string(struct json_object *obj, int pretty);
