/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/harness.c — runs one command once and reports how long it took and how much memory
 * it used, for bench/run.sh. Not part of cella; built by the benchmark into a temporary dir.
 *
 *   harness [--timeout SEC] [--trace-rss] -- COMMAND ARGS...
 *
 * prints one line of key=value pairs:
 *   wall_us      time from fork() to wait4() returning, microseconds (CLOCK_MONOTONIC)
 *   status       exit code, 128+N when killed by signal N, 124 on timeout
 *   cpu_us       wait4() ru_utime + ru_stime: CPU time of the command and of every descendant
 *                it reaped (for `run`: the container's process too), microseconds
 *   maxrss_kib   wait4() ru_maxrss: the peak RSS of the command's process OR of any
 *                descendant it reaped (the kernel folds a reaped child's peak into its
 *                parent's "cmaxrss"), so for `run` it includes the container's process and,
 *                for runc, `runc init`. An upper bound, not the runtime's own footprint.
 *   hwm_kib      (--trace-rss) VmHWM of the command's own process, read from
 *                /proc/PID/status at its PTRACE_EVENT_EXIT stop, i.e. just before its
 *                address space is torn down: the peak RSS of that process alone (all its
 *                threads share the mm; children and re-exec'd helpers are not included).
 *   execs        (--trace-rss) execve()s the traced process did after the first one; if
 *                non-zero, hwm_kib only covers the last program image.
 *
 * Only the top process is traced (no PTRACE_O_TRACEFORK/CLONE), so containers and their init
 * processes run untraced; signal-delivery stops are re-injected unchanged. --trace-rss runs
 * are slower and are never used for timing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long read_status_kib(pid_t pid, const char *key)
{
        char path[64], line[256];
        size_t klen = strlen(key);
        long val = -1;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        val = strtol(line + klen + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return val;
}

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
        (void)sig;
        timed_out = 1;
}

int main(int argc, char **argv)
{
        int timeout = 30, i;
        bool trace = false;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
                        timeout = atoi(argv[++i]);
                else if (strcmp(argv[i], "--trace-rss") == 0)
                        trace = true;
                else if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                } else
                        break;
        }
        if (i >= argc) {
                fprintf(stderr, "usage: harness [--timeout SEC] [--trace-rss] -- CMD ARGS...\n");
                return 2;
        }

        /* No SA_RESTART: the alarm must interrupt wait4(). */
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);

        long long t0 = now_us();
        pid_t pid = fork();
        if (pid < 0) {
                perror("fork");
                return 2;
        }
        if (pid == 0) {
                /* Own process group so a timeout can kill the runtime and its helpers. */
                setpgid(0, 0);
                if (trace) {
                        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
                        raise(SIGSTOP);
                }
                execvp(argv[i], argv + i);
                perror(argv[i]);
                _exit(127);
        }
        setpgid(pid, pid);
        alarm((unsigned)timeout);

        long hwm = -1;
        int execs = -1, status = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof(ru));
        for (;;) {
                pid_t r = wait4(pid, &status, __WALL, &ru);
                if (r < 0 && errno == EINTR) {
                        if (timed_out) {
                                kill(-pid, SIGKILL);
                                kill(pid, SIGKILL);
                        }
                        continue;
                }
                if (r < 0) {
                        perror("wait4");
                        return 2;
                }
                if (!WIFSTOPPED(status))
                        break;
                int event = status >> 16, sig = WSTOPSIG(status), inject = 0;
                if (event == 0 && sig == SIGSTOP && execs < 0) {
                        /* The child's own raise(SIGSTOP) before execvp. */
                        ptrace(PTRACE_SETOPTIONS, pid, NULL,
                               (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC |
                                              PTRACE_O_EXITKILL));
                } else if (event == PTRACE_EVENT_EXEC) {
                        execs++;
                } else if (event == PTRACE_EVENT_EXIT) {
                        hwm = read_status_kib(pid, "VmHWM");
                } else if (event == 0) {
                        inject = sig;
                }
                ptrace(PTRACE_CONT, pid, NULL, (void *)(long)inject);
        }
        long long t1 = now_us();
        alarm(0);

        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (timed_out)
                code = 124;
        long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                        ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
        printf("wall_us=%lld status=%d cpu_us=%lld maxrss_kib=%ld", t1 - t0, code, cpu,
               ru.ru_maxrss);
        if (trace)
                printf(" hwm_kib=%ld execs=%d", hwm, execs);
        printf("\n");
        return 0;
}
