/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: runs inside a test container and reports what the container sees.
 *
 *   /probe WHAT...
 *
 * Facts are printed as one JSON object on one line, keys in argument order.  Facts that take
 * an argument are keyed "what:arg" (e.g. "stat:/dev/null", "sysctl:net.ipv4.ip_forward").
 * Actions (sleep, exit, signals) first flush the facts gathered so far as a line.
 *
 * Facts:   ids caps nnp mounts namespaces uname rlimits cwd env fds umask oom pid cgroup tty
 *          sysctl NAME   read PATH   write PATH   stat PATH   ls PATH
 * Actions: sleep [SECONDS]  exit N  signals  (signals: blocks all signals but SIGURG, prints
 *          {"ready":true}, then {"signal":N} for the first signal received, and exits 0)
 *
 * Kept free of anything but static glibc so it runs in a bare busybox rootfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

static bool first_key = true;
static bool object_open = false;

static void json_str(const char *s)
{
        putchar('"');
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c == '\n')
                        fputs("\\n", stdout);
                else if (c == '\t')
                        fputs("\\t", stdout);
                else if (c < 0x20 || c >= 0x7f)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

static void key(const char *k, const char *arg)
{
        if (!object_open) {
                putchar('{');
                object_open = true;
                first_key = true;
        }
        if (!first_key)
                putchar(',');
        first_key = false;
        putchar('"');
        fputs(k, stdout);
        if (arg) {
                putchar(':');
                fputs(arg, stdout);
        }
        fputs("\":", stdout);
}

static void flush_object(void)
{
        if (object_open)
                fputs("}\n", stdout);
        object_open = false;
        fflush(stdout);
}

static void error_obj(int err)
{
        printf("{\"errno\":%d,\"error\":", err);
        json_str(strerror(err));
        putchar('}');
}

/* Reads a small file into buf (NUL-terminated); returns -errno on failure. */
static int read_text(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t r = read(fd, buf + n, size - 1 - n);
                if (r < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                if (r == 0)
                        break;
                n += (size_t)r;
        }
        buf[n] = '\0';
        close(fd);
        return (int)n;
}

/* Value of "Field:" in /proc/self/status, whitespace-trimmed, or NULL. */
static const char *status_field(const char *field, char *out, size_t size)
{
        static char buf[16384];
        if (read_text("/proc/self/status", buf, sizeof(buf)) < 0)
                return NULL;
        size_t flen = strlen(field);
        for (char *line = buf; line && *line;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
                        char *v = line + flen + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        snprintf(out, size, "%s", v);
                        return out;
                }
                line = next;
        }
        return NULL;
}

static void fact_ids(void)
{
        gid_t groups[NGROUPS_MAX];
        int n = getgroups(NGROUPS_MAX, groups);
        key("ids", NULL);
        printf("{\"uid\":%u,\"gid\":%u,\"euid\":%u,\"egid\":%u,\"groups\":[", getuid(), getgid(),
               geteuid(), getegid());
        for (int i = 0; i < n; i++)
                printf("%s%u", i ? "," : "", groups[i]);
        fputs("]}", stdout);
}

static void status_fields(const char *name, const char *const *fields, const char *const *keys)
{
        char v[256];
        key(name, NULL);
        putchar('{');
        for (int i = 0; fields[i]; i++) {
                printf("%s\"%s\":", i ? "," : "", keys[i]);
                if (status_field(fields[i], v, sizeof(v)))
                        json_str(v);
                else
                        fputs("null", stdout);
        }
        putchar('}');
}

static void fact_caps(void)
{
        static const char *const f[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", NULL};
        static const char *const k[] = {"inheritable", "permitted", "effective",
                                        "bounding",    "ambient",   NULL};
        status_fields("caps", f, k);
}

static void fact_nnp(void)
{
        static const char *const f[] = {"NoNewPrivs", "Seccomp", NULL};
        static const char *const k[] = {"no_new_privs", "seccomp", NULL};
        status_fields("nnp", f, k);
}

static void fact_umask(void)
{
        char v[64];
        key("umask", NULL);
        if (status_field("Umask", v, sizeof(v)))
                json_str(v);
        else
                fputs("null", stdout);
}

/* Splits at the next space; returns the field and advances *p. */
static char *next_field(char **p)
{
        char *s = *p;
        if (!s)
                return (char *)"";
        char *sp = strchr(s, ' ');
        if (sp) {
                *sp = '\0';
                *p = sp + 1;
        } else {
                *p = NULL;
        }
        return s;
}

/* Undo the octal escapes (\040 etc.) mountinfo uses for special characters. */
static void unescape(char *s)
{
        char *o = s;
        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
                        *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                        s += 4;
                } else {
                        *o++ = *s++;
                }
        }
        *o = '\0';
}

