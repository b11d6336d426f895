# SPDX-License-Identifier: Apache-2.0
"""Helpers for the runtime-spec conformance tests (no fixtures here; see conftest.py).

Every test in this directory quotes the runtime-spec sentence it checks, in a comment of the form

    # SPEC config.md: "The runtime MUST mount entries in the listed order."

and COVERAGE.md maps every MUST/SHOULD for Linux to a test (or to the reason none can run here).
"""
import json
import os
import stat
import textwrap
from pathlib import Path

import pytest

from helpers import IS_CELLA, RUNTIME, wait_for  # noqa: F401  (re-exported for the tests)

SCHEMA_DIR = Path(os.environ.get(
    "OCI_SCHEMA_DIR", "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"))

# runtime-spec namespace type -> /proc/PID/ns file name
NS_FILES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
            "user": "user", "cgroup": "cgroup", "time": "time"}


def runc_xfail(reason):
    """The reference runc 1.1 fails this test; `reason` cites the sentence that puts cella right."""
    return pytest.mark.xfail(not IS_CELLA, strict=False,
                             reason=f"runc 1.1 deviates from the spec: {reason}")


def cella_bug(reason):
    """A known cella bug: xfail(strict) on cella so CI stays green until the fix lands."""
    return pytest.mark.xfail(IS_CELLA, strict=True, reason=f"cella bug: {reason}")


# --- JSON schemas ------------------------------------------------------------------------------

class Schemas:
    """Draft-04 validators for config-schema.json and state-schema.json; the schemas' relative
    $refs ("defs.json#/...") resolve against a registry rooted at the schema directory."""

    def __init__(self, docs):
        self.docs = docs  # file URI -> schema document

    @classmethod
    def load(cls):
        if not (SCHEMA_DIR / "config-schema.json").exists():
            pytest.skip(f"runtime-spec schemas not found in {SCHEMA_DIR} "
                        "(Debian: golang-github-opencontainers-specs-dev)")
        docs = {p.as_uri(): json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}
        return cls(docs)

    def validator(self, schema_name):
        from jsonschema import Draft4Validator
        uri = (SCHEMA_DIR / schema_name).as_uri()
        schema = self.docs[uri]
        try:  # jsonschema >= 4.18: a `referencing` registry rooted at the schema directory
            from referencing import Registry
            from referencing.jsonschema import DRAFT4
        except ImportError:  # Debian 12's python3-jsonschema 4.10: RefResolver with a store
            from jsonschema import RefResolver
            resolver = RefResolver(base_uri=uri, referrer=schema, store=dict(self.docs))
            return Draft4Validator(schema, resolver=resolver)
        registry = Registry().with_resources(
            (u, DRAFT4.create_resource(d)) for u, d in self.docs.items())
        schema = dict(schema, id=uri)  # base URI for the relative $refs ("defs.json#/...")
        return Draft4Validator(schema, registry=registry)

    def errors(self, schema_name, instance):
        validator = self.validator(schema_name)
        return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.path))]

    def check_config(self, cfg):
        errs = self.errors("config-schema.json", cfg)
        assert not errs, "config.json does not match config-schema.json:\n" + "\n".join(errs)

    def check_state(self, state):
        errs = self.errors("state-schema.json", state)
        assert not errs, "state does not match state-schema.json:\n" + "\n".join(errs)


# --- hooks -------------------------------------------------------------------------------------

