/* Handlers: host functions (cuLaunchHostFunc, cuStreamAddCallback). The
 * function lives in the client, so the server puts a gate on the stream: a
 * host function of its own that, when the stream reaches it, marks the gate
 * reached and blocks until the client says its function has returned. A
 * client thread waits for "reached" (host_func_wait), runs the function and
 * opens the gate (host_func_done); later work on the stream waits, as CUDA
 * promises. Gates are named by ids the client mints.
 *
 * A host function in a graph (a host node, or one launched on a stream
 * being captured) runs each time the graph does: it is recurring, named by
 * a key the client knows its function by. Each run is a gate of its own,
 * minted here, that host_node_next announces to the client with its key;
 * from there on it is served like any other gate. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "rm_handlers.h"

typedef enum { GATE_QUEUED, GATE_REACHED, GATE_OPEN, GATE_FAILED, GATE_ABANDONED, GATE_CAPTURED } gate_state;

/* Ids of the gates of recurring functions' runs (the client's have this
 * bit clear). */
#define RUN_GATE_BIT (UINT64_C(1) << 63)

typedef struct rm_gate {
    rm_session_t *s;
    uint64_t id;
    uint64_t key;  /* a run of recurring function key: announced yet? */
    int announced;
    CUstream stream; /* to notice work before the gate that failed */
    gate_state state; /* GATE_FAILED: host_func failed, and said why */
    int waited;     /* the client has been told (reached or failed) */
    struct rm_gate *next;
} rm_gate_t;

static rm_gate_t **gate_slot(rm_session_t *s, uint64_t id)
{
    rm_gate_t **p = &s->gates;
    while (*p && (*p)->id != id)
        p = &(*p)->next;
    return p;
}

static void gate_unlink(rm_session_t *s, rm_gate_t *g)
{
    rm_gate_t **p = gate_slot(s, g->id);
    if (*p == g)
        *p = g->next;
}

/* g is reached (lock held): tell the waiting client, wait until it opens
 * the gate (or nobody is left to), then drop g and the lock. */
static void reached_wait_open(rm_session_t *s, rm_gate_t *g)
{
    pthread_cond_broadcast(&s->gate_change);
    while (g->state != GATE_OPEN && !s->closing)
        pthread_cond_wait(&s->gate_change, &s->lock);
    gate_unlink(s, g);
    pthread_mutex_unlock(&s->lock);
    free(g);
}

/* Runs on the driver's thread when the stream gets here. */
static void gate_reached(void *arg)
{
    rm_gate_t *g = arg;
    rm_session_t *s = g->s;
    pthread_mutex_lock(&s->lock);
    if (g->state == GATE_ABANDONED) { /* its client was told the stream failed */
        pthread_mutex_unlock(&s->lock);
        free(g);
        return;
    }
    g->state = GATE_REACHED;
    reached_wait_open(s, g);
}

/* A recurring host function: what the driver's graph calls. It lives as
 * long as the session (graphs may run it until then). */
typedef struct {
    rm_session_t *s;
    uint64_t key;
} rm_recurring_t;

static void link_gate(rm_session_t *s, rm_gate_t *g)
{
    g->next = s->gates;
    s->gates = g;
}

/* Runs on the driver's thread each time a graph reaches the function: a
 * gate for this run, reached already, waiting to be announced. */
static void recurring_reached(void *arg)
{
    static uint64_t runs;
    rm_recurring_t *rec = arg;
    rm_session_t *s = rec->s;
    rm_gate_t *g = calloc(1, sizeof *g);
    if (!g) {
        RM_ERROR("session %llu: out of memory: a graph's host function is skipped", (unsigned long long)s->id);
        return;
    }
    g->s = s, g->key = rec->key, g->state = GATE_REACHED;
    g->id = RUN_GATE_BIT | __atomic_add_fetch(&runs, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&s->lock);
    link_gate(s, g);
    reached_wait_open(s, g);
}

