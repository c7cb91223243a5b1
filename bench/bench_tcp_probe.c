/* Benchmark: what this machine's loopback TCP can carry, iperf-style, so that
 * bench/run can set remora's TCP copy bandwidth against it in the same run.
 * For each stream count, that many sender threads each write their share of
 * the bytes in large writes over their own connection to 127.0.0.1, and as
 * many receiver threads read them; the figure is bytes over the time from
 * the start to the last byte read (best of a few rounds). The sockets get
 * the options remora's TCP transport uses (TCP_NODELAY, 4 MiB buffers).
 * Prints "tcp_probe_<k>stream[s] VALUE GB/s" lines, as bench_remora does.
 *
 *   bench_tcp_probe [--quick] [STREAMS...]     default streams: 1 4 8 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WRITE_BYTES (4u << 20)
#define SOCKBUF (4 << 20)
#define MAX_STREAMS 64
#define ROUNDS 3

typedef struct {
    int fd;
    size_t bytes;
    char *buf;
    int ok;
} side_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void tune(int fd)
{
    int one = 1, size = SOCKBUF;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0)
        die("setsockopt");
}

static void *sender(void *arg)
{
    side_t *s = arg;
    for (size_t left = s->bytes; left > 0;) {
        ssize_t w = send(s->fd, s->buf, left < WRITE_BYTES ? left : WRITE_BYTES, MSG_NOSIGNAL);
        if (w <= 0)
            return NULL;
        left -= (size_t)w;
    }
    shutdown(s->fd, SHUT_WR);
    s->ok = 1;
    return NULL;
}

static void *receiver(void *arg)
{
    side_t *s = arg;
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(s->fd, s->buf, WRITE_BYTES, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    s->ok = got == s->bytes;
    return NULL;
}

/* One round: n connections carrying total bytes; seconds it took. */
static double round_s(int n, size_t total, char *sbuf, char *rbufs)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int size = SOCKBUF;
    /* accepted sockets inherit the listener's receive buffer */
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0 ||
        bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, MAX_STREAMS) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) != 0)
        die("listener");
    side_t snd[MAX_STREAMS], rcv[MAX_STREAMS];
    for (int i = 0; i < n; i++) {
        size_t share = total / (size_t)n + ((size_t)i < total % (size_t)n);
        snd[i] = (side_t){socket(AF_INET, SOCK_STREAM, 0), share, sbuf, 0};
        if (snd[i].fd < 0)
            die("socket");
        tune(snd[i].fd);
        if (connect(snd[i].fd, (struct sockaddr *)&a, sizeof a) != 0)
            die("connect");
        rcv[i] = (side_t){accept(l, NULL, NULL), share, rbufs + (size_t)i * WRITE_BYTES, 0};
        if (rcv[i].fd < 0)
            die("accept");
        tune(rcv[i].fd);
    }
    pthread_t ts[MAX_STREAMS], tr[MAX_STREAMS];
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (pthread_create(&tr[i], NULL, receiver, &rcv[i]) != 0 || pthread_create(&ts[i], NULL, sender, &snd[i]) != 0)
            die("pthread_create");
    int ok = 1;
    for (int i = 0; i < n; i++) {
        pthread_join(ts[i], NULL);
        pthread_join(tr[i], NULL);
        ok &= snd[i].ok && rcv[i].ok;
    }
    double dt = now_s() - t0;
    for (int i = 0; i < n; i++) {
        close(snd[i].fd);
        close(rcv[i].fd);
    }
    close(l);
    if (!ok) {
        fprintf(stderr, "bench_tcp_probe: a stream lost bytes\n");
        exit(1);
    }
    return dt;
}

int main(int argc, char **argv)
{
    int quick = 0, counts[MAX_STREAMS], ncounts = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
            continue;
        }
        char *end;
        long k = strtol(argv[i], &end, 10);
        if (*end || k < 1 || k > MAX_STREAMS || ncounts == MAX_STREAMS) {
            fprintf(stderr, "usage: bench_tcp_probe [--quick] [STREAMS (1..%d)...]\n", MAX_STREAMS);
            return 2;
        }
        counts[ncounts++] = (int)k;
    }
    if (ncounts == 0) {
        counts[0] = 1, counts[1] = 4, counts[2] = 8;
        ncounts = 3;
    }
    size_t total = quick ? (size_t)64 << 20 : (size_t)2 << 30;
    char *sbuf = malloc(WRITE_BYTES), *rbufs = malloc((size_t)MAX_STREAMS * WRITE_BYTES);
    if (!sbuf || !rbufs)
        die("malloc");
    for (size_t i = 0; i < WRITE_BYTES; i++)
        sbuf[i] = (char)(i * 2654435761u >> 24); /* touched, not all zero */
    memset(rbufs, 0, (size_t)MAX_STREAMS * WRITE_BYTES);
    printf("# loopback TCP probe: %zu MiB per round, %u KiB writes, best of %d rounds\n", total >> 20,
           WRITE_BYTES >> 10, ROUNDS);
    for (int c = 0; c < ncounts; c++) {
        double best = 0;
        for (int r = 0; r < ROUNDS; r++) {
            double dt = round_s(counts[c], total, sbuf, rbufs);
            if (best == 0 || dt < best)
                best = dt;
        }
        printf("tcp_probe_%dstream%s %.3f GB/s\n", counts[c], counts[c] > 1 ? "s" : "", (double)total / best / 1e9);
        fflush(stdout);
    }
    free(sbuf);
    free(rbufs);
    return 0;
}
