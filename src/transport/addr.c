/* Address parsing: turns the strings users type ("tcp://gpu1:7000",
 * "shm://train", "/run/remora.sock", "gpu1:7000") into an rm_addr_t.
 * out is written only on success; every rejection is logged with the reason. */
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* "NNN" in 0..65535, nothing else. */
static rm_status parse_port(const char *s, const char *whole, int *port)
{
    char *end;
    if (*s < '0' || *s > '9') {
        RM_ERROR("address '%s': missing or bad port", whole);
        return RM_ERR_ADDR;
    }
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 65535) {
        RM_ERROR("address '%s': port must be a number in 0..65535", whole);
        return RM_ERR_ADDR;
    }
    *port = (int)v;
    return RM_OK;
}

/* "host:port" or "[v6 address]:port". */
static rm_status parse_host_port(const char *s, const char *whole, rm_addr_t *a)
{
    const char *host = s, *host_end, *colon;
    if (*s == '[') {
        host = s + 1;
        host_end = strchr(host, ']');
        colon = host_end ? host_end + 1 : NULL;
        if (!colon || *colon != ':') {
            RM_ERROR("address '%s': expected [v6-address]:port", whole);
            return RM_ERR_ADDR;
        }
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':')) {
            RM_ERROR("address '%s': expected host:port (IPv6 addresses go in brackets)", whole);
            return RM_ERR_ADDR;
        }
        host_end = colon;
    }
    size_t len = (size_t)(host_end - host);
    if (len == 0 || len >= sizeof a->host) {
        RM_ERROR("address '%s': host name is empty or too long", whole);
        return RM_ERR_ADDR;
    }
    rm_status st = parse_port(colon + 1, whole, &a->port);
    if (st != RM_OK)
        return st;
    memcpy(a->host, host, len);
    a->host[len] = '\0';
    a->scheme = RM_SCHEME_TCP;
    return RM_OK;
}

static rm_status set_path(rm_addr_t *a, const char *whole, const char *prefix, const char *name,
                          const char *suffix)
{
    size_t np = strlen(prefix), nn = strlen(name), ns = strlen(suffix);
    if (np + nn + ns >= sizeof a->path) {
        RM_ERROR("address '%s': socket path longer than %zu bytes", whole, sizeof a->path - 1);
        return RM_ERR_ADDR;
    }
    memcpy(a->path, prefix, np);
    memcpy(a->path + np, name, nn);
    memcpy(a->path + np + nn, suffix, ns + 1);
    a->scheme = RM_SCHEME_SHM;
    return RM_OK;
}

/* After "shm://": "/abs/path.sock" or a NAME for /tmp/remora-NAME.sock. */
static rm_status parse_shm(const char *rest, const char *whole, rm_addr_t *a)
{
    if (rest[0] == '/')
        return set_path(a, whole, "", rest, "");
    if (rest[0] == '\0' || strchr(rest, '/')) {
        RM_ERROR("address '%s': expected shm://NAME or shm:///absolute/path", whole);
        return RM_ERR_ADDR;
    }
    return set_path(a, whole, "/tmp/remora-", rest, ".sock");
}

rm_status rm_addr_parse(const char *s, rm_addr_t *out)
{
    if (!s || !*s) {
        RM_ERROR("empty address");
        return RM_ERR_ADDR;
    }
    rm_addr_t a;
    memset(&a, 0, sizeof a);
    rm_status st;
    const char *sep = strstr(s, "://");
    if (!sep && s[0] == '/')
        st = set_path(&a, s, "", s, "");
    else if (!sep)
        st = parse_host_port(s, s, &a);
    else if (sep - s == 3 && strncmp(s, "tcp", 3) == 0)
        st = parse_host_port(sep + 3, s, &a);
    else if (sep - s == 3 && strncmp(s, "tls", 3) == 0) {
        if ((st = parse_host_port(sep + 3, s, &a)) == RM_OK)
            a.scheme = RM_SCHEME_TLS;
    } else if (sep - s == 3 && strncmp(s, "shm", 3) == 0)
        st = parse_shm(sep + 3, s, &a);
    else if (sep - s == 3 && strncmp(s, "ucx", 3) == 0) {
#ifdef RM_HAVE_UCX
        if ((st = parse_host_port(sep + 3, s, &a)) == RM_OK)
            a.scheme = RM_SCHEME_UCX;
#else
        RM_ERROR("address '%s': this remora was built without UCX (rebuild with cmake -DREMORA_UCX=ON "
                 "and libucx-dev, or -DREMORA_UCX_ROOT=DIR from scripts/ucx-bundle)", s);
        st = RM_ERR_ADDR;
#endif
    } else {
        RM_ERROR("address '%s': unknown scheme (expected tcp://, tls://, ucx:// or shm://)", s);
        st = RM_ERR_ADDR;
    }
    if (st == RM_OK)
        *out = a;
    return st;
}

rm_status rm_addr_parse_list(const char *s, rm_addr_t *out, int max, int *n)
{
    char one[1024];
    int count = 0;
    for (const char *p = s ? s : "";; p++) {
        size_t len = strcspn(p, ",");
        if (len >= sizeof one) {
            RM_ERROR("address list '%s': an address is longer than %zu bytes", s, sizeof one - 1);
            return RM_ERR_ADDR;
        }
        if (count == max) {
            RM_ERROR("address list '%s': more than %d addresses", s, max);
            return RM_ERR_ADDR;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        rm_status st = rm_addr_parse(one, &out[count]);
        if (st != RM_OK)
            return st;
        count++;
        p += len;
        if (!*p)
            break;
    }
    *n = count;
    return RM_OK;
}

const char *rm_addr_format(const rm_addr_t *a, char *buf, size_t len)
{
    if (rm_scheme_is_inet(a->scheme))
        snprintf(buf, len, strchr(a->host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", rm_scheme_name(a->scheme),
                 a->host, a->port);
    else
        snprintf(buf, len, "shm://%s", a->path);
    return buf;
}

const char *rm_scheme_name(rm_scheme s)
{
    return s == RM_SCHEME_SHM ? "shm" : s == RM_SCHEME_TLS ? "tls" : s == RM_SCHEME_UCX ? "ucx" : "tcp";
}
