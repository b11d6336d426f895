/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"

int lnx_set_rlimits(const struct oci_process *p, struct cella_error *err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                const struct oci_rlimit *rl = &p->rlimits[i];
                struct rlimit lim = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
                if (setrlimit(rl->resource, &lim) < 0)
                        return cella_errno(err, errno, "process.rlimits[%zu]: set %s to %llu/%llu",
                                           i, rl->type, (unsigned long long)rl->soft,
                                           (unsigned long long)rl->hard);
        }
        return 0;
}

int lnx_set_oom_score_adj(const struct oci_process *p, struct cella_error *err)
{
        if (!p->has_oom_score_adj)
                return 0;
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
        int r = fs_write_file("/proc/self/oom_score_adj", buf, (size_t)n, 0);
        if (r < 0)
                return cella_errno(err, -r, "process.oomScoreAdj: write %d", p->oom_score_adj);
        return 0;
}

int lnx_new_session_keyring(const char *id, struct cella_error *err)
{
        char name[300];
        snprintf(name, sizeof(name), "_ses.%s", id);
        /* KEYCTL_JOIN_SESSION_KEYRING; unsupported kernels are not an error (as in runc). */
        if (syscall(SYS_keyctl, 1, name) < 0 && errno != ENOSYS)
                return cella_errno(err, errno, "join a new session keyring");
        return 0;
}

int lnx_switch_user(const struct oci_process *p, bool setgroups_allowed, struct cella_error *err)
{
        const struct oci_user *u = &p->user;
        if (setgroups_allowed || u->n_additional_gids > 0) {
                if (setgroups(u->n_additional_gids, (const gid_t *)u->additional_gids) < 0)
                        return cella_errno(err, errno, "setgroups (process.user.additionalGids)");
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return cella_errno(err, errno, "prctl(PR_SET_KEEPCAPS)");
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return cella_errno(err, errno, "setgid %u (process.user.gid)", u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return cella_errno(err, errno, "setuid %u (process.user.uid)", u->uid);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return cella_errno(err, errno, "prctl(PR_SET_KEEPCAPS)");
        umask(u->has_umask ? u->umask : 022);
        return 0;
}

static int check_exec(const char *path, struct cella_error *err)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return cella_err(err, EACCES, "exec: \"%s\": is a directory", path);
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

static const char *env_path(const struct oci_process *p)
{
        for (size_t i = 0; i < p->n_env; i++)
                if (strncmp(p->env[i], "PATH=", 5) == 0)
                        return p->env[i] + 5;
        return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

int lnx_find_executable(const struct oci_process *p, char *ret_path, size_t size,
                        struct cella_error *err)
{
        const char *name = p->args[0];
        if (strchr(name, '/')) {
                int r = check_exec(name, err);
                if (r < 0)
                        return err && err->code ? r : cella_errno(err, -r, "exec: \"%s\"", name);
                snprintf(ret_path, size, "%s", name);
                return 0;
        }
        const char *path = env_path(p);
        int last = ENOENT;
        while (*path) {
                const char *end = strchrnul(path, ':');
                int n = snprintf(ret_path, size, "%.*s/%s", (int)(end - path), path, name);
                if (end == path)
                        n = snprintf(ret_path, size, "./%s", name);
                if (n > 0 && (size_t)n < size) {
                        int r = check_exec(ret_path, NULL);
                        if (r == 0)
                                return 0;
                        if (r != -ENOENT && r != -ENOTDIR)
                                last = -r;
                }
                path = *end ? end + 1 : end;
        }
        if (last != ENOENT)
                return cella_errno(err, last, "exec: \"%s\"", name);
        return cella_err(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

static char *passwd_home(uid_t uid)
{
        FILE *f = fopen("/etc/passwd", "re");
        if (!f)
                return NULL;
        char line[1024], *home = NULL;
        while (!home && fgets(line, sizeof(line), f)) {
                /* name:password:uid:gid:gecos:home:shell */
                char *fields[7] = {0}, *p = line;
                int n = 0;
                for (char *t; n < 7 && (t = strsep(&p, ":\n")); n++)
                        fields[n] = t;
                if (n >= 6 && fields[2][0] && strtoul(fields[2], NULL, 10) == uid && fields[5][0])
                        home = strdup(fields[5]);
        }
        fclose(f);
        return home;
}

char **lnx_env_with_home(const struct oci_process *p)
{
        size_t n = p->n_env;
        for (size_t i = 0; i < n; i++)
                if (strncmp(p->env[i], "HOME=", 5) == 0)
                        return p->env;
        char **env = calloc(n + 2, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                env[i] = p->env[i];
        char *home = passwd_home(p->user.uid);
        if (asprintf(&env[n], "HOME=%s", home ? home : "/") < 0)
                env[n] = "HOME=/";
        free(home);
        return env;
}

int lnx_chdir_in_root(const char *cwd, struct cella_error *err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return cella_errno(err, errno, "open \"/\"");
        _cleanup_close_ int dir = fs_open_in_root(root, cwd, O_PATH | O_DIRECTORY, 0);
        if (dir < 0)
                return cella_errno(err, -dir, "process.cwd: \"%s\"", cwd);
        if (fchdir(dir) < 0)
                return cella_errno(err, errno, "process.cwd: chdir \"%s\"", cwd);
        return 0;
}

int lnx_set_hostname(const struct oci_spec *spec, struct cella_error *err)
{
        if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
                return cella_errno(err, errno, "hostname: set \"%s\"", spec->hostname);
        if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
                return cella_errno(err, errno, "domainname: set \"%s\"", spec->domainname);
        return 0;
}

unsigned long long lnx_ignored_signals(void)
{
        _cleanup_free_ char *status = NULL;
        if (fs_read_file("/proc/self/status", 1 << 16, &status, NULL) < 0)
                return ~0ULL;
        const char *p = strstr(status, "\nSigIgn:");
        char *end;
        unsigned long long mask = p ? strtoull(p + 8, &end, 16) : 0;
        return p && end != p + 8 ? mask : ~0ULL;
}

void lnx_reset_signals(unsigned long long mask)
{
        struct sigaction sa = {.sa_handler = SIG_DFL};
        for (int sig = 1; sig < NSIG && sig <= 64; sig++)
                if (mask & (1ULL << (sig - 1)))
                        sigaction(sig, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}