static CUresult add_recurring(rm_sv_t *sv, CUstream stream, uint64_t key)
{
    rm_recurring_t *rec = malloc(sizeof *rec);
    if (!rec)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *rec = (rm_recurring_t){sv->s, key};
    CUresult r = sv->b->cuLaunchHostFunc(stream, recurring_reached, rec);
    if (r != CUDA_SUCCESS)
        free(rec);
    return r;
}

/* The stream will never reach g: tell the waiting client thread. */
static void gate_fail(rm_session_t *s, rm_gate_t *g)
{
    pthread_mutex_lock(&s->lock);
    g->state = GATE_FAILED;
    pthread_cond_broadcast(&s->gate_change);
    pthread_mutex_unlock(&s->lock);
}

/* The gate is registered before anything can fail, so that the client
 * thread waiting for it always gets an answer. */
CUresult rm_sv_host_func(rm_sv_t *sv, const rm_host_func_req_t *in, rm_host_func_rep_t *out)
{
    rm_session_t *s = sv->s;
    rm_gate_t *g = calloc(1, sizeof *g);
    if (!g)
        return CUDA_ERROR_OUT_OF_MEMORY;
    g->s = s, g->id = in->gate;
    pthread_mutex_lock(&s->lock);
    int taken = *gate_slot(s, in->gate) != NULL || (in->gate & RUN_GATE_BIT);
    if (!taken)
        link_gate(s, g);
    pthread_mutex_unlock(&s->lock);
    if (taken) {
        free(g);
        return CUDA_ERROR_INVALID_VALUE;
    }
    CUresult r = sv->b->cuLaunchHostFunc ? CUDA_SUCCESS : rm_sv_unsupported("cuLaunchHostFunc");
    if (r == CUDA_SUCCESS && rm_sv_handle_get(sv, RM_H_STREAM, in->stream, (void **)&g->stream) != 0)
        r = CUDA_ERROR_INVALID_HANDLE;
    int captured = r == CUDA_SUCCESS && rm_sv_capturing(sv, in->stream);
    if (captured && in->callback) /* as CUDA: no stream callbacks in graphs */
        r = rm_sv_refuse_capture(sv, in->stream, "a stream callback");
    else if (captured && (r = add_recurring(sv, g->stream, in->gate)) == CUDA_SUCCESS) {
        pthread_mutex_lock(&s->lock);
        g->state = GATE_CAPTURED;
        pthread_cond_broadcast(&s->gate_change);
        pthread_mutex_unlock(&s->lock);
        return r;
    } else if (r == CUDA_SUCCESS)
        r = sv->b->cuLaunchHostFunc(g->stream, gate_reached, g);
    if (r != CUDA_SUCCESS)
        gate_fail(s, g);
    return r;
}

/* How long one host_func_wait waits before it answers NOT_READY and the
 * client asks again: so a thread serving a client that died comes back to
 * notice it. */
#define WAIT_SLICE_S 1

