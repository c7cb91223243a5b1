/* Module image cache (see image_cache.h). Files are written to a temporary
 * name and renamed, so a reader never sees half an image; every read is
 * checked against its name. Each tenant has a directory of its own under
 * the cache directory, kept under the quota by dropping the images used
 * least recently (a hit touches its file). */
#include "image_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_CACHED (64u << 20) /* larger images are always sent */

static char base_dir[512], cache_dir[600];
static uint64_t quota;

/* dir, created if missing, and private to this user: 0, else -1 (logged). */
static int private_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        RM_WARN("module image cache off: cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) {
        RM_WARN("module image cache off: %s is not a private directory of this user", dir);
        return -1;
    }
    return 0;
}

void rm_image_cache_init(const char *dir, uint64_t bytes)
{
    quota = bytes;
    const char *tmp = getenv("TMPDIR");
    if (dir)
        snprintf(base_dir, sizeof base_dir, "%s", dir);
    else
        snprintf(base_dir, sizeof base_dir, "%s/remora-cache-%u", tmp && *tmp ? tmp : "/tmp", (unsigned)getuid());
    if (private_dir(base_dir) != 0)
        base_dir[0] = 0;
    cache_dir[0] = 0; /* until a worker names its tenant */
}

void rm_image_cache_tenant(const char *tenant)
{
    uint8_t h[RM_SHA256_LEN];
    if (!base_dir[0])
        return;
    rm_sha256(tenant, strlen(tenant), h);
    int n = snprintf(cache_dir, sizeof cache_dir, "%s/", base_dir);
    for (int i = 0; i < 8; i++)
        n += snprintf(cache_dir + n, sizeof cache_dir - (size_t)n, "%02x", h[i]);
    if (private_dir(cache_dir) != 0)
        cache_dir[0] = 0;
}

static void path_of(const uint8_t hash[RM_SHA256_LEN], char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/", cache_dir);
    for (int i = 0; i < RM_SHA256_LEN && n + 2 < (int)cap; i++)
        n += snprintf(path + n, cap - (size_t)n, "%02x", hash[i]);
}

static void *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= MAX_CACHED &&
        (buf = malloc((size_t)st.st_size)) && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)st.st_size;
    return buf;
}

void *rm_image_cache_get(const uint8_t hash[RM_SHA256_LEN], size_t *len)
{
    char path[640];
    uint8_t got[RM_SHA256_LEN];
    if (!cache_dir[0])
        return NULL;
    path_of(hash, path, sizeof path);
    void *data = read_whole(path, len);
    if (!data)
        return NULL;
    rm_sha256(data, *len, got);
    if (memcmp(got, hash, RM_SHA256_LEN) != 0) {
        RM_WARN("module image cache: %s does not match its name: ignored", path);
        free(data);
        return NULL;
    }
    utimensat(AT_FDCWD, path, NULL, 0); /* used now: the last to go */
    return data;
}

/* Drop the least recently used images until the directory is within the quota. */
static void prune(void)
{
    DIR *d = opendir(cache_dir);
    if (!d)
        return;
    for (;;) {
        uint64_t total = 0;
        char oldest[256] = "";
        struct timespec when = {0};
        struct dirent *e;
        rewinddir(d);
        while ((e = readdir(d))) {
            struct stat st;
            if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
                continue;
            total += (uint64_t)st.st_size;
            if (!oldest[0] || st.st_mtim.tv_sec < when.tv_sec ||
                (st.st_mtim.tv_sec == when.tv_sec && st.st_mtim.tv_nsec < when.tv_nsec)) {
                snprintf(oldest, sizeof oldest, "%s", e->d_name);
                when = st.st_mtim;
            }
        }
        if (total <= quota || !oldest[0] || unlinkat(dirfd(d), oldest, 0) != 0)
            break;
        RM_DEBUG("module image cache: over its quota, dropped %s", oldest);
    }
    closedir(d);
}

void rm_image_cache_put(const void *data, size_t len)
{
    char path[640], tmp[700];
    uint8_t hash[RM_SHA256_LEN];
    if (!cache_dir[0] || len == 0 || len > MAX_CACHED)
        return;
    rm_sha256(data, len, hash);
    path_of(hash, path, sizeof path);
    if (access(path, F_OK) == 0)
        return; /* already there */
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    int ok = write(fd, data, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        RM_DEBUG("module image cache: could not store %s", path);
        unlink(tmp);
    }
    prune();
}
