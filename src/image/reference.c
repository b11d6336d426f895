/* SPDX-License-Identifier: Apache-2.0 */
#include "reference.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ separated by ".", "_", "__" or any number of "-". */
static bool valid_component(const char *s, size_t n)
{
        if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n;) {
                if (is_lower_alnum(s[i])) {
                        i++;
                        continue;
                }
                size_t j = i;
                while (j < n && !is_lower_alnum(s[j]))
                        j++;
                size_t sep = j - i;
                bool dashes = strspn(s + i, "-") >= sep;
                if (!(dashes || (sep == 1 && (s[i] == '.' || s[i] == '_')) ||
                      (sep == 2 && s[i] == '_' && s[i + 1] == '_')))
                        return false;
                i = j;
        }
        return true;
}

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Host labels: [A-Za-z0-9] at both ends, '-' inside, separated by single dots. */
static bool valid_host(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && s[j] != '.')
                        j++;
                if (j == i || !is_alnum(s[i]) || !is_alnum(s[j - 1]))
                        return false;
                for (size_t k = i; k < j; k++)
                        if (!is_alnum(s[k]) && s[k] != '-')
                                return false;
                i = j + (j < n); /* past the dot */
                if (j < n && i == n)
                        return false; /* a trailing dot */
        }
        return true;
}

/* A registry: a host name or a bracketed IPv6 address, with an optional :port. */
static bool valid_domain(const char *s, size_t n)
{
        if (n == 0 || n >= IMG_REF_DOMAIN_MAX)
                return false;
        size_t i = 0;
        if (s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                                return false;
                i = (size_t)(close - s) + 1;
        } else {
                while (i < n && s[i] != ':')
                        i++;
                if (!valid_host(s, i))
                        return false;
        }
        if (i == n)
                return true;
        if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
                return false;
        for (size_t k = i + 1; k < n; k++)
                if (s[k] < '0' || s[k] > '9')
                        return false;
        return true;
}

static bool valid_tag(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_';
                if (!word && (i == 0 || (c != '.' && c != '-')))
                        return false;
        }
        return true;
}

static int split_digest(char *name, struct img_ref *ret, const char *s, struct cella_error *err)
{
        char *at = strchr(name, '@');
        if (!at)
                return 0;
        *at = '\0';
        int r = img_digest_check(at + 1, err);
        if (r < 0)
                return cella_err_prefix(err, "invalid reference \"%.200s\"", s);
        strcpy(ret->digest, at + 1);
        return 0;
}

static int split_tag(char *name, struct img_ref *ret, const char *s, struct cella_error *err)
{
        /* A ':' after the last '/' is a tag; one before it belongs to the registry's port. */
        char *slash = strrchr(name, '/');
        char *colon = strrchr(slash ? slash : name, ':');
        if (!colon)
                return 0;
        *colon = '\0';
        if (!valid_tag(colon + 1))
                return cella_err(err, EINVAL, "invalid tag \"%.130s\" in reference \"%.200s\"",
                                 colon + 1, s);
        strcpy(ret->tag, colon + 1);
        return 0;
}

int img_ref_parse(const char *s, struct img_ref *ret, struct cella_error *err)
{
        memset(ret, 0, sizeof(*ret));
        char name[IMG_REF_NAME_MAX];
        if (!s || !*s)
                return cella_err(err, EINVAL, "empty image reference");
        if (strlen(s) >= sizeof(name))
                return cella_err(err, ENAMETOOLONG, "image reference too long");
        strcpy(name, s);
        int r = split_digest(name, ret, s, err);
        if (r == 0)
                r = split_tag(name, ret, s, err);
        if (r < 0)
                return r;
        const char *path = name;
        char *slash = strchr(name, '/');
        if (slash && (memchr(name, '.', (size_t)(slash - name)) ||
                      memchr(name, ':', (size_t)(slash - name)) ||
                      strncmp(name, "localhost/", 10) == 0 || name[0] == '[')) {
                if (!valid_domain(name, (size_t)(slash - name)))
                        return cella_err(err, EINVAL, "invalid registry in reference \"%.200s\"",
                                         s);
                memcpy(ret->domain, name, (size_t)(slash - name));
                path = slash + 1;
        } else {
                strcpy(ret->domain, "docker.io");
        }
        bool library = strcmp(ret->domain, "docker.io") == 0 && !strchr(path, '/');
        size_t off = library ? 8 : 0;
        if (strlen(path) + off >= sizeof(ret->path))
                return cella_err(err, ENAMETOOLONG, "repository name too long in \"%.200s\"", s);
        for (const char *p = path;;) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (!valid_component(p, n))
                        return cella_err(err, EINVAL,
                                         "invalid repository name in reference \"%.200s\" (only "
                                         "lowercase letters, digits and separators . _ __ -)",
                                         s);
                if (!e)
                        break;
                p = e + 1;
        }
        memcpy(ret->path, "library/", off); /* lengths checked above */
        memcpy(ret->path + off, path, strlen(path) + 1);
        if (!ret->tag[0] && !ret->digest[0])
                strcpy(ret->tag, "latest");
        return 0;
}

void img_ref_repository(const struct img_ref *ref, char buf[static IMG_REF_NAME_MAX])
{
        snprintf(buf, IMG_REF_NAME_MAX, "%s/%s", ref->domain, ref->path);
}

void img_ref_format(const struct img_ref *ref, char buf[static IMG_REF_NAME_MAX])
{
        snprintf(buf, IMG_REF_NAME_MAX, "%s/%s%s%s%s%s", ref->domain, ref->path,
                 ref->tag[0] ? ":" : "", ref->tag, ref->digest[0] ? "@" : "", ref->digest);
}

void img_ref_familiar(const struct img_ref *ref, char buf[static IMG_REF_NAME_MAX])
{
        const char *path = ref->path;
        bool hub = strcmp(ref->domain, "docker.io") == 0;
        if (hub && strncmp(path, "library/", 8) == 0)
                path += 8;
        snprintf(buf, IMG_REF_NAME_MAX, "%s%s%s%s%s%s%s", hub ? "" : ref->domain, hub ? "" : "/",
                 path, ref->tag[0] ? ":" : "", ref->tag, ref->digest[0] ? "@" : "", ref->digest);
}

int img_ref_normalize(const char *s, char buf[static IMG_REF_NAME_MAX], struct cella_error *err)
{
        struct img_ref ref;
        int r = img_ref_parse(s, &ref, err);
        if (r < 0)
                return r;
        img_ref_format(&ref, buf);
        return 0;
}