CUresult rm_sv_host_func_wait(rm_sv_t *sv, const rm_host_func_wait_req_t *in, rm_host_func_wait_rep_t *out)
{
    rm_session_t *s = sv->s;
    CUresult r = CUDA_SUCCESS;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SLICE_S;
    pthread_mutex_lock(&s->lock);
    rm_gate_t *g;
    /* The gate may not exist yet: its stream's channel has not run host_func. */
    int timed_out = 0;
    while (((g = *gate_slot(s, in->gate)) == NULL || g->state == GATE_QUEUED) && !s->closing && !timed_out)
        timed_out = pthread_cond_timedwait(&s->gate_change, &s->lock, &until) != 0;
    if (timed_out && g && g->state == GATE_QUEUED && sv->b->cuStreamQuery) {
        /* Work before the gate failed (a sticky error): the driver will not
         * run it. The gate is abandoned, not freed: should the driver run it
         * after all, it finds it so and returns at once. */
        CUstream stream = g->stream;
        pthread_mutex_unlock(&s->lock);
        CUresult q = sv->b->cuStreamQuery(stream);
        pthread_mutex_lock(&s->lock);
        if (q != CUDA_SUCCESS && q != CUDA_ERROR_NOT_READY && (g = *gate_slot(s, in->gate)) != NULL &&
            g->state == GATE_QUEUED) {
            g->state = GATE_ABANDONED;
            gate_unlink(s, g);
            pthread_mutex_unlock(&s->lock);
            return q;
        }
    }
    if (timed_out)
        r = CUDA_ERROR_NOT_READY;
    else if (!g || s->closing)
        r = CUDA_ERROR_INVALID_VALUE;
    else if (g->waited++)
        r = CUDA_ERROR_INVALID_VALUE; /* one waiter per gate */
    else if (g->state == GATE_FAILED || g->state == GATE_CAPTURED) {
        out->outcome = g->state == GATE_CAPTURED ? RM_GATE_CAPTURED : RM_GATE_REFUSED;
        gate_unlink(s, g);
        free(g);
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* The next run of a recurring function not yet announced; NOT_READY after
 * a slice without one (the client asks again). */
CUresult rm_sv_host_node_next(rm_sv_t *sv, const rm_host_node_next_req_t *in, rm_host_node_next_rep_t *out)
{
    rm_session_t *s = sv->s;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SLICE_S;
    pthread_mutex_lock(&s->lock);
    rm_gate_t *g = NULL;
    int timed_out = 0;
    while (!s->closing && !timed_out) {
        for (g = s->gates; g && !(g->key && !g->announced); g = g->next)
            ;
        if (g)
            break;
        timed_out = pthread_cond_timedwait(&s->gate_change, &s->lock, &until) != 0;
    }
    if (g) {
        g->announced = 1;
        out->gate = g->id, out->key = g->key;
    }
    pthread_mutex_unlock(&s->lock);
    return g ? CUDA_SUCCESS : s->closing ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_NOT_READY;
}

CUresult rm_sv_graph_add_host_node(rm_sv_t *sv, const rm_graph_add_host_node_req_t *in,
                                   rm_graph_add_host_node_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphAddHostNode);
    CUgraph g;
    CUgraphNode deps[RM_MAX_GNODES], node = NULL;
    size_t n;
    CUresult r = rm_sv_graph_deps(sv, in->graph, in->deps, in->deps_len, &g, deps, &n);
    if (r != CUDA_SUCCESS)
        return r;
    if (!in->key || (in->key & RUN_GATE_BIT))
        return CUDA_ERROR_INVALID_VALUE;
    rm_recurring_t *rec = malloc(sizeof *rec);
    if (!rec)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *rec = (rm_recurring_t){sv->s, in->key};
    CUDA_HOST_NODE_PARAMS p = {.fn = recurring_reached, .userData = rec};
    if ((r = sv->b->cuGraphAddHostNode(&node, g, deps, n, &p)) != CUDA_SUCCESS)
        free(rec);
    return rm_sv_node_made(sv, r, node, in->graph, &out->node);
}

CUresult rm_sv_host_func_done(rm_sv_t *sv, const rm_host_func_done_req_t *in, rm_host_func_done_rep_t *out)
{
    rm_session_t *s = sv->s;
    pthread_mutex_lock(&s->lock);
    rm_gate_t *g = *gate_slot(s, in->gate);
    int ok = g && g->state == GATE_REACHED && g->waited;
    if (ok) {
        g->state = GATE_OPEN;
        pthread_cond_broadcast(&s->gate_change);
    }
    pthread_mutex_unlock(&s->lock);
    return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

void rm_session_open_gates(rm_session_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    pthread_cond_broadcast(&s->gate_change);
    pthread_mutex_unlock(&s->lock);
}
