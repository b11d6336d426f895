/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal D-Bus client (see dbus.h): wire format from the D-Bus specification. */
#include "dbus.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"

#define SYSTEM_BUS "/run/dbus/system_bus_socket"
#define TIMEOUT_MS 10000

enum { MSG_CALL = 1, MSG_RETURN = 2, MSG_ERROR = 3, MSG_SIGNAL = 4 };
enum { F_PATH = 1, F_IFACE = 2, F_MEMBER = 3, F_ERROR = 4, F_REPLY = 5, F_DEST = 6, F_SIG = 8 };

/* ---- marshalling ---- */

static void put(struct dbus_buf *b, const void *data, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 256;
                while (cap < b->len + n)
                        cap *= 2;
                uint8_t *np = realloc(b->p, cap);
                if (!np) {
                        b->oom = true;
                        return;
                }
                b->p = np;
                b->cap = cap;
        }
        memcpy(b->p + b->len, data, n);
        b->len += n;
}

void dbus_buf_free(struct dbus_buf *b)
{
        free(b->p);
        memset(b, 0, sizeof(*b));
}

void dbus_align(struct dbus_buf *b, size_t n)
{
        static const uint8_t zero[8];
        if (b->len % n)
                put(b, zero, n - b->len % n);
}

void dbus_put_u32(struct dbus_buf *b, uint32_t v)
{
        dbus_align(b, 4);
        put(b, &v, 4); /* little-endian host; messages say 'l' */
}

void dbus_put_bool(struct dbus_buf *b, bool v)
{
        dbus_put_u32(b, v ? 1 : 0);
}

void dbus_put_str(struct dbus_buf *b, const char *s)
{
        dbus_put_u32(b, (uint32_t)strlen(s));
        put(b, s, strlen(s) + 1);
}

void dbus_put_sig(struct dbus_buf *b, const char *s)
{
        uint8_t n = (uint8_t)strlen(s);
        put(b, &n, 1);
        put(b, s, strlen(s) + 1);
}

struct dbus_array dbus_array_open(struct dbus_buf *b, size_t elem_align)
{
        dbus_put_u32(b, 0);
        struct dbus_array a = {.len_at = b->len - 4};
        /* The padding to the first element is there even for an empty array. */
        dbus_align(b, elem_align);
        a.start = b->len;
        return a;
}

void dbus_array_close(struct dbus_buf *b, struct dbus_array a)
{
        /* The length counts the elements only, not the padding before the first one. */
        uint32_t n = (uint32_t)(b->len - a.start);
        if (!b->oom)
                memcpy(b->p + a.len_at, &n, 4);
}

/* ---- unmarshalling (only what the driver reads) ---- */

struct reader {
        const uint8_t *p;
        size_t len, off;
        bool bad;
};

static void r_align(struct reader *r, size_t n)
{
        r->off = (r->off + n - 1) / n * n;
        if (r->off > r->len)
                r->bad = true;
}

static uint32_t r_u32(struct reader *r)
{
        r_align(r, 4);
        uint32_t v = 0;
        if (r->bad || r->off + 4 > r->len) {
                r->bad = true;
                return 0;
        }
        memcpy(&v, r->p + r->off, 4);
        r->off += 4;
        return v;
}

/* 's', 'o' (u32 length) or 'g' (u8 length); returns a pointer into the message. */
static const char *r_str(struct reader *r, bool sig)
{
        size_t n;
        if (sig) {
                if (r->off >= r->len) {
                        r->bad = true;
                        return "";
                }
                n = r->p[r->off++];
        } else {
                n = r_u32(r);
        }
        if (r->bad || r->off + n + 1 > r->len || r->p[r->off + n] != '\0') {
                r->bad = true;
                return "";
        }
        const char *s = (const char *)r->p + r->off;
        r->off += n + 1;
        return s;
}

struct msg {
        uint8_t *raw;
        uint8_t type;
        uint32_t reply_serial;
        const char *member, *error, *sig;
        struct reader body;
};

/* Skips a header field value of a simple type. */
static void skip_value(struct reader *r, const char *sig, const char **ret_str, uint32_t *ret_u)
{
        if (strcmp(sig, "s") == 0 || strcmp(sig, "o") == 0)
                *ret_str = r_str(r, false);
        else if (strcmp(sig, "g") == 0)
                *ret_str = r_str(r, true);
        else if (strcmp(sig, "u") == 0)
                *ret_u = r_u32(r);
        else
                r->bad = true;
}

