#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Side-by-side benchmark of cella, runc and crun (started by bench/run.sh; see
docs/benchmarks.md).

Measures, on one bundle (busybox-static rootfs, `runc spec` config running /bin/true):
  * wall time of `RUNTIME --root DIR run -b BUNDLE ID` (create+start+wait+delete), N runs per
    runtime, rounds interleaved so that background load hits every runtime alike;
  * the runtime process's own peak RSS (VmHWM at exit, via ptrace) and wait4's ru_maxrss,
    which also covers every descendant the runtime reaped;
  * the smallest linux.resources.memory.limit under which the container still runs.
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UNIFIED = "/sys/fs/cgroup/unified"
CONTROLLERS = UNIFIED + "/cgroup.controllers"
HUGETLB_V1 = "/sys/fs/cgroup/hugetlb"
ID_PREFIX = "cbench-"
LIMITS = ["128K", "192K", "256K", "384K", "512K", "1M", "2M", "4M", "8M"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1].upper() in units:
        return int(float(s[:-1]) * units[s[-1].upper()])
    return int(s)


def short_error(stderr):
    """The gist of a runtime's error output, for a table cell."""
    if not stderr:
        return ""
    last = stderr.splitlines()[-1]
    m = re.search(r'msg="(.*)"', last)  # runc's logrus format
    if m:
        last = m.group(1).replace('\\"', '"')
    if len(last) > 90:
        last = "…" + last[-90:]
    return ": " + last.replace("|", "/")


