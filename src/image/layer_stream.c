/* SPDX-License-Identifier: Apache-2.0 */
#include "layer_stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum codec { CODEC_UNKNOWN, CODEC_NONE, CODEC_GZIP, CODEC_ZSTD };

#define IN_SIZE  (256 * 1024)
#define OUT_SIZE (512 * 1024)
#define NBUF     4

struct layer_stream {
        int fd;
        enum codec codec;
        bool in_eof;
        bool member_end; /* gzip: a member ended; another may follow */
        bool frame_end;  /* zstd: the last frame is complete */
        struct img_sha256 digest, diff;
        z_stream z;
        bool z_init;
        ZSTD_DStream *zs;
        size_t in_pos, in_len;
        /* the threaded form (see producer()) */
        bool threaded, cancel, done, held;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned char *bufs[NBUF];
        size_t lens[NBUF];
        size_t head, tail, count;
        int error;
        struct cella_error perr;
        unsigned char in[IN_SIZE];
        unsigned char out[OUT_SIZE];
};

int img_layer_stream_new(int fd, struct layer_stream **ret)
{
        struct layer_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = fd;
        if (img_sha256_init(&s->digest) < 0 || img_sha256_init(&s->diff) < 0) {
                img_layer_stream_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static void stop_thread(struct layer_stream *s);

void img_layer_stream_free(struct layer_stream *s)
{
        if (!s)
                return;
        stop_thread(s);
        for (size_t i = 0; i < NBUF; i++)
                free(s->bufs[i]);
        img_sha256_free(&s->digest);
        img_sha256_free(&s->diff);
        if (s->z_init)
                inflateEnd(&s->z);
        if (s->zs)
                ZSTD_freeDStream(s->zs);
        free(s);
}

const char *img_layer_stream_codec(const struct layer_stream *s)
{
        return s->codec == CODEC_GZIP ? "gzip" : s->codec == CODEC_ZSTD ? "zstd" : "none";
}

/* Refills the input buffer when it is empty; sets in_eof at the end of the fd. */
static int fill(struct layer_stream *s, struct cella_error *err)
{
        if (s->in_pos < s->in_len || s->in_eof)
                return 0;
        for (;;) {
                ssize_t n = read(s->fd, s->in, IN_SIZE);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return cella_errno(err, errno, "read layer");
                img_sha256_update(&s->digest, s->in, (size_t)n);
                s->in_pos = 0;
                s->in_len = (size_t)n;
                s->in_eof = n == 0;
                return 0;
        }
}

static int detect(struct layer_stream *s, struct cella_error *err)
{
        int r = fill(s, err);
        if (r < 0)
                return r;
        const unsigned char *p = s->in;
        if (s->in_len >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
                s->codec = CODEC_GZIP;
                /* 15 + 32: a zlib window of 2^15 and automatic gzip header detection. */
                if (inflateInit2(&s->z, 15 + 32) != Z_OK)
                        return cella_err(err, ENOMEM, "start gzip decompression");
                s->z_init = true;
        } else if (s->in_len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
                s->codec = CODEC_ZSTD;
                s->zs = ZSTD_createDStream();
                if (!s->zs || ZSTD_isError(ZSTD_initDStream(s->zs)))
                        return cella_err(err, ENOMEM, "start zstd decompression");
        } else {
                s->codec = CODEC_NONE;
        }
        return 0;
}

static bool rest_is_zero(const struct layer_stream *s)
{
        for (size_t i = s->in_pos; i < s->in_len; i++)
                if (s->in[i])
                        return false;
        return true;
}

static ssize_t read_gzip(struct layer_stream *s, unsigned char *out, size_t cap,
                         struct cella_error *err)
{
        for (;;) {
                int r = fill(s, err);
                if (r < 0)
                        return r;
                if (s->member_end) {
                        /* Concatenated gzip members are one stream; zero padding is tolerated. */
                        if (s->in_pos == s->in_len && s->in_eof)
                                return 0;
                        if (s->in_pos < s->in_len && s->in[s->in_pos] != 0x1f && rest_is_zero(s)) {
                                s->in_pos = s->in_len;
                                continue;
                        }
                        if (s->in_pos == s->in_len)
                                continue;
                        inflateReset(&s->z);
                        s->member_end = false;
                }
                s->z.next_in = s->in + s->in_pos;
                s->z.avail_in = (uInt)(s->in_len - s->in_pos);
                s->z.next_out = out;
                s->z.avail_out = (uInt)cap;
                int zr = inflate(&s->z, Z_NO_FLUSH);
                s->in_pos = s->in_len - s->z.avail_in;
                size_t produced = cap - s->z.avail_out;
                if (zr == Z_STREAM_END)
                        s->member_end = true;
                else if (zr == Z_BUF_ERROR && s->in_eof && produced == 0)
                        return cella_err(err, EBADMSG, "layer: truncated gzip stream");
                else if (zr != Z_OK && zr != Z_BUF_ERROR)
                        return cella_err(err, EBADMSG, "layer: corrupt gzip stream (%s)",
                                         s->z.msg ? s->z.msg : "inflate failed");
                if (produced > 0)
                        return (ssize_t)produced;
        }
}

static ssize_t read_zstd(struct layer_stream *s, unsigned char *outbuf, size_t cap,
                         struct cella_error *err)
{
        for (;;) {
                int r = fill(s, err);
                if (r < 0)
                        return r;
                ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
                ZSTD_outBuffer out = {outbuf, cap, 0};
                size_t zr = ZSTD_decompressStream(s->zs, &out, &in);
                if (ZSTD_isError(zr))
                        return cella_err(err, EBADMSG, "layer: corrupt zstd stream (%s)",
                                         ZSTD_getErrorName(zr));
                /* 0 means a frame ended and everything was flushed; at EOF the call with no
                 * input returns a hint for a next frame instead, so remember the real one. */
                if (in.pos > s->in_pos || out.pos > 0)
                        s->frame_end = zr == 0;
                s->in_pos = in.pos;
                if (out.pos > 0)
                        return (ssize_t)out.pos;
                if (s->in_eof && s->in_pos == s->in_len) {
                        if (!s->frame_end)
                                return cella_err(err, EBADMSG, "layer: truncated zstd stream");
                        return 0;
                }
        }
}

/* The next chunk of uncompressed data into out (at most cap bytes); hashes it. */
static ssize_t produce(struct layer_stream *s, unsigned char *out, size_t cap,
                       struct cella_error *err)
{
        ssize_t n;
        if (s->codec == CODEC_UNKNOWN) {
                int r = detect(s, err);
                if (r < 0)
                        return r;
        }
        if (s->codec == CODEC_GZIP) {
                n = read_gzip(s, out, cap, err);
        } else if (s->codec == CODEC_ZSTD) {
                n = read_zstd(s, out, cap, err);
        } else {
                int r = fill(s, err);
                if (r < 0)
                        return r;
                n = (ssize_t)(s->in_len - s->in_pos < cap ? s->in_len - s->in_pos : cap);
                memcpy(out, s->in + s->in_pos, (size_t)n);
                s->in_pos += (size_t)n;
        }
        if (n > 0)
                img_sha256_update(&s->diff, out, (size_t)n);
        return n;
}

/*
 * The threaded form: a producer thread reads, decompresses and hashes into a ring of buffers
 * while the caller (libarchive and the file writes) consumes them, so the two halves of
 * unpacking use two cores, like `tar -xzf` with its gzip child.
 */
static void *producer(void *data)
{
        struct layer_stream *s = data;
        for (;;) {
                pthread_mutex_lock(&s->lock);
                while (s->count == NBUF && !s->cancel)
                        pthread_cond_wait(&s->cond, &s->lock);
                size_t idx = s->head;
                bool cancel = s->cancel;
                pthread_mutex_unlock(&s->lock);
                if (cancel)
                        return NULL;
                ssize_t n = produce(s, s->bufs[idx], OUT_SIZE, &s->perr);
                pthread_mutex_lock(&s->lock);
                if (n <= 0) {
                        s->done = true;
                        s->error = (int)n;
                } else {
                        s->lens[idx] = (size_t)n;
                        s->head = (s->head + 1) % NBUF;
                        s->count++;
                }
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                if (n <= 0)
                        return NULL;
        }
}

int img_layer_stream_start_thread(struct layer_stream *s)
{
        for (size_t i = 0; i < NBUF; i++)
                if (!(s->bufs[i] = malloc(OUT_SIZE)))
                        return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        if (pthread_create(&s->thread, NULL, producer, s) != 0)
                return -EAGAIN;
        s->threaded = true;
        return 0;
}

static ssize_t consume(struct layer_stream *s, const void **ret_buf, struct cella_error *err)
{
        pthread_mutex_lock(&s->lock);
        if (s->held) {
                s->tail = (s->tail + 1) % NBUF;
                s->count--;
                s->held = false;
                pthread_cond_broadcast(&s->cond);
        }
        while (s->count == 0 && !s->done)
                pthread_cond_wait(&s->cond, &s->lock);
        ssize_t n = 0;
        if (s->count > 0) {
                s->held = true;
                *ret_buf = s->bufs[s->tail];
                n = (ssize_t)s->lens[s->tail];
        } else if (s->error < 0) {
                n = s->error;
                if (err)
                        *err = s->perr;
        }
        pthread_mutex_unlock(&s->lock);
        return n;
}

ssize_t img_layer_stream_read(struct layer_stream *s, const void **ret_buf, struct cella_error *err)
{
        if (s->threaded)
                return consume(s, ret_buf, err);
        *ret_buf = s->out;
        return produce(s, s->out, OUT_SIZE, err);
}

static void stop_thread(struct layer_stream *s)
{
        if (!s->threaded)
                return;
        pthread_mutex_lock(&s->lock);
        s->cancel = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        s->threaded = false;
}

int img_layer_stream_finish(struct layer_stream *s, char digest[static IMG_DIGEST_MAX],
                            char diff_id[static IMG_DIGEST_MAX], struct cella_error *err)
{
        for (;;) {
                const void *buf;
                ssize_t n = img_layer_stream_read(s, &buf, err);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
        }
        stop_thread(s); /* the producer has finished: the hashes are ours again */
        img_sha256_final(&s->digest, digest);
        img_sha256_final(&s->diff, diff_id);
        return 0;
}