static void mount_line(char *line, bool first)
{
        char *p = line;
        char *id = next_field(&p), *parent = next_field(&p), *devno = next_field(&p);
        char *root = next_field(&p), *mp = next_field(&p), *opts = next_field(&p);
        unescape(root);
        unescape(mp);
        printf("%s{\"id\":%s,\"parent\":%s,\"dev\":", first ? "" : ",", id, parent);
        json_str(devno);
        fputs(",\"root\":", stdout);
        json_str(root);
        fputs(",\"mountpoint\":", stdout);
        json_str(mp);
        fputs(",\"options\":", stdout);
        json_str(opts);
        fputs(",\"propagation\":[", stdout);
        bool firstopt = true;
        for (;;) {
                char *opt = next_field(&p);
                if (!*opt || strcmp(opt, "-") == 0)
                        break;
                printf("%s", firstopt ? "" : ",");
                json_str(opt);
                firstopt = false;
        }
        char *fstype = next_field(&p), *source = next_field(&p), *super = next_field(&p);
        unescape(source);
        fputs("],\"fstype\":", stdout);
        json_str(fstype);
        fputs(",\"source\":", stdout);
        json_str(source);
        fputs(",\"super_options\":", stdout);
        json_str(super);
        putchar('}');
}

static void fact_mounts(void)
{
        static char buf[1 << 20];
        key("mounts", NULL);
        int r = read_text("/proc/self/mountinfo", buf, sizeof(buf));
        if (r < 0) {
                error_obj(-r);
                return;
        }
        putchar('[');
        bool first = true;
        for (char *line = buf; line && *line;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                mount_line(line, first);
                first = false;
                line = next;
        }
        putchar(']');
}

static void fact_namespaces(void)
{
        static const char *const ns[] = {
            "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children",
            "user",   "uts", NULL};
        key("namespaces", NULL);
        putchar('{');
        for (int i = 0; ns[i]; i++) {
                char path[64], target[256];
                snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                printf("%s\"%s\":", i ? "," : "", ns[i]);
                if (n < 0) {
                        fputs("null", stdout);
                        continue;
                }
                target[n] = '\0';
                json_str(target);
        }
        putchar('}');
}

static void fact_uname(void)
{
        struct utsname u;
        key("uname", NULL);
        if (uname(&u) < 0) {
                error_obj(errno);
                return;
        }
        fputs("{\"hostname\":", stdout);
        json_str(u.nodename);
        fputs(",\"domainname\":", stdout);
        json_str(u.domainname);
        putchar('}');
}

static void print_rlim(rlim_t v)
{
        if (v == RLIM_INFINITY)
                fputs("-1", stdout);
        else
                printf("%llu", (unsigned long long)v);
}

