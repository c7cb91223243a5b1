/* The configuration file: where it is, reading it with inih, and handing
 * its values to the environment (see config.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emul_spec.h"

#ifdef RM_HAVE_INIH
#include <ini.h>
#endif

static const struct {
    const char *section; /* "" before any [section] */
    const char *name;
    const char *env; /* NULL: no environment variable */
} keys[RM_CFG_NKEYS] = {
    [RM_CFG_TOKEN] = {"", "token", "REMORA_TOKEN"},
    [RM_CFG_LOG] = {"", "log", "REMORA_LOG"},
    [RM_CFG_SERVER] = {"client", "server", "REMORA_SERVER"},
    [RM_CFG_CONNECT_TIMEOUT] = {"client", "connect-timeout", "REMORA_CONNECT_TIMEOUT"},
    [RM_CFG_CALL_TIMEOUT] = {"client", "call-timeout", "REMORA_CALL_TIMEOUT"},
    [RM_CFG_EMULATE] = {"client", "emulate", "REMORA_EMULATE"},
    [RM_CFG_TCP_STREAMS] = {"client", "tcp-streams", "REMORA_TCP_STREAMS"},
    [RM_CFG_COMPRESS] = {"client", "compress", "REMORA_COMPRESS"},
    [RM_CFG_LISTEN] = {"server", "listen", NULL},
    [RM_CFG_BACKEND] = {"server", "backend", NULL},
    [RM_CFG_DRIVER] = {"server", "driver", NULL}, /* as --driver; REMORA_DRIVER wins */
    [RM_CFG_CACHE_DIR] = {"server", "cache-dir", NULL},
    [RM_CFG_MEM_LIMIT] = {"server", "mem-limit", NULL}, /* checked by remora-server */
    [RM_CFG_COMPUTE_SHARE] = {"server", "compute-share", NULL}, /* the same */
    [RM_CFG_NO_LEND] = {"server", "no-lend", NULL},             /* the same */
};

/* Opens path into *f; a missing file is not an error unless required. */
static int open_one(rm_config_t *cfg, const char *path, int required, FILE **f, char *err,
                    size_t errlen)
{
    struct stat st;
    int found = stat(path, &st) == 0;
    if (!found && errno == ENOENT && !required)
        return 0;
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    if (found && S_ISDIR(st.st_mode))
        errno = EISDIR;
    else
        *f = fopen(path, "r");
    if (*f)
        return 0;
    snprintf(err, errlen, "%s%s: %s", required ? "REMORA_CONFIG=" : "", path, strerror(errno));
    return -1;
}

/* Opens the first config file that exists; *f stays NULL when none does. */
static int open_config(rm_config_t *cfg, FILE **f, char *err, size_t errlen)
{
    const char *env = getenv("REMORA_CONFIG");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    char user[4096] = "";
    *f = NULL;
    if (env && *env)
        return open_one(cfg, env, 1, f, err, errlen);
    if (xdg && *xdg)
        snprintf(user, sizeof user, "%s/remora/remora.conf", xdg);
    else if (home && *home)
        snprintf(user, sizeof user, "%s/.config/remora/remora.conf", home);
    if (*user && open_one(cfg, user, 0, f, err, errlen) != 0)
        return -1;
    return *f ? 0 : open_one(cfg, "/etc/remora/remora.conf", 0, f, err, errlen);
}

const char *rm_config_get(const rm_config_t *cfg, rm_config_key key) { return cfg->value[key]; }

void rm_config_export_env(const rm_config_t *cfg)
{
    for (int k = 0; k < RM_CFG_NKEYS; k++) {
        const char *now = keys[k].env ? getenv(keys[k].env) : NULL;
        if (keys[k].env && cfg->value[k] && !(now && *now))
            setenv(keys[k].env, cfg->value[k], 1);
    }
}

int rm_config_load_env(const char *who)
{
    rm_config_t cfg;
    if (rm_config_load(&cfg, who) != 0)
        return -1;
    rm_config_export_env(&cfg);
    rm_config_free(&cfg);
    return 0;
}

void rm_config_free(rm_config_t *cfg)
{
    for (int k = 0; k < RM_CFG_NKEYS; k++)
        free(cfg->value[k]);
    for (int i = 0; i < cfg->nlisten; i++)
        free(cfg->listen[i]);
    memset(cfg, 0, sizeof *cfg);
}

#ifdef RM_HAVE_INIH

const char *rm_config_parser(void) { return "inih"; }

typedef struct {
    FILE *f;
    int line;     /* of the text last read */
    int at_start; /* the next read starts a line */
    rm_config_t *cfg;
    int err_line; /* first line the handler refused, 0: none */
    char err[256];
} parse_t;

/* fgets for inih, counting lines so the handler knows where it is. */
static char *read_line(char *str, int num, void *stream)
{
    parse_t *p = stream;
    if (p->at_start)
        p->line++;
    char *s = fgets(str, num, p->f);
    p->at_start = s && strchr(s, '\n');
    return s;
}

