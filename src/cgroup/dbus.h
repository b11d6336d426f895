/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A minimal D-Bus client for the systemd cgroup driver: the system bus socket, EXTERNAL auth,
 * method calls with the few argument types systemd's Manager needs, and JobRemoved signals.
 * Written here rather than taken from libsystemd so that a statically linked cella has the
 * systemd driver too, and the default path loads nothing.
 *
 * Messages are built with the marshalling helpers below (little-endian, D-Bus alignment
 * rules); replies are parsed only as far as the driver needs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct dbus_buf {
        uint8_t *p;
        size_t len, cap;
        bool oom;
};

void dbus_buf_free(struct dbus_buf *b);
void dbus_put_u32(struct dbus_buf *b, uint32_t v);
void dbus_put_bool(struct dbus_buf *b, bool v);
void dbus_put_str(struct dbus_buf *b, const char *s); /* 's' and 'o' */
void dbus_put_sig(struct dbus_buf *b, const char *s); /* 'g' */
void dbus_align(struct dbus_buf *b, size_t n);
/* Arrays: elem_align is 8 for structs, 4 for u32 and strings. */
struct dbus_array {
        size_t len_at, start;
};
struct dbus_array dbus_array_open(struct dbus_buf *b, size_t elem_align);
void dbus_array_close(struct dbus_buf *b, struct dbus_array a);

struct dbus_removed {
        char job[160];
        char result[32];
};

struct dbus {
        int fd;
        uint32_t serial;
        struct dbus_removed removed[32]; /* JobRemoved signals seen so far */
        size_t n_removed;
};

/* Connects to the system bus (/run/dbus/system_bus_socket), authenticates, says Hello. */
int dbus_open_system(struct dbus *bus, struct cella_error *err);
void dbus_close(struct dbus *bus);

/*
 * Calls dest/path/iface.member with body (signature sig; NULL or "" for none) and waits for
 * its reply, handling signals that arrive meanwhile. An error reply gives -EIO, err
 * "member: message" and its name in error_name (if non-NULL). On success the first reply
 * argument, if it is a string or object path, is copied to ret_str (if non-NULL).
 */
int dbus_call(struct dbus *bus, const char *dest, const char *path, const char *iface,
              const char *member, const char *sig, const struct dbus_buf *body, char *ret_str,
              size_t ret_size, char error_name[128], struct cella_error *err);

/* Reads messages until JobRemoved for job arrived; -EIO unless its result is "done". */
int dbus_wait_job(struct dbus *bus, const char *job, struct cella_error *err);
