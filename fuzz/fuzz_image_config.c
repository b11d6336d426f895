/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for image config -> runtime config (what `cella image bundle` does with an
 * image's config blob): any config gives a spec or a clean error, never a crash or a leak.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/json.h"
#include "image/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct json_object *image = NULL;
        struct cella_error err = {0};
        if (size == 0 || json_parse_text((const char *)data, size, &image, &err) < 0)
                return 0;
        static char *const args[] = {"echo", "x", NULL};
        struct img_bundle_opts opts = {.args = (data[0] & 1) ? args : NULL};
        struct json_object *spec = img_default_spec(false);
        int r = img_spec_apply_config(spec, image, -1, &opts, &err);
        if (r < 0 && err.msg[0] == '\0')
                abort();
        if (r == 0) {
                struct json_object *process = json_object_object_get(spec, "process");
                struct json_object *a = json_object_object_get(process, "args");
                if (!a || json_object_array_length(a) == 0)
                        abort(); /* a spec without a command must have been an error */
                (void)json_to_string(spec, 1);
        }
        json_object_put(spec);
        json_object_put(image);
        return 0;
}