static int refuse(parse_t *p, const char *fmt, const char *a, const char *b)
{
    if (!p->err_line) {
        p->err_line = p->line;
        snprintf(p->err, sizeof p->err, fmt, a, b);
    }
    return 0;
}

static int add_listen(parse_t *p, const char *value)
{
    char *copy = strdup(value), *save = NULL;
    if (!copy)
        return refuse(p, "out of memory%s%s", "", "");
    for (char *a = strtok_r(copy, " \t,", &save); a; a = strtok_r(NULL, " \t,", &save)) {
        if (p->cfg->nlisten == RM_CONFIG_MAX_LISTEN) {
            free(copy);
            return refuse(p, "more than 8 listen addresses%s%s", "", "");
        }
        if (!(p->cfg->listen[p->cfg->nlisten] = strdup(a))) {
            free(copy);
            return refuse(p, "out of memory%s%s", "", "");
        }
        p->cfg->nlisten++;
    }
    free(copy);
    return 1;
}

/* Seconds: digits only (what rm_env_number accepts). */
static int all_digits(const char *v)
{
    return strspn(v, "0123456789") == strlen(v) && strlen(v) <= 5;
}

static int valid_value(rm_config_key k, const char *v)
{
    if (k == RM_CFG_CONNECT_TIMEOUT || k == RM_CFG_CALL_TIMEOUT)
        return all_digits(v);
    if (k == RM_CFG_TCP_STREAMS) /* stripe.h's RM_STRIPE_MAX */
        return all_digits(v) && *v && strtol(v, NULL, 10) >= 1 && strtol(v, NULL, 10) <= 16;
    static const char *const levels[] = {"error", "warn", "info", "debug", "trace", NULL};
    static const char *const backends[] = {"real", "fake", NULL};
    static const char *const codecs[] = {"lz4", "zstd", "off", NULL};
    const char *const *allowed = k == RM_CFG_LOG       ? levels
                                 : k == RM_CFG_BACKEND ? backends
                                 : k == RM_CFG_COMPRESS ? codecs
                                                        : NULL;
    for (int i = 0; allowed && allowed[i]; i++)
        if (strcmp(v, allowed[i]) == 0)
            return 1;
    return !allowed;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    parse_t *p = user;
    for (int k = 0; k < RM_CFG_NKEYS; k++) {
        if (strcmp(section, keys[k].section) != 0 || strcmp(name, keys[k].name) != 0)
            continue;
        if (!*value)
            return refuse(p, "'%s' has no value%s", name, "");
        rm_emul_spec_t spec;
        char why[200];
        if (k == RM_CFG_EMULATE && rm_emul_spec_parse(value, &spec, why, sizeof why) != 0)
            return refuse(p, "'emulate = %s': %s", value, why);
        if (!valid_value(k, value))
            return refuse(p, "'%s' cannot be '%s'", name, value);
        if (k == RM_CFG_LISTEN)
            return add_listen(p, value);
        free(p->cfg->value[k]); /* a later line wins */
        p->cfg->value[k] = strdup(value);
        return p->cfg->value[k] ? 1 : refuse(p, "out of memory%s%s", "", "");
    }
    if (*section)
        return refuse(p, "unknown key '%s' in [%s]", name, section);
    return refuse(p, "unknown key '%s' before any section%s", name, "");
}

static int parse(rm_config_t *cfg, FILE *f, char *err, size_t errlen)
{
    parse_t p = {.f = f, .at_start = 1, .cfg = cfg};
    int line = ini_parse_stream(read_line, &p, on_value, &p);
    if (line == 0 && ferror(f))
        snprintf(err, errlen, "%s: %s", cfg->path, strerror(errno));
    else if (line > 0 && line == p.err_line)
        snprintf(err, errlen, "%s:%d: %s", cfg->path, line, p.err);
    else if (line > 0)
        snprintf(err, errlen, "%s:%d: not a 'key = value' line, a [section] or a comment", cfg->path,
                 line);
    else if (line < 0)
        snprintf(err, errlen, "%s: cannot be read (inih error %d)", cfg->path, line);
    return line == 0 && !ferror(f) ? 0 : -1;
}

#else /* built without inih */

const char *rm_config_parser(void) { return NULL; }

/* An empty file configures nothing; anything else must not be ignored. */
static int parse(rm_config_t *cfg, FILE *f, char *err, size_t errlen)
{
    if (fgetc(f) == EOF)
        return 0;
    snprintf(err, errlen,
             "%s exists, but this remora was built without config-file support (libinih was not "
             "found at build time): install libinih-dev and rebuild, or remove the file "
             "(or point REMORA_CONFIG at an empty one)",
             cfg->path);
    return -1;
}

#endif

int rm_config_load(rm_config_t *cfg, const char *who)
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f;
    char err[sizeof cfg->path + 512];
    int rc = open_config(cfg, &f, err, sizeof err);
    if (rc == 0 && f)
        rc = parse(cfg, f, err, sizeof err);
    if (f)
        fclose(f);
    if (rc != 0) {
        fprintf(stderr, "%s: config file: %s\n", who, err);
        rm_config_free(cfg);
    }
    return rc;
}
