/* Module image cache (see image_cache.h). Files are written to a temporary
 * name and renamed, so a reader never sees half an image; every read is
 * checked against its name. */
#include "image_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MAX_CACHED (64u << 20) /* larger images are always sent */

static char cache_dir[512];

void rm_image_cache_init(const char *dir)
{
    const char *tmp = getenv("TMPDIR");
    if (dir)
        snprintf(cache_dir, sizeof cache_dir, "%s", dir);
    else
        snprintf(cache_dir, sizeof cache_dir, "%s/remora-cache-%u", tmp && *tmp ? tmp : "/tmp", (unsigned)getuid());
    struct stat st;
    if (mkdir(cache_dir, 0700) != 0 && errno != EEXIST) {
        RM_WARN("module image cache off: cannot create %s: %s", cache_dir, strerror(errno));
        cache_dir[0] = 0;
    } else if (stat(cache_dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) {
        RM_WARN("module image cache off: %s is not a private directory of this user", cache_dir);
        cache_dir[0] = 0;
    }
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
    return data;
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
}