class Runtime:
    def __init__(self, name, path, statedir):
        self.name = name
        self.path = path
        self.root = os.path.join(statedir, "state-" + name)
        os.makedirs(self.root, exist_ok=True)
        self.version = ""
        self.error = None  # why it was dropped from the results

    def cmd(self, *args):
        return [self.path, "--root", self.root, *args]


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = tempfile.mkdtemp(prefix="cella-runbench-")
        self.bundle = os.path.join(self.workdir, "bundle")
        self.harness = os.path.join(self.workdir, "harness")
        # Where every runtime keeps its --root. On ext4 with `discard` (this machine's /tmp and
        # /run) state-file I/O is part of what is measured; see docs/benchmarks.md.
        self.statedir = self.workdir
        if args.state_dir:
            self.statedir = tempfile.mkdtemp(prefix="cella-runbench-", dir=args.state_dir)
        self.notes = []  # printed and written into results.md
        self.restore = []  # callables run at exit, last first
        self.seq = 0

    # ---- helpers -------------------------------------------------------------------------
    def note(self, msg):
        log("NOTE: " + msg)
        self.notes.append(msg)

    def new_id(self, rt):
        self.seq += 1
        return "%s%s-%d-%d" % (ID_PREFIX, rt.name, os.getpid(), self.seq)

    def measure(self, rt, bundle, trace=False, timeout=30):
        """One `run`; returns the harness's key=value dict plus 'stderr'."""
        cid = self.new_id(rt)
        cmd = [self.harness, "--timeout", str(timeout)]
        if trace:
            cmd.append("--trace-rss")
        cmd += ["--", *rt.cmd("run", "-b", bundle, cid)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True)
        res = {"status": -1}
        for line in p.stdout.splitlines():
            if line.startswith("wall_us="):
                res = {k: int(v) for k, v in (kv.split("=") for kv in line.split())}
        res["stderr"] = p.stderr.strip()
        if res["status"] != 0:
            # A failed or killed run may leave state and cgroups behind.
            subprocess.run(rt.cmd("delete", "-f", cid), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return res

    # ---- setup ---------------------------------------------------------------------------
    def build_harness(self):
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-Wall", "-o", self.harness, os.path.join(HERE, "harness.c")],
                       check=True)

    def make_bundle(self):
        busybox = shutil.which("busybox") or "/bin/busybox"
        out = subprocess.run(["file", "-L", busybox], capture_output=True, text=True).stdout
        if "statically linked" not in out and "static-pie" not in out:
            sys.exit("bench: %s is not static; apt-get install busybox-static" % busybox)
        rootfs = os.path.join(self.bundle, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        shutil.copy2(busybox, os.path.join(rootfs, "bin", "busybox"))
        for applet in ("true", "sh"):
            os.symlink("busybox", os.path.join(rootfs, "bin", applet))
        subprocess.run([self.args.runc, "spec", "-b", self.bundle], check=True)
        cfg = self.load_config()
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["/bin/true"]
        self.save_config(cfg)

    def load_config(self, bundle=None):
        with open(os.path.join(bundle or self.bundle, "config.json")) as f:
            return json.load(f)

    def save_config(self, cfg, bundle=None):
        with open(os.path.join(bundle or self.bundle, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)

    def find_runtimes(self):
        cella = self.args.cella or os.path.join(REPO, "build", "cella")
        rts = []
        for name, path in (("cella", cella), ("runc", self.args.runc), ("crun", self.args.crun)):
            full = shutil.which(path)
            if not full:
                sys.exit("bench: %s not found at %s (cella: meson setup build && ninja -C build)"
                         % (name, path))
            rt = Runtime(name, os.path.abspath(full), self.statedir)
            v = subprocess.run([rt.path, "--version"], capture_output=True, text=True).stdout
            rt.version = v.splitlines()[0] if v else "?"
            rts.append(rt)
        return rts

    # ---- crun and hybrid cgroups -----------------------------------------------------------
    def crun_cgroup_workaround(self):
        """crun 1.8 refuses hybrid mode when /sys/fs/cgroup/unified/cgroup.controllers is not
        empty (libcrun_cgroup_enter). See docs/benchmarks.md for the two ways around it."""
        if not os.path.exists(CONTROLLERS):
            return
        with open(CONTROLLERS) as f:
            ctrls = f.read().split()
        if not ctrls:
            return
        mode = self.args.crun_cgroups
        if mode == "none":
            self.note("cgroup2 has controllers %s; left as is (--crun-cgroups=none), so crun "
                      "1.8 is expected to refuse to run" % ctrls)
        elif mode == "mask":
            self.mask_controllers(ctrls)
        elif mode == "hugetlb-v1":
            if ctrls != ["hugetlb"]:
                sys.exit("bench: cgroup2 has controllers %s; --crun-cgroups=hugetlb-v1 only "
                         "moves hugetlb (try --crun-cgroups=mask)" % ctrls)
            self.move_hugetlb_to_v1()

    def mask_controllers(self, ctrls):
        # All runtimes run in a private mount namespace of this script in which an empty file
        # is bind-mounted over cgroup.controllers. Nothing changes on the host.
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWNS, MS_REC, MS_PRIVATE, MS_BIND = 0x20000, 0x4000, 1 << 18, 0x1000
        if libc.unshare(CLONE_NEWNS) != 0:
            sys.exit("bench: unshare(CLONE_NEWNS): %s" % os.strerror(ctypes.get_errno()))
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            sys.exit("bench: make / private: %s" % os.strerror(ctypes.get_errno()))
        empty = os.path.join(self.workdir, "empty-cgroup.controllers")
        open(empty, "w").close()
        if libc.mount(empty.encode(), CONTROLLERS.encode(), None, MS_BIND, None) != 0:
            sys.exit("bench: bind-mount over %s: %s" % (CONTROLLERS, os.strerror(ctypes.get_errno())))
        self.note("cgroup2 (%s) has controllers %s and crun 1.8 refuses hybrid mode then. "
                  "The benchmark runs all three runtimes in a private mount namespace where an "
                  "empty file is bind-mounted over %s (--crun-cgroups=mask); the host's cgroups "
                  "are not changed." % (UNIFIED, ctrls, CONTROLLERS))

    def move_hugetlb_to_v1(self):
        # Binding hugetlb to a v1 hierarchy takes it off cgroup2; this is host-wide, so it is
        # undone at exit (see restore_hugetlb for why that can need a second try).
        made_dir = False
        if not os.path.isdir(HUGETLB_V1):
            os.mkdir(HUGETLB_V1)
            made_dir = True
        r = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", HUGETLB_V1],
                           capture_output=True, text=True)
        if r.returncode != 0:
            if made_dir:
                os.rmdir(HUGETLB_V1)
            sys.exit("bench: mount hugetlb v1 hierarchy on %s: %s (hugetlb must not be enabled "
                     "in any cgroup.subtree_control of cgroup2)" % (HUGETLB_V1, r.stderr.strip()))
        self.restore.append(lambda: self.restore_hugetlb(made_dir))
        self.note("MOVED the hugetlb controller from cgroup2 to a v1 hierarchy mounted on %s "
                  "(--crun-cgroups=hugetlb-v1) so that crun 1.8 accepts hybrid mode; this is "
                  "host-wide (other runtimes on the host will use that hierarchy meanwhile) and "
                  "is undone when the benchmark ends." % HUGETLB_V1)

    def restore_hugetlb(self, made_dir):
        # Other cella/runc processes on the host see the v1 hierarchy while it is mounted and
        # put their containers' cgroups into it too; only empty cgroups can be removed.
        self.rmdir_empty_children(HUGETLB_V1)
        time.sleep(0.2)  # let the removed cgroups be released
        subprocess.run(["umount", HUGETLB_V1], check=False)
        if made_dir:
            os.rmdir(HUGETLB_V1)
        # The kernel destroys a v1 hierarchy at umount only if it has no child cgroup at that
        # moment; a child whose rmdir is not fully released yet, or one another runtime made,
        # keeps the hierarchy alive, unmounted, holding hugetlb. Mounting it again (which reuses
        # it) and unmounting it once it is empty destroys it. That mount is made in a private
        # mount namespace so that no other process on the host sees it and uses it meanwhile.
        retry = ('d=$(mktemp -d) && mount -t cgroup -o hugetlb cgroup "$d" && '
                 'for c in "$d"/*/; do [ -d "$c" ] && [ ! -s "$c/cgroup.procs" ] && '
                 'rmdir "$c"; done; sleep 0.2; umount "$d"; rmdir "$d"')
        for _ in range(30):
            if self.hugetlb_on_v2():
                log("bench: restored: hugetlb is back on cgroup2 (%s)" % CONTROLLERS)
                return
            subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", retry],
                           stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        log("bench: WARNING: hugetlb did not return to cgroup2 (a container may still be "
            "running in it); retry later with: unshare -m sh -c 'mount -t cgroup -o hugetlb "
            "cgroup /mnt && rmdir /mnt/*/; umount /mnt'")

    @staticmethod
    def rmdir_empty_children(top):
        for d, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
            if d == top:
                continue
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    if f.read().strip():
                        log("bench: %s still has processes; not removed" % d)
                        continue
                os.rmdir(d)
            except OSError as e:
                log("bench: cannot remove %s: %s" % (d, e))

    @staticmethod
    def hugetlb_on_v2():
        with open(CONTROLLERS) as f:
            return "hugetlb" in f.read().split()

    # ---- checks --------------------------------------------------------------------------
    def check_runtimes(self, rts):
        """Each runtime must run runc's default config. If one refuses it because the config
        raises ambient capabilities that are not inheritable (runc and crun ignore that), the
        inheritable set is added for every runtime, and that is reported."""
        failed = {rt.name: r["stderr"] for rt in rts
                  for r in [self.measure(rt, self.bundle)] if r["status"] != 0}
        if any("ambient" in msg for msg in failed.values()):
            cfg = self.load_config()
            caps = cfg["process"]["capabilities"]
            caps["inheritable"] = list(caps.get("ambient", []))
            self.save_config(cfg)
            who = [n for n, m in failed.items() if "ambient" in m]
            self.note("%s refused `runc spec`'s default config (%s); runc and crun accept it. "
                      "The benchmark adds process.capabilities.inheritable = ambient for all "
                      "runtimes." % (", ".join(who), failed[who[0]].splitlines()[-1]))
            failed = {rt.name: r["stderr"] for rt in rts
                      for r in [self.measure(rt, self.bundle)] if r["status"] != 0}
        for rt in rts:
            if rt.name in failed:
                rt.error = failed[rt.name].splitlines()[-1] if failed[rt.name] else "failed"
                self.note("%s cannot run the bundle and is left out: %s" % (rt.name, rt.error))
        return [rt for rt in rts if not rt.error]

    # ---- measurements ----------------------------------------------------------------------
    def time_runs(self, rts):
        n, warm = self.args.runs, self.args.warmup
        samples = {rt.name: [] for rt in rts}
        self.cpu = {rt.name: [] for rt in rts}
        fails = {rt.name: 0 for rt in rts}
        log("timing: %d warm-up + %d measured runs per runtime, interleaved" % (warm, n))
        for i in range(warm + n):
            # Rotate the order each round so no runtime always follows another.
            order = rts[i % len(rts):] + rts[:i % len(rts)]
            for rt in order:
                r = self.measure(rt, self.bundle)
                if i < warm:
                    continue
                if r["status"] == 0:
                    samples[rt.name].append(r["wall_us"] / 1000.0)
                    self.cpu[rt.name].append(r["cpu_us"] / 1000.0)
                else:
                    fails[rt.name] += 1
        return samples, fails

    def rss_runs(self, rts):
        out = {}
        log("memory: %d traced runs per runtime" % self.args.rss_runs)
        for rt in rts:
            hwm, maxrss, execs = [], [], 0
            for _ in range(self.args.rss_runs):
                r = self.measure(rt, self.bundle, trace=True)
                if r["status"] == 0:
                    hwm.append(r["hwm_kib"])
                    maxrss.append(r["maxrss_kib"])
                    execs = max(execs, r["execs"])
            out[rt.name] = {"hwm": hwm, "maxrss": maxrss, "execs": execs}
        return out

    def floor_bundle(self, limit):
        b = os.path.join(self.workdir, "bundle-mem-" + limit)
        os.makedirs(b, exist_ok=True)
        cfg = self.load_config()
        cfg["root"]["path"] = os.path.join(self.bundle, "rootfs")
        mem = cfg.setdefault("linux", {}).setdefault("resources", {}).setdefault("memory", {})
        mem["limit"] = parse_size(limit)
        self.save_config(cfg, b)
        return b

    def memory_floor(self, rts):
        limits = self.args.limits.split(",")
        tries = self.args.floor_tries
        log("memory floor: limits %s, %d tries each" % (", ".join(limits), tries))
        table = {rt.name: {} for rt in rts}
        for limit in limits:
            b = self.floor_bundle(limit)
            for rt in rts:
                ok, why = 0, ""
                for _ in range(tries):
                    r = self.measure(rt, b, timeout=20)
                    if r["status"] == 0:
                        ok += 1
                    elif not why:
                        why = "exit %d%s" % (r["status"], short_error(r["stderr"]))
                table[rt.name][limit] = (ok, why)
        return limits, table

    # ---- report --------------------------------------------------------------------------
    @staticmethod
    def pct(xs, p):
        xs = sorted(xs)
        k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1))  # nearest rank
        return xs[k]

    def report(self, rts, samples, fails, rss, limits, floor, started, load0):
        tries = self.args.floor_tries
        med = {n: statistics.median(s) for n, s in samples.items() if s}
        base = med.get("crun")

        def floor_of(name):
            works = [l for l in limits if floor[name][l][0] == tries]
            if not works:
                return "> " + limits[-1]
            # Smallest limit from which every larger tested limit works too.
            for i, l in enumerate(limits):
                if all(floor[name][x][0] == tries for x in limits[i:]):
                    return l
            return works[0]

        rows = ["| runtime | median ms | p90 ms | ratio vs crun | peak RSS KiB | min memory limit |",
                "|---|---:|---:|---:|---:|---:|"]
        for rt in rts:
            s = samples[rt.name]
            if not s:
                rows.append("| %s | failed | | | | |" % rt.name)
                continue
            ratio = "%.2f×" % (med[rt.name] / base) if base else "n/a"
            h = rss[rt.name]["hwm"]
            rows.append("| %s | %.1f | %.1f | %s | %s | %s |" % (
                rt.name, med[rt.name], self.pct(s, 90), ratio,
                "%d" % statistics.median(h) if h else "?", floor_of(rt.name)))
        table = "\n".join(rows)

        det = ["| runtime | version | runs ok / failed | min ms | mean ms | CPU ms (median) "
               "| own VmHWM KiB (min–max) | ru_maxrss incl. reaped children KiB (median) |",
               "|---|---|---:|---:|---:|---:|---:|---:|"]
        for rt in rts:
            s, h, m = samples[rt.name], rss[rt.name]["hwm"], rss[rt.name]["maxrss"]
            c = self.cpu[rt.name]
            det.append("| %s | %s | %d / %d | %s | %s | %s | %s | %s |" % (
                rt.name, rt.version, len(s), fails[rt.name],
                "%.1f" % min(s) if s else "-", "%.1f" % statistics.mean(s) if s else "-",
                "%.1f" % statistics.median(c) if c else "-",
                "%d–%d" % (min(h), max(h)) if h else "-",
                "%d" % statistics.median(m) if m else "-"))
        fl = ["| memory.limit | " + " | ".join(rt.name for rt in rts) + " |",
              "|---|" + "---|" * len(rts)]
        for l in limits:
            cells = []
            for rt in rts:
                ok, why = floor[rt.name][l]
                cells.append("ok" if ok == tries else "%d/%d ok (%s)" % (ok, tries, why))
            fl.append("| %s | %s |" % (l, " | ".join(cells)))

        load1 = os.getloadavg()
        fstype = subprocess.run(["stat", "-f", "-c", "%T", self.statedir], capture_output=True,
                                text=True).stdout.strip()
        md = [
            "# cella benchmark results",
            "",
            "Generated by `bench/run.sh` on %s (%s UTC); kernel %s, %d CPUs, load average "
            "%.2f before / %.2f after." % (
                platform.node(), started, platform.release(), os.cpu_count(), load0[0], load1[0]),
            "`run` of /bin/true (create+start+wait+delete) on one bundle: busybox-static rootfs, "
            "`runc spec` config with terminal=false; %d interleaved runs per runtime after %d "
            "warm-up runs. Peak RSS is the runtime process's own VmHWM (median of %d runs); "
            "min memory limit is the smallest tested `linux.resources.memory.limit` under "
            "which %d/%d runs succeeded (and every larger one too). State directories (`--root`) "
            "on %s (%s). Method: docs/benchmarks.md."
            % (self.args.runs, self.args.warmup, self.args.rss_runs, tries, tries,
               self.args.state_dir or tempfile.gettempdir(), fstype),
            "",
            table,
            "",
            "## Details",
            "",
            "\n".join(det),
            "",
            "Memory floor (tested `linux.resources.memory.limit`, %d tries each):" % tries,
            "",
            "\n".join(fl),
            "",
        ]
        if self.notes:
            md += ["## Notes", ""] + ["- " + n for n in self.notes] + [""]
        text = "\n".join(md)
        print("\n" + text)
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump({"wall_ms": samples, "cpu_ms": self.cpu, "rss": rss,
                           "floor": {n: {l: v[0] for l, v in t.items()} for n, t in floor.items()},
                           "notes": self.notes}, f, indent=1)
        if self.args.output:
            with open(self.args.output, "w") as f:
                f.write(text)
            log("written to %s" % self.args.output)

    # ---- main ----------------------------------------------------------------------------
    def sweep_cgroups(self):
        """rmdir cgroups a failed run may have left behind (only our own ID prefix)."""
        for top in os.listdir("/sys/fs/cgroup"):
            base = os.path.join("/sys/fs/cgroup", top)
            if not os.path.isdir(base) or os.path.islink(base):
                continue
            for d, dirs, _ in os.walk(base, topdown=False):
                if os.path.basename(d).startswith(ID_PREFIX):
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass

    def run(self):
        started = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
        load0 = os.getloadavg()
        try:
            self.build_harness()
            rts = self.find_runtimes()
            self.make_bundle()
            self.crun_cgroup_workaround()
            rts_ok = self.check_runtimes(rts)
            if not rts_ok:
                sys.exit("bench: no runtime can run the bundle")
            samples, fails = self.time_runs(rts_ok)
            rss = self.rss_runs(rts_ok)
            limits, floor = self.memory_floor(rts_ok)
            self.report(rts_ok, samples, fails, rss, limits, floor, started, load0)
        finally:
            self.sweep_cgroups()
            for fn in reversed(self.restore):
                fn()
            if self.args.keep:
                log("kept: %s (bundle/, harness)" % self.workdir)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
                if self.statedir != self.workdir:
                    shutil.rmtree(self.statedir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100, help="measured runs per runtime (100)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up runs per runtime (5)")
    ap.add_argument("--rss-runs", type=int, default=10, help="traced runs for peak RSS (10)")
    ap.add_argument("--limits", default=",".join(LIMITS),
                    help="memory limits to try, ascending (%s)" % ",".join(LIMITS))
    ap.add_argument("--floor-tries", type=int, default=3,
                    help="runs per memory limit; all must succeed (3)")
    ap.add_argument("--cella", help="cella binary (default: build/cella of this checkout)")
    ap.add_argument("--runc", default="/usr/sbin/runc")
    ap.add_argument("--crun", default="crun")
    ap.add_argument("--crun-cgroups", choices=["mask", "hugetlb-v1", "none"], default="mask",
                    help="how to get crun past hybrid cgroups with a cgroup2 controller: mask "
                         "cgroup.controllers in a private mount namespace (default, host "
                         "untouched) or move hugetlb to a v1 mount (host-wide, undone at exit)")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"),
                    help="markdown file to write (bench/results.md); '' for none")
    ap.add_argument("--state-dir", help="parent directory for the runtimes' --root dirs "
                    "(default: the temporary work directory under $TMPDIR)")
    ap.add_argument("--json", help="also write the raw samples to this JSON file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    # SIGTERM/SIGHUP unwind through the finally blocks like Ctrl-C does.
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(130))
    Bench(args).run()


if __name__ == "__main__":
    main()