static void fact_rlimits(void)
{
        static const struct {
                const char *name;
                int res;
        } lim[] = {
            {"RLIMIT_AS", RLIMIT_AS},
            {"RLIMIT_CORE", RLIMIT_CORE},
            {"RLIMIT_CPU", RLIMIT_CPU},
            {"RLIMIT_DATA", RLIMIT_DATA},
            {"RLIMIT_FSIZE", RLIMIT_FSIZE},
            {"RLIMIT_LOCKS", RLIMIT_LOCKS},
            {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
            {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
            {"RLIMIT_NICE", RLIMIT_NICE},
            {"RLIMIT_NOFILE", RLIMIT_NOFILE},
            {"RLIMIT_NPROC", RLIMIT_NPROC},
            {"RLIMIT_RSS", RLIMIT_RSS},
            {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
            {"RLIMIT_RTTIME", RLIMIT_RTTIME},
            {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
            {"RLIMIT_STACK", RLIMIT_STACK},
        };
        key("rlimits", NULL);
        putchar('{');
        for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
                struct rlimit rl;
                if (getrlimit((__rlimit_resource_t)lim[i].res, &rl) < 0)
                        continue;
                printf("%s\"%s\":[", i ? "," : "", lim[i].name);
                print_rlim(rl.rlim_cur);
                putchar(',');
                print_rlim(rl.rlim_max);
                putchar(']');
        }
        putchar('}');
}

static void fact_cwd(void)
{
        char buf[PATH_MAX];
        key("cwd", NULL);
        if (getcwd(buf, sizeof(buf)))
                json_str(buf);
        else
                error_obj(errno);
}

static void fact_env(void)
{
        extern char **environ;
        key("env", NULL);
        putchar('[');
        for (char **e = environ; e && *e; e++) {
                if (e != environ)
                        putchar(',');
                json_str(*e);
        }
        putchar(']');
}

static void fact_fds(void)
{
        key("fds", NULL);
        DIR *d = opendir("/proc/self/fd");
        if (!d) {
                error_obj(errno);
                return;
        }
        int self = dirfd(d);
        bool first = true;
        putchar('{');
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.' || atoi(de->d_name) == self)
                        continue;
                char path[300], target[PATH_MAX];
                snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                target[n < 0 ? 0 : n] = '\0';
                printf("%s\"%s\":", first ? "" : ",", de->d_name);
                json_str(target);
                first = false;
        }
        putchar('}');
        closedir(d);
}

/* Prints a file's content (trimmed of one trailing newline) as a JSON string, or an error. */
static void print_file(const char *path)
{
        static char buf[65536];
        int r = read_text(path, buf, sizeof(buf));
        if (r < 0) {
                error_obj(-r);
                return;
        }
        if (r > 0 && buf[r - 1] == '\n')
                buf[r - 1] = '\0';
        json_str(buf);
}

static void fact_file(const char *k, const char *path)
{
        key(k, NULL);
        print_file(path);
}

static void fact_pid(void)
{
        key("pid", NULL);
        printf("{\"pid\":%d,\"ppid\":%d}", getpid(), getppid());
}

static void fact_tty(void)
{
        key("tty", NULL);
        putchar('{');
        for (int fd = 0; fd < 3; fd++) {
                struct winsize ws;
                const char *name = ttyname(fd);
                printf("%s\"%d\":{\"isatty\":%s,\"name\":", fd ? "," : "", fd,
                       isatty(fd) ? "true" : "false");
                if (name)
                        json_str(name);
                else
                        fputs("null", stdout);
                if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
                        printf(",\"rows\":%u,\"cols\":%u", ws.ws_row, ws.ws_col);
                putchar('}');
        }
        putchar('}');
}

static void fact_sysctl(const char *name)
{
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "/proc/sys/%s", name);
        for (int i = (int)strlen("/proc/sys/"); i < n; i++)
                if (path[i] == '.')
                        path[i] = '/';
        key("sysctl", name);
        print_file(path);
}

static void fact_read(const char *path)
{
        key("read", path);
        print_file(path);
}

static void fact_write(const char *path)
{
        key("write", path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                error_obj(errno);
                return;
        }
        ssize_t n = write(fd, "probe\n", 6);
        int e = n < 0 ? errno : 0;
        if (close(fd) < 0 && !e)
                e = errno;
        if (e)
                error_obj(e);
        else
                fputs("{\"errno\":0}", stdout);
}

static const char *file_type(mode_t m)
{
        switch (m & S_IFMT) {
        case S_IFREG:
                return "file";
        case S_IFDIR:
                return "dir";
        case S_IFLNK:
                return "symlink";
        case S_IFCHR:
                return "char";
        case S_IFBLK:
                return "block";
        case S_IFIFO:
                return "fifo";
        case S_IFSOCK:
                return "socket";
        }
        return "unknown";
}

static void fact_stat(const char *path)
{
        struct stat st;
        key("stat", path);
        if (lstat(path, &st) < 0) {
                error_obj(errno);
                return;
        }
        printf("{\"type\":\"%s\",\"mode\":%u,\"uid\":%u,\"gid\":%u,\"size\":%lld,"
               "\"dev\":[%u,%u],\"rdev\":[%u,%u],\"ino\":%llu",
               file_type(st.st_mode), (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid,
               (long long)st.st_size, major(st.st_dev), minor(st.st_dev), major(st.st_rdev),
               minor(st.st_rdev), (unsigned long long)st.st_ino);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                target[n < 0 ? 0 : n] = '\0';
                fputs(",\"target\":", stdout);
                json_str(target);
        }
        putchar('}');
}

static void fact_ls(const char *path)
{
        key("ls", path);
        DIR *d = opendir(path);
        if (!d) {
                error_obj(errno);
                return;
        }
        bool first = true;
        putchar('[');
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (!first)
                        putchar(',');
                json_str(de->d_name);
                first = false;
        }
        putchar(']');
        closedir(d);
}

