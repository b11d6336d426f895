# SPDX-License-Identifier: Apache-2.0
"""Registry client against Debian's docker-registry (distribution 2.8) on loopback: plain HTTP,
TLS with a CA the tests generate, htpasswd Basic auth, Bearer tokens from a token server the tests
run, login/logout, chunked and monolithic uploads, cross-repo mounts, skopeo interop."""
import base64
import gzip
import hashlib
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import ssl
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_image_common import (CELLA_IMAGE, Tar, busybox_layer, cella_image,  # noqa: E402
                               make_layout)

REGISTRY = shutil.which("docker-registry")
pytestmark = [
    pytest.mark.skipif(not os.path.exists(CELLA_IMAGE), reason=f"{CELLA_IMAGE} not built"),
    pytest.mark.skipif(not REGISTRY, reason="docker-registry not installed"),
    pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed"),
]

USER, PASSWORD = "tester", "s3cret-pass"


def bcrypt_line(user, password):
    """An htpasswd line (bcrypt, the only scheme distribution accepts)."""
    if shutil.which("htpasswd"):
        return subprocess.run(["htpasswd", "-nbB", user, password], check=True,
                              capture_output=True, text=True).stdout.strip() + "\n"
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"
    except ImportError:
        pytest.skip("no bcrypt: install apache2-utils (htpasswd)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    """A test CA and a server certificate for localhost/127.0.0.1 signed by it."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=cella-test-ca", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
            "-subj", "/CN=localhost", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext.cnf", cwd=d)


class TokenServer:
    """A Bearer token server (docker token auth spec) issuing RS256 JWTs signed with openssl."""

    def __init__(self, d):
        self.d = d
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token.key", "-out",
                "token.crt", "-days", "2", "-subj", "/CN=cella-token", cwd=d)
        der = subprocess.run(["openssl", "x509", "-in", "token.crt", "-outform", "DER"], cwd=d,
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.port = free_port()
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                auth = self.headers.get("Authorization", "")
                server.requests.append((q, auth))
                want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if auth != want:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": server.token(q.get("scope", []))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, scopes):
        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        access = []
        for s in scopes:
            kind, name, actions = s.split(":")[0], ":".join(s.split(":")[1:-1]), s.split(":")[-1]
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        head = b64(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}).encode())
        claims = b64(json.dumps({"iss": "cella-test-issuer", "sub": USER, "aud": "cella-test",
                                 "exp": now + 600, "nbf": now - 60, "iat": now,
                                 "jti": secrets.token_hex(8), "access": access}).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", "token.key"], cwd=self.d,
                             input=f"{head}.{claims}".encode(), check=True,
                             capture_output=True).stdout
        return f"{head}.{claims}.{b64(sig)}"

    def stop(self):
        self.httpd.shutdown()


class Registry:
    def __init__(self, d, tls=False, auth=None):
        self.d = d
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.token_server = None
        cfg = [
            "version: 0.1",
            "log:", "  level: error",
            "storage:", f"  filesystem:", f"    rootdirectory: {d / 'data'}",
            "  delete:", "    enabled: true",
            "http:", f"  addr: 127.0.0.1:{self.port}",
        ]
        if tls:
            make_certs(d)
            cfg += ["  tls:", f"    certificate: {d / 'srv.crt'}", f"    key: {d / 'srv.key'}"]
        if auth == "basic":
            (d / "htpasswd").write_text(bcrypt_line(USER, PASSWORD))
            cfg += ["auth:", "  htpasswd:", "    realm: cella-test",
                    f"    path: {d / 'htpasswd'}"]
        elif auth == "token":
            self.token_server = TokenServer(d)
            cfg += ["auth:", "  token:",
                    f"    realm: http://127.0.0.1:{self.token_server.port}/token",
                    "    service: cella-test", "    issuer: cella-test-issuer",
                    f"    rootcertbundle: {d / 'token.crt'}"]
        (d / "config.yml").write_text("\n".join(cfg) + "\n")
        self.proc = subprocess.Popen([REGISTRY, "serve", str(d / "config.yml")],
                                     stdout=open(d / "registry.log", "w"),
                                     stderr=subprocess.STDOUT)
        scheme = "https" if tls else "http"
        ctx = ssl.create_default_context(cafile=str(d / "ca.crt")) if tls else None
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{scheme}://{self.host}/v2/", timeout=2, context=ctx)
                break
            except urllib.error.HTTPError:
                break  # 401: it is up
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("registry did not start: " +
                                       (d / "registry.log").read_text())
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.token_server:
            self.token_server.stop()


