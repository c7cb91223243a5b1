/* Sections encoded on worker threads, appended in order (ckpt_pipe.h).
 *
 * The buffers form a ring, used in sequence order: section n lives in slot
 * n % slots, so the slot the next section needs is the one of the oldest
 * section not yet appended, and appending in order frees slots in order. */
#include "ckpt_pipe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_WORKERS 8
#define PAGE 4096

typedef enum { FREE, FILLING, QUEUED, BUSY, DONE } slot_state;

typedef struct {
    uint8_t *map;  /* PAGE + bytes, mmap'd */
    uint8_t *in;   /* the caller's buffer: map + PAGE - RM_CKPT_PIPE_LEAD */
    void *scratch; /* zstd's output */
    int pinned;
    slot_state state;
    rm_ckpt_section type;
    uint64_t len;
    rm_ckpt_enc_t enc;
    rm_status st;
    char err[256];
} slot_t;

struct rm_ckpt_pipe {
    rm_ckpt_t *c;
    rm_ckpt_pin_t pin;
    uint64_t bytes;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    slot_t *slots;
    int nslots, nworkers;
    pthread_t workers[MAX_WORKERS];
    uint64_t next, taken, written; /* sections handed in, taken by a worker, appended */
    int quit;
    rm_status st; /* the first failure (the caller's thread only) */
};

int rm_ckpt_pipe_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN); /* the caller's thread mostly waits for them */
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

static void *worker(void *arg)
{
    rm_ckpt_pipe_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && p->taken == p->next)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->taken == p->next)
            break; /* told to stop, nothing left */
        slot_t *s = &p->slots[p->taken++ % (uint64_t)p->nslots];
        s->state = BUSY;
        pthread_mutex_unlock(&p->lock);
        s->st = rm_ckpt_encode(s->type, s->in, s->len, s->scratch, &s->enc, s->err);
        pthread_mutex_lock(&p->lock);
        s->state = DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Append the finished sections at the head of the line (lock held; let go
 * while writing: only the caller's thread appends and frees slots). */
static void append_done(rm_ckpt_pipe_t *p)
{
    while (p->written < p->next) {
        slot_t *s = &p->slots[p->written % (uint64_t)p->nslots];
        if (s->state != DONE)
            return;
        pthread_mutex_unlock(&p->lock);
        if (p->st == RM_OK && s->st != RM_OK) {
            p->st = s->st;
            snprintf(p->c->err, sizeof p->c->err, "%s", s->err);
        } else if (p->st == RM_OK) {
            p->st = rm_ckpt_append(p->c, &s->enc);
        }
        pthread_mutex_lock(&p->lock);
        s->state = FREE;
        p->written++;
    }
}

static void free_slots(rm_ckpt_pipe_t *p)
{
    for (int i = 0; i < p->nslots; i++) {
        slot_t *s = &p->slots[i];
        if (s->pinned)
            p->pin.unpin(p->pin.arg, s->map + PAGE);
        if (s->map)
            munmap(s->map, PAGE + p->bytes);
        free(s->scratch);
    }
    free(p->slots);
}

static void stop_workers(rm_ckpt_pipe_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i], NULL);
}

static void destroy(rm_ckpt_pipe_t *p)
{
    stop_workers(p);
    free_slots(p);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static int make_slot(rm_ckpt_pipe_t *p, slot_t *s)
{
    void *m = mmap(NULL, PAGE + p->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    s->map = m;
    s->in = s->map + PAGE - RM_CKPT_PIPE_LEAD;
    if (!(s->scratch = malloc(rm_ckpt_scratch_bound(p->bytes))))
        return -1;
    /* the part after the lead, page-aligned: where device memory lands */
    s->pinned = p->pin.pin && p->bytes > RM_CKPT_PIPE_LEAD &&
                p->pin.pin(p->pin.arg, s->map + PAGE, p->bytes - RM_CKPT_PIPE_LEAD) == 0;
    return 0;
}

rm_status rm_ckpt_pipe_open(rm_ckpt_t *c, uint64_t bytes, const rm_ckpt_pin_t *pin, rm_ckpt_pipe_t **out)
{
    if (bytes > RM_CKPT_SECTION_MAX) {
        snprintf(c->err, sizeof c->err, "pipe buffers of %llu bytes (at most %llu)", (unsigned long long)bytes,
                 (unsigned long long)RM_CKPT_SECTION_MAX);
        return RM_ERR_TOO_BIG;
    }
    rm_ckpt_pipe_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(c->err, sizeof c->err, "no memory for the checkpoint's buffers");
        return RM_ERR_NOMEM;
    }
    p->c = c;
    p->bytes = bytes;
    if (pin)
        p->pin = *pin;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    int want = rm_ckpt_pipe_workers(), slots = want + 2; /* one filling, one being written, one per worker */
    int ok = (p->slots = calloc((size_t)slots, sizeof *p->slots)) != NULL;
    if (ok)
        p->nslots = slots;
    for (int i = 0; ok && i < p->nslots; i++)
        ok = make_slot(p, &p->slots[i]) == 0;
    while (ok && p->nworkers < want && pthread_create(&p->workers[p->nworkers], NULL, worker, p) == 0)
        p->nworkers++;
    if (!ok || !p->nworkers) {
        snprintf(c->err, sizeof c->err, "no memory or threads for the checkpoint's %d buffers of %llu bytes",
                 slots, (unsigned long long)bytes);
        destroy(p);
        return RM_ERR_NOMEM;
    }
    *out = p;
    return RM_OK;
}

void *rm_ckpt_pipe_get(rm_ckpt_pipe_t *p)
{
    slot_t *s = &p->slots[p->next % (uint64_t)p->nslots];
    pthread_mutex_lock(&p->lock);
    for (;;) {
        append_done(p);
        if (s->state == FREE || s->state == FILLING || p->st != RM_OK)
            break; /* FILLING: handed out and not put, so handed out again */
        pthread_cond_wait(&p->done, &p->lock);
    }
    int ok = p->st == RM_OK;
    if (ok)
        s->state = FILLING;
    pthread_mutex_unlock(&p->lock);
    return ok ? s->in : NULL;
}

void rm_ckpt_pipe_put(rm_ckpt_pipe_t *p, rm_ckpt_section type, uint64_t len)
{
    pthread_mutex_lock(&p->lock);
    slot_t *s = &p->slots[p->next % (uint64_t)p->nslots];
    s->type = type;
    s->len = len <= p->bytes ? len : p->bytes;
    s->state = QUEUED;
    p->next++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

rm_status rm_ckpt_pipe_close(rm_ckpt_pipe_t *p)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        append_done(p);
        if (p->written == p->next)
            break;
        pthread_cond_wait(&p->done, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    rm_status st = p->st;
    destroy(p);
    return st;
}
