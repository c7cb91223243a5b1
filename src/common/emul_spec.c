/* Parsing the emulator's settings (see emul_spec.h). Numbers are parsed by
 * hand rather than with strtod so a locale with a decimal comma cannot
 * change what a spec means. */
#include "emul_spec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *name;
    double scale; /* to ns, or to bits per second */
} unit_t;

static const unit_t time_units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {NULL, 0}};
static const unit_t rate_units[] = {
    {"bit", 1},      {"Kbit", 1e3},    {"Mbit", 1e6},    {"Gbit", 1e9},     {"Tbit", 1e12},
    {"byte", 8},     {"Kbyte", 8e3},   {"Mbyte", 8e6},   {"Gbyte", 8e9},    {"Tbyte", 8e12},
    {NULL, 0},
};

/* "12.5" at *p: digits with at most one '.', at least one digit. */
static int parse_decimal(const char **p, double *out)
{
    const char *s = *p;
    double v = 0, frac = 0.1;
    int digits = 0, dot = 0;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            if (dot) {
                v += (*s - '0') * frac;
                frac /= 10;
            } else {
                v = v * 10 + (*s - '0');
            }
            digits++;
        } else if (*s == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (!digits)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

static const char *unit_list(const unit_t *u)
{
    return u == time_units ? "ns, us, ms, s"
                           : "bit, Kbit, Mbit, Gbit, Tbit, byte, Kbyte, Mbyte, Gbyte, Tbyte (per second)";
}

/* The value of one field, "<number><unit>" in [v, v + len), in ns or bits/s. */
static int parse_quantity(const char *field, const char *v, size_t len, const unit_t *units,
                          double *out, char *err, size_t errlen)
{
    const char *p = v;
    double x;
    if (parse_decimal(&p, &x) != 0) {
        snprintf(err, errlen, "%.*s: want a number and a unit (%s)", (int)(v - field + len),
                 field, unit_list(units));
        return -1;
    }
    size_t ulen = len - (size_t)(p - v);
    for (const unit_t *u = units; u->name; u++) {
        if (strlen(u->name) == ulen && strncasecmp(p, u->name, ulen) == 0) {
            *out = x * u->scale;
            return 0;
        }
    }
    snprintf(err, errlen, "%.*s: %s '%.*s'; units: %s", (int)(v - field + len), field,
             ulen ? "unknown unit" : "no unit after", ulen ? (int)ulen : (int)(p - v),
             ulen ? p : v, unit_list(units));
    return -1;
}

static int parse_time(const char *field, const char *v, size_t len, uint64_t *out, char *err,
                      size_t errlen)
{
    double ns;
    if (parse_quantity(field, v, len, time_units, &ns, err, errlen) != 0)
        return -1;
    if (ns > (double)RM_EMUL_DELAY_MAX_NS) {
        snprintf(err, errlen, "%.*s: more than a minute", (int)(v - field + len), field);
        return -1;
    }
    *out = (uint64_t)(ns + 0.5);
    return 0;
}

int rm_emul_spec_parse(const char *spec, rm_emul_spec_t *out, char *err, size_t errlen)
{
    rm_emul_spec_t s = {0, 0, 0};
    uint64_t delay = 0;
    int have_rtt = 0, have_delay = 0, have_jitter = 0, have_bw = 0;
    for (const char *p = spec ? spec : ""; *p;) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        const char *v = eq ? eq + 1 : p + len;
        size_t vlen = eq ? len - klen - 1 : 0;
        int *seen = NULL, rc = 0;
        if (klen == 3 && strncmp(p, "rtt", 3) == 0) {
            seen = &have_rtt;
            rc = eq ? parse_time(p, v, vlen, &s.rtt_ns, err, errlen) : 0;
        } else if (klen == 5 && strncmp(p, "delay", 5) == 0) {
            seen = &have_delay;
            rc = eq ? parse_time(p, v, vlen, &delay, err, errlen) : 0;
        } else if (klen == 6 && strncmp(p, "jitter", 6) == 0) {
            seen = &have_jitter;
            rc = eq ? parse_time(p, v, vlen, &s.jitter_ns, err, errlen) : 0;
        } else if (klen == 2 && strncmp(p, "bw", 2) == 0) {
            seen = &have_bw;
            rc = eq ? parse_quantity(p, v, vlen, rate_units, &s.bits_per_s, err, errlen) : 0;
        } else {
            snprintf(err, errlen, "'%.*s': unknown field (rtt, delay, bw, jitter)", (int)len, p);
            return -1;
        }
        if (!eq) {
            snprintf(err, errlen, "'%.*s': want %.*s=VALUE", (int)len, p, (int)len, p);
            return -1;
        }
        if (rc != 0)
            return -1;
        if (*seen) {
            snprintf(err, errlen, "'%.*s': given twice", (int)klen, p);
            return -1;
        }
        *seen = 1;
        if (seen == &have_bw && (s.bits_per_s < RM_EMUL_BPS_MIN || s.bits_per_s > RM_EMUL_BPS_MAX)) {
            snprintf(err, errlen, "%.*s: want 1Kbit to 10Tbit", (int)len, p);
            return -1;
        }
        p += len;
        if (*p == ',' && *++p == '\0') {
            snprintf(err, errlen, "a ',' with no field after it");
            return -1;
        }
    }
    if (have_rtt && have_delay) {
        snprintf(err, errlen, "rtt and delay both given (delay is one way: rtt = 2 x delay)");
        return -1;
    }
    if (have_delay)
        s.rtt_ns = 2 * delay;
    if (2 * s.jitter_ns > s.rtt_ns) {
        snprintf(err, errlen, "jitter: more than half the rtt (a one-way delay would be below 0)");
        return -1;
    }
    *out = s;
    return 0;
}

int rm_emul_spec_active(const rm_emul_spec_t *s) { return s->rtt_ns || s->bits_per_s > 0; }