@pytest.fixture
def registry(tmp_path):
    (tmp_path / "reg").mkdir()
    r = Registry(tmp_path / "reg")
    yield r
    r.stop()


@pytest.fixture
def tls_basic_registry(tmp_path):
    (tmp_path / "reg").mkdir()
    r = Registry(tmp_path / "reg", tls=True, auth="basic")
    yield r
    r.stop()


@pytest.fixture
def token_registry(tmp_path):
    (tmp_path / "reg").mkdir()
    r = Registry(tmp_path / "reg", auth="token")
    yield r
    r.stop()


@pytest.fixture
def store(tmp_path):
    """A store holding a two-layer image named local/app:1."""
    root = tmp_path / "store"
    make_layout(tmp_path / "lay", [busybox_layer(), Tar().file("big", os.urandom(600000))
                                   .file("etc/motd", "pushed and pulled").bytes()],
                config={"Cmd": ["cat", "/etc/motd"]})
    cella_image("load", "-i", tmp_path / "lay", "--name", "local/app:1", root=root)
    return root


def image_digest(root, ref):
    return json.loads(cella_image("inspect", ref, root=root).stdout)["Digest"]


def test_push_pull_plain_http(tmp_path, registry, store):
    dest = f"{registry.host}/team/app:v1"
    p = cella_image("push", "local/app:1", dest, root=store)
    assert p.stdout.strip() == f"Pushed {dest}"
    assert cella_image("tags", f"{registry.host}/team/app").stdout.split() == ["v1"]
    other = tmp_path / "other"
    p = cella_image("pull", dest, root=other)
    assert f"Pulled {dest}" in p.stdout
    assert image_digest(other, dest) == image_digest(store, "local/app:1")
    cella_image("bundle", dest, tmp_path / "b", root=other)
    assert (tmp_path / "b" / "rootfs" / "etc" / "motd").read_text() == "pushed and pulled"
    # pulling again downloads nothing new and stays consistent
    cella_image("pull", dest, root=other)
    # by digest
    d = image_digest(store, "local/app:1")
    cella_image("pull", f"{registry.host}/team/app@{d}", root=tmp_path / "third")
    assert cella_image("ls", "-q", root=tmp_path / "third").stdout.split() == \
        [f"{registry.host}/team/app@{d}"]


def test_chunked_upload_and_cross_repo_mount(tmp_path, registry, store):
    src = f"{registry.host}/one/app:v1"
    cella_image("push", "--chunk-size", "65536", "local/app:1", src, root=store)
    cella_image("pull", src, root=tmp_path / "s2")
    # the pulled image lives in one/app; pushing it to two/app mounts blobs across repos
    cella_image("push", src, f"{registry.host}/two/app:v1", root=tmp_path / "s2")
    cella_image("pull", f"{registry.host}/two/app:v1", root=tmp_path / "s3")
    assert image_digest(tmp_path / "s3", f"{registry.host}/two/app:v1") == \
        image_digest(store, "local/app:1")
    log = (registry.d / "registry.log").read_text()
    mounts = [line for line in log.splitlines()
              if "POST /v2/two/app/blobs/uploads/?mount=" in line and "from=one%2Fapp" in line
              or ("POST /v2/two/app/blobs/uploads/?mount=" in line and "from=one/app" in line)]
    assert len(mounts) == 3 and all('" 201 ' in m for m in mounts), mounts
    assert "PATCH /v2/one/app/blobs/uploads/" in log  # the chunked upload


