/* Server: collecting the worker's stdout (see output.h). The pipe is read
 * under one lock, by a thread that empties it as it fills (so the driver
 * never blocks on it) and by each taker, which drains what is left before
 * it takes the buffer: the pipe keeps order, so everything printed before
 * the take is in what it hands over. */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "thread.h"

#define MAX_KEPT ((size_t)16 << 20) /* beyond: dropped, with a warning */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int read_fd = -1;
static uint8_t *buf;
static size_t len, cap;
static int dropped;

static void append(const uint8_t *p, size_t n)
{
    if (len + n > MAX_KEPT) {
        if (!dropped++)
            RM_WARN("device output beyond %zu MiB between synchronisations is dropped", MAX_KEPT >> 20);
        return;
    }
    if (len + n > cap) {
        size_t ncap = cap ? cap : 4096;
        while (ncap < len + n)
            ncap *= 2;
        uint8_t *q = realloc(buf, ncap);
        if (!q)
            return;
        buf = q, cap = ncap;
    }
    memcpy(buf + len, p, n);
    len += n;
}

/* Reads what the pipe holds now (lock held; the pipe is non-blocking). */
static void drain(void)
{
    uint8_t chunk[65536];
    ssize_t n;
    while ((n = read(read_fd, chunk, sizeof chunk)) > 0)
        append(chunk, (size_t)n);
}

static void *reader(void *unused)
{
    struct pollfd p = {.fd = read_fd, .events = POLLIN};
    for (;;) {
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return NULL;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
            return NULL;
        pthread_mutex_lock(&lock);
        drain();
        pthread_mutex_unlock(&lock);
    }
}

int rm_output_capture(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) != 0 || dup2(p[1], STDOUT_FILENO) < 0)
        goto fail;
    read_fd = p[0];
    if (rm_thread_detached(reader, NULL) != 0) {
        dup2(saved, STDOUT_FILENO); /* nobody would empty the pipe */
        read_fd = -1;
        goto fail;
    }
    close(p[1]);
    close(saved);
    return 0;
fail:
    if (saved >= 0)
        close(saved);
    close(p[0]);
    close(p[1]);
    return -1;
}

void rm_output_take(uint8_t **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    if (read_fd < 0)
        return;
    fflush(stdout);
    pthread_mutex_lock(&lock);
    drain();
    if (len) {
        *data = buf, *n = len;
        buf = NULL, len = cap = 0;
    }
    pthread_mutex_unlock(&lock);
}
