/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `run`: create and start; in the foreground cella then stays the init's parent (or
 * subreaper), forwards signals to it, proxies the terminal when the container has one and no
 * console socket was given (proxy.c), and exits with the container's status. start and delete
 * work on the state create made (rt_ctx_take_handle), not on state.json read back.
 */
#include <sys/prctl.h>

#include "base/cleanup.h"
#include "linux/terminal.h"
#include "runtime/container.h"
#include "runtime/internal.h"
#include "runtime/proxy.h"
#include "runtime/runtime.h"

/* create, keeping the state as h; *peer receives the terminal's master in the foreground. */
static int create(const char *root, const char *id, const struct rt_create_opts *o, int *peer,
                  struct handle *h, struct cella_error *err)
{
        struct rt_ctx c;
        int r = rt_create_ctx(&c, root, id, o, peer, err);
        if (r == 0)
                r = rt_ctx_take_handle(&c, h, err);
        rt_ctx_release(&c);
        return r;
}

static int run_foreground(const char *root, const char *id, const struct rt_create_opts *o,
                          struct handle *h, int *ret_status, struct cella_error *err)
{
        _cleanup_close_ int sfd = rt_proxy_signalfd(err);
        if (sfd < 0)
                return sfd;
        /* Joined pid namespaces make the init our grandchild: reap it as subreaper. */
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        _cleanup_close_ int peer = -1;
        int master = -1;
        int r = create(root, id, o, &peer, h, err);
        if (r == 0 && peer >= 0) {
                r = lnx_recv_fd(peer, &master);
                if (r < 0)
                        cella_errno(err, -r, "receive the container's terminal");
        }
        if (r == 0)
                r = rt_start_handle(h, err);
        if (r < 0) {
                if (master >= 0)
                        close(master);
                return r;
        }
        *ret_status = rt_proxy_wait(h->st.pid, sfd, master);
        return 0;
}

int rt_run(const char *root, const char *id, const struct rt_create_opts *o, bool detach, bool keep,
           int *ret_status, struct cella_error *err)
{
        *ret_status = 0;
        struct handle h = {.root_fd = -1, .dir_fd = -1};
        int r;
        if (detach) {
                r = create(root, id, o, NULL, &h, err);
                if (r == 0)
                        r = rt_start_handle(&h, err);
        } else {
                r = run_foreground(root, id, o, &h, ret_status, err);
        }
        /* Detached, the container stays unless it failed to start. */
        if (!keep && (!detach || r < 0)) {
                struct cella_error derr = {0};
                int d =
                    h.loaded ? rt_delete_handle(&h, true, &derr) : rt_delete(root, id, true, &derr);
                if (d < 0 && r == 0)
                        *err = derr, r = d;
        }
        handle_close(&h);
        return r;
}