def test_pull_errors(tmp_path, registry):
    p = cella_image("pull", f"{registry.host}/nope/none:v1", root=tmp_path / "s", check=False)
    assert p.returncode == 1 and "MANIFEST_UNKNOWN" in p.stderr, p.stderr
    assert cella_image("ls", "-q", root=tmp_path / "s").stdout == ""
    port = free_port()
    p = cella_image("pull", f"127.0.0.1:{port}/x:y", root=tmp_path / "s", check=False)
    assert p.returncode == 1 and f"connect to registry 127.0.0.1:{port}" in p.stderr


def test_corrupt_blob_from_registry_is_refused(tmp_path, registry, store):
    dest = f"{registry.host}/team/app:v1"
    cella_image("push", "local/app:1", dest, root=store)
    info = json.loads(cella_image("inspect", "local/app:1", root=store).stdout)
    layer = info["Layers"][1][7:]
    data = next(p for p in (registry.d / "data").rglob("data")
                if p.parent.name == layer)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    p = cella_image("pull", dest, root=tmp_path / "s", check=False)
    assert p.returncode == 1 and "refusing to store it" in p.stderr, p.stderr
    assert cella_image("ls", "-q", root=tmp_path / "s").stdout == ""
    blobs = tmp_path / "s" / "image" / "blobs" / "sha256"
    assert not (blobs / layer).exists()


def test_tls_basic_auth_login_logout(tmp_path, tls_basic_registry, store):
    reg = tls_basic_registry
    ca = str(reg.d / "ca.crt")
    auth = tmp_path / "auth.json"
    dest = f"{reg.host}/private/app:v1"
    # untrusted certificate
    p = cella_image("push", "local/app:1", dest, root=store, check=False)
    assert p.returncode == 1 and "--ca-file" in p.stderr, p.stderr
    # no credentials
    p = cella_image("push", "--ca-file", ca, "--authfile", auth, "local/app:1", dest, root=store,
                    check=False)
    assert p.returncode == 1 and "401" in p.stderr and "cella image login" in p.stderr, p.stderr
    # wrong password
    p = cella_image("login", "--ca-file", ca, "--authfile", auth, "-u", USER, "-p", "wrong",
                    reg.host, check=False)
    assert p.returncode == 1 and "wrong user name or password" in p.stderr, p.stderr
    assert not auth.exists()
    p = cella_image("login", "--ca-file", ca, "--authfile", auth, "-u", USER,
                    "--password-stdin", reg.host, input=PASSWORD + "\n")
    assert "Login Succeeded" in p.stdout
    stored = json.loads(auth.read_text())["auths"][reg.host]["auth"]
    assert base64.b64decode(stored).decode() == f"{USER}:{PASSWORD}"
    assert oct(auth.stat().st_mode & 0o777) == "0o600"
    cella_image("push", "--ca-file", ca, "--authfile", auth, "local/app:1", dest, root=store)
    cella_image("pull", "--ca-file", ca, "--authfile", auth, dest, root=tmp_path / "s2")
    cella_image("pull", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}", dest,
                root=tmp_path / "s3")
    cella_image("logout", "--authfile", auth, reg.host)
    assert reg.host not in json.loads(auth.read_text())["auths"]
    p = cella_image("logout", "--authfile", auth, reg.host, check=False)
    assert p.returncode == 1 and "not logged in" in p.stderr


def test_docker_config_is_the_default_authfile(tmp_path, tls_basic_registry, store):
    reg = tls_basic_registry
    env = dict(os.environ, DOCKER_CONFIG=str(tmp_path / "dc"))
    env.pop("REGISTRY_AUTH_FILE", None)
    cella_image("login", "--ca-file", reg.d / "ca.crt", "-u", USER, "-p", PASSWORD, reg.host,
                env=env)
    assert (tmp_path / "dc" / "config.json").exists()
    cella_image("push", "--ca-file", reg.d / "ca.crt", "local/app:1", f"{reg.host}/x/y:z",
                root=store, env=env)


