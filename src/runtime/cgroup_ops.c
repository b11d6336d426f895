/* SPDX-License-Identifier: Apache-2.0 */
/* The commands that act through the container's cgroup: pause, resume, ps, update, events. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/json.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "runtime/state.h"

/* Opens a container that must have a cgroup and a live init. */
static int open_live(struct handle *h, const char *root, const char *id, bool lock,
                     enum rt_status *ret_status, struct cella_error *err)
{
        int r = handle_open(h, root, id, lock, err);
        if (r < 0)
                return r;
        *ret_status = rt_state_status(h->dir_fd, &h->st);
        if (*ret_status == RT_STOPPED)
                return cella_err(err, ESRCH, "container \"%s\" is not running", id);
        if (!h->st.has_cgroup)
                return cella_err(err, ENOTSUP, "container \"%s\" has no cgroup", id);
        return 0;
}

int rt_pause(const char *root, const char *id, bool pause, struct cella_error *err)
{
        struct handle h;
        enum rt_status s;
        int r = open_live(&h, root, id, true, &s, err);
        enum rt_status want = pause ? RT_RUNNING : RT_PAUSED;
        if (r == 0 && s != want)
                r = cella_err(err, EINVAL, "cannot %s container \"%s\": it is %s, not %s",
                              pause ? "pause" : "resume", id, rt_status_name(s),
                              rt_status_name(want));
        if (r == 0)
                r = cg_freeze(&h.st.cg, pause, err);
        handle_close(&h);
        return r;
}

int rt_pids(const char *root, const char *id, pid_t **ret_pids, size_t *ret_n,
            struct cella_error *err)
{
        struct handle h;
        enum rt_status s;
        int r = open_live(&h, root, id, false, &s, err);
        if (r == 0)
                r = cg_pids(&h.st.cg, ret_pids, ret_n, err);
        handle_close(&h);
        return r;
}

int rt_update(const char *root, const char *id, const struct oci_resources *res,
              struct cella_error *err)
{
        struct handle h;
        enum rt_status s;
        int r = open_live(&h, root, id, true, &s, err);
        if (r == 0)
                r = cg_update_resources(&h.st.cg, res, err);
        handle_close(&h);
        return r;
}

static void print_event(const char *type, const char *id, struct json_object *data)
{
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "id", json_object_new_string(id));
        if (data)
                json_object_object_add(o, "data", data);
        printf("%s\n", json_to_string(o, 0));
        fflush(stdout);
}

int rt_events(const char *root, const char *id, bool stats_once, int interval_ms,
              struct cella_error *err)
{
        struct handle h;
        enum rt_status s;
        int r = open_live(&h, root, id, false, &s, err);
        uint64_t ooms = 0, now;
        if (r == 0 && !stats_once)
                cg_oom_kills(&h.st.cg, &ooms, NULL);
        while (r == 0) {
                struct json_object *data = NULL;
                r = cg_stats(&h.st.cg, &data);
                if (r < 0) {
                        r = cella_errno(err, -r, "read statistics of \"%s\"", id);
                        break;
                }
                print_event("stats", id, data);
                if (stats_once)
                        break;
                struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                if (cg_oom_kills(&h.st.cg, &now, NULL) == 0 && now > ooms) {
                        ooms = now;
                        print_event("oom", id, NULL);
                }
                if (rt_state_status(h.dir_fd, &h.st) == RT_STOPPED)
                        break;
        }
        handle_close(&h);
        return r;
}
