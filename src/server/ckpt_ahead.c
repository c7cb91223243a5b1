/* Reading a checkpoint ahead (ckpt_ahead.h). The sections go through a
 * ring of jobs in file order: the reader fills job n % jobs, the workers
 * decode them in order taken, the caller takes them back in file order,
 * which frees their job for the reader. */
#include "ckpt_ahead.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_pipe.h"

#define MAX_WORKERS 8

typedef enum { EMPTY, READ, BUSY, DONE } job_state;

typedef struct {
    rm_ckpt_raw_t r;
    rm_status st;
    job_state state;
    uint64_t bytes; /* held in memory */
    char err[256];
} job_t;

struct rm_ckpt_ahead {
    rm_ckpt_t *c;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* any job changed state, or stop */
    job_t *jobs;
    uint64_t njobs;
    uint64_t read, taken, handed; /* sections read off the file, taken by a worker, handed out */
    uint64_t inflight;            /* bytes read and not handed out */
    int stop, ended;              /* told to stop; the reader got to the end or an error */
    pthread_t reader, workers[MAX_WORKERS];
    int reader_up, nworkers;
};

static int reader_waits(const rm_ckpt_ahead_t *a)
{
    uint64_t ahead = a->read - a->handed;
    return ahead == a->njobs || (ahead && a->inflight >= RM_CKPT_AHEAD_BYTES);
}

static void *reader(void *arg)
{
    rm_ckpt_ahead_t *a = arg;
    for (int last = 0; !last;) {
        pthread_mutex_lock(&a->lock);
        while (!a->stop && reader_waits(a))
            pthread_cond_wait(&a->cond, &a->lock);
        if (a->stop) {
            pthread_mutex_unlock(&a->lock);
            break;
        }
        job_t *j = &a->jobs[a->read % a->njobs];
        pthread_mutex_unlock(&a->lock);
        /* only this thread reads the file, and only it fills job j */
        j->st = rm_ckpt_read_raw(a->c, &j->r, j->err);
        last = j->st != RM_OK || j->r.type == RM_CKPT_END;
        pthread_mutex_lock(&a->lock);
        j->bytes = j->st == RM_OK ? j->r.raw + (j->r.in != j->r.out ? j->r.len : 0) : 0;
        j->state = j->st == RM_OK ? READ : DONE; /* a failed read is handed out as it is */
        a->inflight += j->bytes;
        a->read++;
        a->ended = last;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

static void *worker(void *arg)
{
    rm_ckpt_ahead_t *a = arg;
    pthread_mutex_lock(&a->lock);
    while (!a->stop) {
        if (a->taken < a->read) {
            job_t *j = &a->jobs[a->taken++ % a->njobs];
            if (j->state != READ)
                continue;
            j->state = BUSY;
            pthread_mutex_unlock(&a->lock);
            j->st = rm_ckpt_decode(&j->r, j->err);
            pthread_mutex_lock(&a->lock);
            j->state = DONE;
            pthread_cond_broadcast(&a->cond);
        } else if (a->ended) {
            break;
        } else {
            pthread_cond_wait(&a->cond, &a->lock);
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

void rm_ckpt_ahead_stop(rm_ckpt_t *c)
{
    rm_ckpt_ahead_t *a = c->ahead;
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = 1;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (a->reader_up)
        pthread_join(a->reader, NULL);
    for (int i = 0; i < a->nworkers; i++)
        pthread_join(a->workers[i], NULL);
    for (uint64_t i = 0; a->jobs && i < a->njobs; i++)
        if (a->jobs[i].state != EMPTY)
            rm_ckpt_raw_free(&a->jobs[i].r);
    free(a->jobs);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
    c->ahead = NULL;
}

rm_status rm_ckpt_read_ahead(rm_ckpt_t *c)
{
    if (c->ahead || !c->f)
        return RM_OK;
    rm_ckpt_ahead_t *a = calloc(1, sizeof *a);
    int want = rm_ckpt_pipe_workers();
    if (a && !(a->jobs = calloc(2 * (size_t)want + 2, sizeof *a->jobs))) {
        free(a);
        a = NULL;
    }
    if (!a) {
        snprintf(c->err, sizeof c->err, "no memory to read the checkpoint ahead");
        return RM_ERR_NOMEM;
    }
    a->c = c;
    a->njobs = 2 * (uint64_t)want + 2;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    c->ahead = a;
    /* the workers first: without one, the file must stay where it is */
    while (a->nworkers < want && pthread_create(&a->workers[a->nworkers], NULL, worker, a) == 0)
        a->nworkers++;
    a->reader_up = a->nworkers && pthread_create(&a->reader, NULL, reader, a) == 0;
    if (!a->reader_up) {
        rm_ckpt_ahead_stop(c);
        snprintf(c->err, sizeof c->err, "no threads to read the checkpoint ahead");
        return RM_ERR_NOMEM;
    }
    return RM_OK;
}

rm_status rm_ckpt_ahead_next(rm_ckpt_t *c, rm_ckpt_section *type, void **data, uint64_t *len)
{
    rm_ckpt_ahead_t *a = c->ahead;
    pthread_mutex_lock(&a->lock);
    job_t *j = &a->jobs[a->handed % a->njobs];
    while (!(a->handed < a->read && j->state == DONE) && !(a->ended && a->handed == a->read))
        pthread_cond_wait(&a->cond, &a->lock);
    if (a->handed == a->read) { /* asked past the end or the error */
        pthread_mutex_unlock(&a->lock);
        snprintf(c->err, sizeof c->err, "no section after the end of the checkpoint");
        return RM_ERR_PROTO;
    }
    rm_ckpt_raw_t r = j->r;
    rm_status st = j->st;
    if (st != RM_OK)
        memcpy(c->err, j->err, sizeof c->err);
    a->inflight -= j->bytes;
    j->state = EMPTY;
    a->handed++;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (st != RM_OK) {
        rm_ckpt_raw_free(&r);
        return st;
    }
    *type = (rm_ckpt_section)r.type;
    *data = r.out;
    *len = r.raw;
    return RM_OK;
}