def test_bearer_token_auth(tmp_path, token_registry, store):
    reg = token_registry
    dest = f"{reg.host}/tok/app:v1"
    p = cella_image("push", "local/app:1", dest, root=store, check=False)
    assert p.returncode == 1 and "token" in p.stderr and "cella image login" in p.stderr, p.stderr
    auth = tmp_path / "auth.json"
    cella_image("login", "--authfile", auth, "-u", USER, "-p", PASSWORD, reg.host)
    cella_image("push", "--authfile", auth, "--chunk-size", "100000", "local/app:1", dest,
                root=store)
    cella_image("pull", "--authfile", auth, dest, root=tmp_path / "s2")
    assert image_digest(tmp_path / "s2", dest) == image_digest(store, "local/app:1")
    scopes = [q.get("scope") for q, _ in reg.token_server.requests]
    assert ["repository:tok/app:pull,push"] in scopes
    assert ["repository:tok/app:pull"] in scopes


def test_progress_modes(tmp_path, registry, store):
    dest = f"{registry.host}/team/app:v1"
    cella_image("push", "local/app:1", dest, root=store)
    p = cella_image("pull", "--progress", "json", dest, root=tmp_path / "s")
    lines = [json.loads(line) for line in p.stderr.splitlines()]
    assert {"id", "status", "current", "total"} <= set(lines[0])
    done = [x for x in lines if x["status"] == "done"]
    assert len(done) == 3 and all(x["current"] == x["total"] for x in done)
    p = cella_image("pull", dest, root=tmp_path / "s2")  # not a terminal: quiet
    assert p.stderr == ""


def test_multi_platform_index_push_pull(tmp_path, registry):
    from test_image_store import multi_platform_layout
    multi_platform_layout(tmp_path / "lay")
    cella_image("load", "-i", tmp_path / "lay", root=tmp_path / "s")
    dest = f"{registry.host}/multi/app:v1"
    cella_image("push", "multi", dest, root=tmp_path / "s")
    for arch in ("amd64", "arm64"):
        root = tmp_path / f"p-{arch}"
        cella_image("pull", "--platform", f"linux/{arch}", dest, root=root)
        cella_image("bundle", "--platform", f"linux/{arch}", dest, tmp_path / f"b-{arch}",
                    root=root)
        assert (tmp_path / f"b-{arch}" / "rootfs" / "arch").read_text() == arch
    info = json.loads(cella_image("inspect", "--remote", "--platform", "linux/arm64",
                                  dest).stdout)
    assert info["Config"]["architecture"] == "arm64"
    assert info["MediaType"] == "application/vnd.oci.image.index.v1+json"


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo not installed")
def test_skopeo_interop_both_ways(tmp_path, registry, store):
    # cella pushes, skopeo pulls
    dest = f"{registry.host}/interop/app:v1"
    cella_image("push", "local/app:1", dest, root=store)
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{dest}",
                    f"oci:{tmp_path}/sk:v1"], check=True)
    cella_image("load", "-i", tmp_path / "sk", "--name", "back/again:1", root=tmp_path / "s2")
    cella_image("bundle", "back/again:1", tmp_path / "b", root=tmp_path / "s2")
    assert (tmp_path / "b" / "rootfs" / "etc" / "motd").read_text() == "pushed and pulled"
    # skopeo pushes, cella pulls
    make_layout(tmp_path / "lay2", [Tar().file("from-skopeo", "yes").bytes()])
    dest2 = f"{registry.host}/interop/skopeo:v2"
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                    f"oci:{tmp_path}/lay2:latest", f"docker://{dest2}"], check=True)
    cella_image("pull", dest2, root=tmp_path / "s3")
    cella_image("bundle", dest2, tmp_path / "b2", "--", "true", root=tmp_path / "s3")
    assert (tmp_path / "b2" / "rootfs" / "from-skopeo").read_text() == "yes"