HOST_HOOK = """\
#!/usr/bin/python3 -I
# Hook run in the runtime's namespaces: logs what it sees as one JSON line.
import json, os, sys, time
log, tag, code, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
raw = sys.stdin.read()
try:
    state = json.loads(raw)
except ValueError:
    state = {"unparsable": raw}
ns = {}
for n in ("mnt", "pid", "net", "uts", "ipc", "user", "cgroup"):
    try:
        ns[n] = os.readlink("/proc/self/ns/" + n)
    except OSError:
        pass
seen = {}
pid = state.get("pid") if isinstance(state, dict) else None
if isinstance(pid, int) and pid > 0:
    for key, path in (("exe", "/proc/%d/exe"), ("mnt", "/proc/%d/ns/mnt")):
        try:
            seen[key] = os.readlink(path % pid)
        except OSError as e:
            seen[key + "_errno"] = e.errno
rec = {"tag": tag, "state": state, "ns": ns, "argv": sys.argv, "env": dict(os.environ),
       "pid_view": seen}
with open(log, "a") as f:
    f.write(json.dumps(rec) + "\\n")
time.sleep(pause)
sys.exit(code)
"""

CONTAINER_HOOK = """\
#!/bin/sh
# Hook run in the container's namespaces (busybox sh of the test rootfs).
state=$(cat)
[ -n "$state" ] || state=null
[ -z "$3" ] || sleep "$3"
echo "{\\"tag\\":\\"$1\\",\\"ns\\":{\\"mnt\\":\\"$(readlink /proc/self/ns/mnt)\\",\\"pid\\":\\"$(readlink /proc/self/ns/pid)\\"},\\"state\\":$state}" >> /hooks.log
exit ${2:-0}
"""


class Hooks:
    """Hook programs for one bundle.  Every hook appends a JSON line to rootfs/hooks.log: host
    hooks by its host path, container hooks (startContainer) as /hooks.log inside the rootfs."""

    def __init__(self, bundle):
        self.bundle = bundle
        self.log = bundle.rootfs / "hooks.log"
        self.host_prog = bundle.path / "hook.py"
        self.host_prog.write_text(HOST_HOOK)
        self.host_prog.chmod(0o755)
        self.cont_prog = bundle.rootfs / "hook.sh"
        self.cont_prog.write_text(CONTAINER_HOOK)
        self.cont_prog.chmod(0o755)

    def host(self, tag, code=0, pause=0, **extra):
        """A hook whose path resolves on the host (all kinds except startContainer)."""
        h = {"path": str(self.host_prog),
             "args": ["hook.py", str(self.log), tag, str(code), str(pause)]}
        h.update(extra)
        return h

    def container(self, tag, code=0, pause=0):
        """A hook whose path resolves in the container (startContainer)."""
        return {"path": "/hook.sh", "args": ["hook.sh", tag, str(code), str(pause)]}

    def records(self):
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    def tags(self):
        return [r["tag"] for r in self.records()]

    def by_tag(self, tag):
        found = [r for r in self.records() if r["tag"] == tag]
        assert found, f"hook {tag!r} did not run; log: {self.tags()}"
        return found[-1]


# --- small helpers -----------------------------------------------------------------------------

def create_fails(bundle, args=("/probe", "exit", "0"), needle=None):
    """`create` must fail and leave nothing behind (runtime.md: an error MUST leave the state of
    the environment as if the operation were never attempted)."""
    r = bundle.create(None if args is None else list(args))
    assert r.returncode != 0, f"create succeeded but must fail: {r}"
    if needle and IS_CELLA:
        assert needle in r.stderr, r.stderr
    assert bundle.rt.status(bundle.id) is None, "a failed create left a container behind"
    bundle.assert_no_leaks()
    return r


def run_ok(bundle, args, **kw):
    r = bundle.run(list(args), **kw)
    assert r.returncode == 0, r
    return r


def probe(bundle, *what):
    return bundle.probe(*what)


def is_char_device(path):
    return stat.S_ISCHR(os.lstat(path).st_mode)


def dedent(s):
    return textwrap.dedent(s).lstrip()


def runc_compat(reason):
    """cella deliberately does what runc does, against the letter of the spec (drop-in callers
    such as containerd rely on it): xfail on both, strict on cella so a change is noticed."""
    return pytest.mark.xfail(strict=IS_CELLA, reason=f"runc-compatible deviation: {reason}")
