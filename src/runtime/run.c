/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `run`: create and start; in the foreground cella then stays the init's parent (or
 * subreaper), forwards signals to it, proxies the terminal when the container has one and no
 * console socket was given (proxy.c), and exits with the container's status.
 */
#include <sys/prctl.h>

#include "base/cleanup.h"
#include "linux/terminal.h"
#include "runtime/container.h"
#include "runtime/internal.h"
#include "runtime/proxy.h"
#include "runtime/runtime.h"

static int run_foreground(const char *root, const char *id, const struct rt_create_opts *o,
                          int *ret_status, struct cella_error *err)
{
        _cleanup_close_ int sfd = rt_proxy_signalfd(err);
        if (sfd < 0)
                return sfd;
        /* Joined pid namespaces make the init our grandchild: reap it as subreaper. */
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        struct rt_ctx c;
        _cleanup_close_ int peer = -1;
        int master = -1;
        int r = rt_create_ctx(&c, root, id, o, &peer, err);
        pid_t init = c.pid;
        rt_ctx_release(&c);
        if (r == 0 && peer >= 0) {
                r = lnx_recv_fd(peer, &master);
                if (r < 0)
                        cella_errno(err, -r, "receive the container's terminal");
        }
        if (r == 0)
                r = rt_start(root, id, err);
        if (r < 0) {
                if (master >= 0)
                        close(master);
                return r;
        }
        *ret_status = rt_proxy_wait(init, sfd, master);
        return 0;
}

int rt_run(const char *root, const char *id, const struct rt_create_opts *o, bool detach, bool keep,
           int *ret_status, struct cella_error *err)
{
        *ret_status = 0;
        if (detach) {
                int r = rt_create(root, id, o, err);
                if (r == 0)
                        r = rt_start(root, id, err);
                if (r < 0 && !keep) {
                        struct cella_error ignored = {0};
                        rt_delete(root, id, true, &ignored);
                }
                return r;
        }
        int r = run_foreground(root, id, o, ret_status, err);
        if (!keep) {
                struct cella_error derr = {0};
                if (rt_delete(root, id, true, &derr) < 0 && r == 0)
                        *err = derr, r = -derr.code;
        }
        return r;
}