class FlakyProxy:
    """Forwards to a registry but cuts the first transfer of every blob halfway; with
    ignore_range it also drops Range headers, so resumes get the whole blob again (200)."""

    def __init__(self, upstream, ignore_range=False):
        import http.client
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.cut = set()
        self.ranges = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self.forward(body=False)

            def do_GET(self):
                self.forward(body=True)

            def forward(self, body):
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                if "Range" in headers:
                    proxy.ranges.append(headers["Range"])
                    if ignore_range:
                        del headers["Range"]
                conn = http.client.HTTPConnection(upstream, timeout=30)
                conn.request(self.command, self.path, headers=headers)
                resp = conn.getresponse()
                data = resp.read() if body else b""
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                if body and "/blobs/sha256:" in self.path and resp.status == 200 \
                        and len(data) > 1000 and self.path not in proxy.cut:
                    proxy.cut.add(self.path)
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


@pytest.mark.parametrize("ignore_range", [False, True])
def test_interrupted_downloads_resume(tmp_path, registry, store, ignore_range):
    cella_image("push", "local/app:1", f"{registry.host}/team/app:v1", root=store)
    proxy = FlakyProxy(registry.host, ignore_range=ignore_range)
    try:
        cella_image("pull", f"{proxy.host}/team/app:v1", root=tmp_path / "s")
    finally:
        proxy.stop()
    assert len(proxy.cut) == 2  # both layers were cut once
    assert len(proxy.ranges) == 2 and all(r.startswith("bytes=") for r in proxy.ranges)
    assert image_digest(tmp_path / "s", f"{proxy.host}/team/app:v1") == \
        image_digest(store, "local/app:1")
    cella_image("bundle", f"{proxy.host}/team/app:v1", tmp_path / "b", root=tmp_path / "s")
    assert (tmp_path / "b" / "rootfs" / "etc" / "motd").read_text() == "pushed and pulled"


@pytest.mark.skipif(not shutil.which("script"), reason="script (util-linux) not installed")
def test_tty_progress(tmp_path, registry, store):
    dest = f"{registry.host}/team/app:v1"
    cella_image("push", "local/app:1", dest, root=store)
    cmd = f"{CELLA_IMAGE} --root {tmp_path / 's'} pull {dest}"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert p.returncode == 0, p.stdout
    assert "\033[2K" in p.stdout and "MB/s" in p.stdout
    assert p.stdout.count("done") >= 3 and f"Pulled {dest}" in p.stdout


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo not installed")
def test_docker_v2s2_from_skopeo(tmp_path, registry):
    make_layout(tmp_path / "lay", [busybox_layer(), Tar().file("v2s2", "yes").bytes()],
                config={"Cmd": ["sh"]})
    dest = f"{registry.host}/v2s2/app:v1"
    subprocess.run(["skopeo", "copy", "-q", "--format", "v2s2", "--dest-tls-verify=false",
                    f"oci:{tmp_path}/lay:latest", f"docker://{dest}"], check=True)
    cella_image("pull", dest, root=tmp_path / "s")
    info = json.loads(cella_image("inspect", dest, root=tmp_path / "s").stdout)
    assert info["MediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    cella_image("bundle", dest, tmp_path / "b", root=tmp_path / "s")
    assert (tmp_path / "b" / "rootfs" / "v2s2").read_text() == "yes"
    # pushed elsewhere unchanged: same digest, same media type
    cella_image("push", dest, f"{registry.host}/v2s2/copy:v1", root=tmp_path / "s")
    info2 = json.loads(cella_image("inspect", "--remote", f"{registry.host}/v2s2/copy:v1").stdout)
    assert info2["Digest"] == info["Digest"] and info2["MediaType"] == info["MediaType"]