static int action_signals(void)
{
        sigset_t all;
        int sig = 0;
        sigfillset(&all);
        /* Go runtimes (runc) forward their own preemption SIGURG; left unblocked it is
         * ignored by default, so the first signal reported is the one a test sent. */
        sigdelset(&all, SIGURG);
        sigprocmask(SIG_BLOCK, &all, NULL);
        flush_object();
        puts("{\"ready\":true}");
        fflush(stdout);
        if (sigwait(&all, &sig) != 0)
                return 1;
        printf("{\"signal\":%d}\n", sig);
        fflush(stdout);
        return 0;
}

static void action_sleep(const char *arg)
{
        flush_object();
        if (arg) {
                sleep((unsigned)atoi(arg));
                return;
        }
        for (;;)
                pause();
}

static bool is_number(const char *s)
{
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static bool simple_fact(const char *w)
{
        if (strcmp(w, "ids") == 0)
                fact_ids();
        else if (strcmp(w, "caps") == 0)
                fact_caps();
        else if (strcmp(w, "nnp") == 0)
                fact_nnp();
        else if (strcmp(w, "mounts") == 0)
                fact_mounts();
        else if (strcmp(w, "namespaces") == 0)
                fact_namespaces();
        else if (strcmp(w, "uname") == 0)
                fact_uname();
        else if (strcmp(w, "rlimits") == 0)
                fact_rlimits();
        else if (strcmp(w, "cwd") == 0)
                fact_cwd();
        else if (strcmp(w, "env") == 0)
                fact_env();
        else if (strcmp(w, "fds") == 0)
                fact_fds();
        else if (strcmp(w, "umask") == 0)
                fact_umask();
        else if (strcmp(w, "oom") == 0)
                fact_file("oom_score_adj", "/proc/self/oom_score_adj");
        else if (strcmp(w, "pid") == 0)
                fact_pid();
        else if (strcmp(w, "cgroup") == 0)
                fact_file("cgroup", "/proc/self/cgroup");
        else if (strcmp(w, "tty") == 0)
                fact_tty();
        else
                return false;
        return true;
}

static bool arg_fact(const char *w, const char *arg)
{
        if (strcmp(w, "sysctl") == 0)
                fact_sysctl(arg);
        else if (strcmp(w, "read") == 0)
                fact_read(arg);
        else if (strcmp(w, "write") == 0)
                fact_write(arg);
        else if (strcmp(w, "stat") == 0)
                fact_stat(arg);
        else if (strcmp(w, "ls") == 0)
                fact_ls(arg);
        else
                return false;
        return true;
}

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                const char *w = argv[i];
                if (simple_fact(w))
                        continue;
                if (i + 1 < argc && arg_fact(w, argv[i + 1])) {
                        i++;
                        continue;
                }
                if (strcmp(w, "sleep") == 0) {
                        const char *n = i + 1 < argc && is_number(argv[i + 1]) ? argv[++i] : NULL;
                        action_sleep(n);
                } else if (strcmp(w, "exit") == 0) {
                        flush_object();
                        return i + 1 < argc ? atoi(argv[i + 1]) : 0;
                } else if (strcmp(w, "signals") == 0) {
                        return action_signals();
                } else {
                        flush_object();
                        fprintf(stderr, "probe: unknown or incomplete fact \"%s\"\n", w);
                        return 2;
                }
        }
        flush_object();
        return 0;
}