static int parse_header(struct msg *m, size_t fields_len, size_t body_len)
{
        struct reader r = {.p = m->raw, .len = 16 + fields_len, .off = 16};
        m->member = m->error = m->sig = "";
        while (!r.bad && r.off < r.len) {
                r_align(&r, 8);
                if (r.off >= r.len)
                        break;
                uint8_t code = r.p[r.off++];
                const char *sig = r_str(&r, true), *str = NULL;
                uint32_t u = 0;
                skip_value(&r, sig, &str, &u);
                if (code == F_MEMBER && str)
                        m->member = str;
                else if (code == F_ERROR && str)
                        m->error = str;
                else if (code == F_SIG && str)
                        m->sig = str;
                else if (code == F_REPLY)
                        m->reply_serial = u;
        }
        if (r.bad)
                return -EBADMSG;
        size_t body_at = (16 + fields_len + 7) / 8 * 8;
        m->body = (struct reader){.p = m->raw + body_at, .len = body_len};
        return 0;
}

static int read_full(int fd, void *buf, size_t n)
{
        uint8_t *p = buf;
        while (n > 0) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int pr = poll(&pfd, 1, TIMEOUT_MS);
                if (pr == 0)
                        return -ETIMEDOUT;
                if (pr < 0 && errno == EINTR)
                        continue;
                if (pr < 0)
                        return -errno;
                ssize_t k = read(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -ECONNRESET;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

static int read_msg(struct dbus *bus, struct msg *m)
{
        memset(m, 0, sizeof(*m));
        uint8_t h[16];
        int r = read_full(bus->fd, h, sizeof(h));
        if (r < 0)
                return r;
        if (h[0] != 'l' || h[3] != 1)
                return -EPROTO; /* only little-endian, protocol version 1 */
        uint32_t body_len, fields_len;
        memcpy(&body_len, h + 4, 4);
        memcpy(&fields_len, h + 12, 4);
        if (body_len > (64u << 20) || fields_len > (1u << 20))
                return -EMSGSIZE;
        size_t total = (16 + fields_len + 7) / 8 * 8 + body_len;
        m->raw = malloc(total);
        if (!m->raw)
                return -ENOMEM;
        memcpy(m->raw, h, 16);
        r = read_full(bus->fd, m->raw + 16, total - 16);
        if (r == 0)
                r = parse_header(m, fields_len, body_len);
        m->type = h[1];
        if (r < 0) {
                free(m->raw);
                m->raw = NULL;
        }
        return r;
}

/* Remembers JobRemoved(u id, o job, s unit, s result), so an early one is not missed. */
static void note_signal(struct dbus *bus, struct msg *m)
{
        if (strcmp(m->member, "JobRemoved") != 0 || strcmp(m->sig, "uoss") != 0)
                return;
        r_u32(&m->body);
        const char *job = r_str(&m->body, false);
        r_str(&m->body, false);
        const char *result = r_str(&m->body, false);
        if (m->body.bad)
                return;
        if (bus->n_removed == ARRAY_SIZE(bus->removed))
                bus->n_removed = 0; /* a ring is enough: we wait for our jobs right away */
        struct dbus_removed *d = &bus->removed[bus->n_removed++];
        snprintf(d->job, sizeof(d->job), "%s", job);
        snprintf(d->result, sizeof(d->result), "%s", result);
}

/* ---- messages ---- */

static void header_field(struct dbus_buf *b, uint8_t code, const char *sig, const char *val)
{
        dbus_align(b, 8);
        put(b, &code, 1);
        dbus_put_sig(b, sig);
        if (strcmp(sig, "g") == 0)
                dbus_put_sig(b, val);
        else
                dbus_put_str(b, val);
}

static int send_call(struct dbus *bus, const char *dest, const char *path, const char *iface,
                     const char *member, const char *sig, const struct dbus_buf *body,
                     uint32_t *ret_serial)
{
        struct dbus_buf b = {0};
        uint8_t fixed[4] = {'l', MSG_CALL, 0, 1};
        put(&b, fixed, 4);
        dbus_put_u32(&b, body ? (uint32_t)body->len : 0);
        dbus_put_u32(&b, ++bus->serial);
        struct dbus_array fields = dbus_array_open(&b, 8);
        header_field(&b, F_PATH, "o", path);
        if (iface)
                header_field(&b, F_IFACE, "s", iface);
        header_field(&b, F_MEMBER, "s", member);
        if (dest)
                header_field(&b, F_DEST, "s", dest);
        if (sig && *sig)
                header_field(&b, F_SIG, "g", sig);
        dbus_array_close(&b, fields);
        dbus_align(&b, 8);
        if (body && body->len)
                put(&b, body->p, body->len);
        int r = b.oom || (body && body->oom) ? -ENOMEM : fs_write_all(bus->fd, b.p, b.len);
        dbus_buf_free(&b);
        *ret_serial = bus->serial;
        return r;
}

int dbus_call(struct dbus *bus, const char *dest, const char *path, const char *iface,
              const char *member, const char *sig, const struct dbus_buf *body, char *ret_str,
              size_t ret_size, char error_name[128], struct cella_error *err)
{
        uint32_t serial;
        int r = send_call(bus, dest, path, iface, member, sig, body, &serial);
        if (r < 0)
                return cella_errno(err, -r, "D-Bus: send %s", member);
        for (;;) {
                struct msg m;
                r = read_msg(bus, &m);
                if (r < 0)
                        return cella_errno(err, -r, "D-Bus: %s: read reply", member);
                if (m.type == MSG_SIGNAL)
                        note_signal(bus, &m);
                bool ours =
                    (m.type == MSG_RETURN || m.type == MSG_ERROR) && m.reply_serial == serial;
                if (ours && m.type == MSG_ERROR) {
                        const char *text = m.sig[0] == 's' ? r_str(&m.body, false) : "";
                        if (error_name)
                                snprintf(error_name, 128, "%s", m.error);
                        r = cella_err(err, EIO, "%s: %s", m.error, text);
                } else if (ours && ret_str && (m.sig[0] == 's' || m.sig[0] == 'o')) {
                        snprintf(ret_str, ret_size, "%s", r_str(&m.body, false));
                }
                free(m.raw);
                if (ours)
                        return r;
        }
}

int dbus_wait_job(struct dbus *bus, const char *job, struct cella_error *err)
{
        for (;;) {
                for (size_t i = 0; i < bus->n_removed; i++) {
                        if (strcmp(bus->removed[i].job, job) != 0)
                                continue;
                        if (strcmp(bus->removed[i].result, "done") == 0)
                                return 0;
                        return cella_err(err, EIO, "job %s", bus->removed[i].result);
                }
                struct msg m;
                int r = read_msg(bus, &m);
                if (r < 0)
                        return cella_errno(err, -r, "D-Bus: wait for job %s", job);
                if (m.type == MSG_SIGNAL)
                        note_signal(bus, &m);
                free(m.raw);
        }
}

/* ---- connection ---- */

/* SASL EXTERNAL with our uid, as the spec's "AUTH EXTERNAL <hex of the decimal uid>". */
static int authenticate(int fd)
{
        char uid[16], line[64] = "\0AUTH EXTERNAL ";
        snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
        size_t n = 1 + strlen(line + 1);
        for (const char *p = uid; *p; p++)
                n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x", *p);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\r\n");
        int r = fs_write_all(fd, line, n);
        if (r < 0)
                return r;
        char reply[256];
        size_t got = 0;
        while (got < 2 || reply[got - 2] != '\r' || reply[got - 1] != '\n') {
                if (got == sizeof(reply) - 1)
                        return -EPROTO;
                if ((r = read_full(fd, reply + got, 1)) < 0)
                        return r;
                got++;
        }
        reply[got] = '\0';
        if (strncmp(reply, "OK ", 3) != 0)
                return -EACCES;
        return fs_write_all(fd, "BEGIN\r\n", 7);
}

int dbus_open_system(struct dbus *bus, struct cella_error *err)
{
        memset(bus, 0, sizeof(*bus));
        bus->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (bus->fd < 0)
                return cella_errno(err, errno, "D-Bus: socket");
        struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = SYSTEM_BUS};
        if (connect(bus->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return cella_errno(err, errno, "D-Bus: connect \"%s\"", SYSTEM_BUS);
        int r = authenticate(bus->fd);
        if (r < 0)
                return cella_errno(err, -r, "D-Bus: authenticate on \"%s\"", SYSTEM_BUS);
        return dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                         "org.freedesktop.DBus", "Hello", NULL, NULL, NULL, 0, NULL, err);
}

void dbus_close(struct dbus *bus)
{
        if (bus->fd >= 0)
                close(bus->fd);
        bus->fd = -1;
}
