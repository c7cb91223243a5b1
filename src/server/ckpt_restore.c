/* Restoring a session from a checkpoint (ckpt_restore.h). The file is read
 * in order: the session section (tag, channels' progress), the handle
 * table (imported: every id the client holds names its slot again), the
 * objects and the module images (then each object is made again, owners
 * first, and bound to its id), then allocations and memory. */
#include "ckpt_restore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_ahead.h"
#include "ckpt_file.h"
#include "ckpt_mem.h"
#include "ckpt_records.h"
#include "clock.h"
#include "image_cache.h"
#include "log.h"

#define U(x) ((unsigned long long)(x))

typedef struct {
    rm_session_t *s;
    rm_ckpt_t c;
    rm_ckpt_obj_t *objs;
    uint32_t nobjs;
    struct image {
        uint8_t hash[RM_SHA256_LEN];
        void *bytes;
    } *images;
    uint32_t nimages;
    int made;          /* the objects exist */
    int session_seen;  /* its section came: before it, a stream's pre-copy */
    CUcontext current; /* for the copies */
    uint64_t retained; /* pre-copy: devices whose primary context it holds */
    CUcontext primary[RM_MM_DEVICES];
} restore_t;

__attribute__((format(printf, 3, 4))) static rm_status fail(restore_t *r, rm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->c.err, sizeof r->c.err, fmt, ap);
    va_end(ap);
    return st;
}

static rm_status take_session(restore_t *r, const void *d, uint64_t len)
{
    rm_ckpt_session_t *w = malloc(sizeof *w);
    if (!w)
        return fail(r, RM_ERR_NOMEM, "no memory for the session section");
    rm_status st = rm_ckpt_session_decode(&r->c, d, len, w);
    if (st == RM_OK) {
        rm_session_t *s = r->s;
        rm_handles_set_tag(&s->handles, w->tag);
        s->client_pid = w->pid;
        memcpy(s->key, w->key, RM_KEY_LEN);
        memcpy(s->host, w->host, sizeof s->host);
        memcpy(s->program, w->program, sizeof s->program);
        for (int i = 0; i < RM_MAX_CHANNELS; i++)
            s->done[i] = w->done[i], s->chan_ctx[i] = w->ctx[i];
    }
    free(w);
    return st;
}

static rm_status take_table(restore_t *r, const void *d, uint64_t len)
{
    rm_ckpt_table_t t;
    rm_status st = rm_ckpt_table_decode(&r->c, d, len, &t);
    if (st != RM_OK)
        return st;
    if (rm_handles_import(&r->s->handles, t.tag, t.free_head, t.slots, t.count) != 0)
        st = fail(r, RM_ERR_PROTO, "the handle table (%u slots) is not one this server can take", t.count);
    free(t.slots);
    return st;
}

static rm_status take_image(restore_t *r, void *d, uint64_t len)
{
    uint8_t hash[RM_SHA256_LEN];
    if (len <= RM_SHA256_LEN)
        return fail(r, RM_ERR_PROTO, "an image section of %llu bytes", U(len));
    rm_sha256((uint8_t *)d + RM_SHA256_LEN, len - RM_SHA256_LEN, hash);
    if (memcmp(hash, d, RM_SHA256_LEN))
        return fail(r, RM_ERR_PROTO, "a module image does not have the hash it is filed under");
    struct image *v = realloc(r->images, (r->nimages + 1) * sizeof *v);
    if (!v)
        return fail(r, RM_ERR_NOMEM, "no memory for module images");
    r->images = v;
    memcpy(v[r->nimages].hash, hash, RM_SHA256_LEN);
    v[r->nimages++].bytes = d; /* kept: the driver reads it at load */
    rm_image_cache_put((uint8_t *)d + RM_SHA256_LEN, len - RM_SHA256_LEN); /* the client's next load of it hits */
    return RM_OK;
}

static const void *image_of(restore_t *r, const uint8_t hash[RM_SHA256_LEN])
{
    for (uint32_t i = 0; i < r->nimages; i++)
        if (!memcmp(r->images[i].hash, hash, RM_SHA256_LEN))
            return (uint8_t *)r->images[i].bytes + RM_SHA256_LEN;
    return NULL;
}

static uint64_t slot_owner(restore_t *r, uint64_t id)
{
    rm_handles_t *t = &r->s->handles;
    uint32_t idx = (uint32_t)(id >> 4) & 0xffffffu; /* the slot index + 1 (handles.c) */
    pthread_mutex_lock(&t->lock);
    uint64_t owner = idx && idx <= t->count ? t->slots[idx - 1].owner : 0;
    pthread_mutex_unlock(&t->lock);
    return owner;
}

/* Make the context that owns id current (made already: owners come first). */
static CUresult owner_ctx(restore_t *r, uint64_t id)
{
    void *p;
    if (rm_handles_get(&r->s->handles, RM_H_CTX, slot_owner(r, id), &p) != 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    return r->s->b->cuCtxSetCurrent(p);
}

/* Whether every live slot of the table has its object. */
static int all_bound(rm_handles_t *t, uint32_t *slot)
{
    int ok = 1;
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < t->count && ok; i++)
        if (t->slots[i].kind & RM_H_DYING)
            ok = 0, *slot = i;
    pthread_mutex_unlock(&t->lock);
    return ok;
}

static CUresult make_one(restore_t *r, const rm_ckpt_obj_t *o, void **made)
{
    const rm_backend_t *b = r->s->b;
    CUresult res;
    switch (o->kind) {
    case RM_H_CTX:
        if (o->aux & RM_CKPT_CTX_PRIMARY) {
            if (o->flags && b->cuDevicePrimaryCtxSetFlags_v2) /* as the program had set them */
                b->cuDevicePrimaryCtxSetFlags_v2(o->arg, o->flags);
            res = b->cuDevicePrimaryCtxRetain((CUcontext *)made, o->arg);
            if (res == CUDA_SUCCESS && o->arg >= 0 && o->arg < 64)
                r->s->primary[o->arg] = o->id;
        } else {
            res = b->cuCtxCreate_v4((CUcontext *)made, NULL, o->flags, o->arg);
        }
        if (res == CUDA_SUCCESS && !r->current)
            r->current = *made;
        return res;
    case RM_H_MOD: {
        const void *image = image_of(r, o->hash);
        if (!image)
            return CUDA_ERROR_FILE_NOT_FOUND;
        if ((res = owner_ctx(r, o->id)) != CUDA_SUCCESS)
            return res;
        return b->cuModuleLoadData((CUmodule *)made, image);
    }
    case RM_H_FUNC: {
        void *m;
        if (rm_handles_get(&r->s->handles, RM_H_MOD, slot_owner(r, o->id), &m) != 0)
            return CUDA_ERROR_INVALID_HANDLE;
        return b->cuModuleGetFunction((CUfunction *)made, m, o->name);
    }
    case RM_H_STREAM:
        if ((res = owner_ctx(r, o->id)) != CUDA_SUCCESS)
            return res;
        return b->cuStreamCreateWithPriority((CUstream *)made, o->flags, o->arg);
    default:
        if ((res = owner_ctx(r, o->id)) != CUDA_SUCCESS)
            return res;
        return b->cuEventCreate((CUevent *)made, o->flags);
    }
}

/* Contexts, then modules, functions, streams and events: each after its owner. */
static rm_status make_objects(restore_t *r)
{
    static const uint32_t order[] = {RM_H_CTX, RM_H_MOD, RM_H_FUNC, RM_H_STREAM, RM_H_EVENT};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (uint32_t i = 0; i < r->nobjs; i++) {
            const rm_ckpt_obj_t *o = &r->objs[i];
            if (o->kind != order[k])
                continue;
            void *made = NULL;
            CUresult res = make_one(r, o, &made);
            if (res != CUDA_SUCCESS)
                return fail(r, RM_ERR_INVAL, "cannot make %s %#llx again (CUDA error %d)", rm_ckpt_kind_name(o->kind),
                            U(o->id), (int)res);
            if (rm_handles_bind(&r->s->handles, o->id, made) != 0)
                return fail(r, RM_ERR_PROTO, "%s %#llx is not a live handle of the checkpoint's table",
                            rm_ckpt_kind_name(o->kind), U(o->id));
            if (o->kind == RM_H_MOD || o->kind == RM_H_EVENT) { /* the next checkpoint needs them too */
                rm_recipe_t how = {.id = o->id, .flags = o->flags};
                memcpy(how.hash, o->hash, sizeof how.hash);
                if (rm_recipes_put(&r->s->recipes, &r->s->handles, &how) != 0)
                    return fail(r, RM_ERR_NOMEM, "no memory for the objects' recipes");
            }
        }
    uint32_t slot;
    if (!all_bound(&r->s->handles, &slot))
        return fail(r, RM_ERR_PROTO, "handle slot %u of the checkpoint has no object", slot);
    if (r->current)
        r->s->b->cuCtxSetCurrent(r->current);
    r->made = 1;
    return RM_OK;
}

/* Pre-copy in a migration stream, before the session's objects: the
 * mappings and copies go through the primary context of the memory's
 * device (device 0 for an allocation list). */
static rm_status precopy_ctx(restore_t *r, int dev)
{
    const rm_backend_t *b = r->s->b;
    if (!(r->retained >> dev & 1)) {
        if (b->cuDevicePrimaryCtxRetain(&r->primary[dev], dev) != CUDA_SUCCESS)
            return fail(r, RM_ERR_IO, "cannot make a context on device %d for the copies", dev);
        r->retained |= 1ull << dev;
    }
    return b->cuCtxSetCurrent(r->primary[dev]) == CUDA_SUCCESS
               ? RM_OK
               : fail(r, RM_ERR_IO, "cannot use a context on device %d for the copies", dev);
}

static rm_status precopy(restore_t *r, rm_ckpt_section t, const void *d, uint64_t len)
{
    rm_status st = RM_OK;
    if (t == RM_CKPT_MEMORY && len >= 8) {
        uint64_t at = 0;
        for (int i = 7; i >= 0; i--)
            at = at << 8 | ((const uint8_t *)d)[i];
        rm_mm_info_t a;
        if (rm_mm_find(&r->s->mm, at, &a) == 0 && a.dev >= 0 && a.dev < RM_MM_DEVICES)
            st = precopy_ctx(r, a.dev);
    } else if (t == RM_CKPT_ALLOCS) {
        st = precopy_ctx(r, 0);
    }
    return st == RM_OK ? rm_ckpt_mem_load(&r->c, &r->s->mm, r->s->b, t, d, len) : st;
}

static rm_status take(restore_t *r, rm_ckpt_section t, void *d, uint64_t len, int *keep)
{
    *keep = 0;
    rm_status st;
    if (!r->session_seen && r->c.stream && (t == RM_CKPT_ALLOCS || t == RM_CKPT_MEMORY))
        return precopy(r, t, d, len);
    r->session_seen |= t == RM_CKPT_SESSION;
    if (r->made && (t == RM_CKPT_SESSION || t == RM_CKPT_HANDLES || t == RM_CKPT_OBJECTS))
        return fail(r, RM_ERR_PROTO, "a session, handle or object section after the memory");
    switch (t) {
    case RM_CKPT_SESSION: return take_session(r, d, len);
    case RM_CKPT_HANDLES: return take_table(r, d, len);
    case RM_CKPT_OBJECTS:
        return r->objs ? fail(r, RM_ERR_PROTO, "two object sections")
                       : rm_ckpt_objs_decode(&r->c, d, len, &r->objs, &r->nobjs);
    case RM_CKPT_IMAGE:
        st = r->made ? fail(r, RM_ERR_PROTO, "an image section after the memory") : take_image(r, d, len);
        *keep = st == RM_OK;
        return st;
    default:
        if (!r->made && (st = make_objects(r)) != RM_OK)
            return st;
        return rm_ckpt_mem_load(&r->c, &r->s->mm, r->s->b, t, d, len);
    }
}

/* Each restored allocation becomes the session's as cuMemAlloc makes it
 * (sv_memory.c): its range (copies are checked against it) and its charge
 * to the session's limit, both going with its context. */
typedef struct {
    rm_session_t *s;
    uint64_t n, bytes;
} owned_t;

static int own_alloc(void *arg, const rm_mm_info_t *a)
{
    owned_t *o = arg;
    int taken = 0;
    if (rm_quota_take(&o->s->quota, a->dev, a->size, "a restored allocation", &taken) != CUDA_SUCCESS)
        return -1;
    if (rm_ranges_add(&o->s->ranges, a->base, a->size, a->owner) != 0 ||
        (taken && rm_quota_keep(&o->s->quota, a->dev, a->base, a->owner, a->size) != 0)) {
        if (taken)
            rm_quota_give(&o->s->quota, a->dev, a->size);
        return -1;
    }
    o->n++;
    o->bytes += a->size;
    return 0;
}

/* The header is read (r->c open): the sections, then the session's
 * ranges and charges. */
static rm_status restore_sections(restore_t *r, const rm_ckpt_header_t *h, owned_t *own)
{
    rm_session_t *s = r->s;
    rm_status st = RM_OK;
    if (h->session != s->id)
        st = fail(r, RM_ERR_PROTO, "the checkpoint is of session %llu, not %llu", U(h->session), U(s->id));
    for (rm_ckpt_section t = RM_CKPT_SESSION; st == RM_OK && t != RM_CKPT_END;) {
        void *data;
        uint64_t len;
        int keep;
        if ((st = rm_ckpt_next(&r->c, &t, &data, &len)) != RM_OK || t == RM_CKPT_END)
            break;
        st = take(r, t, data, len, &keep);
        if (!keep)
            free(data);
    }
    if (st == RM_OK && !r->session_seen)
        st = fail(r, RM_ERR_PROTO, "the checkpoint has no session section");
    if (st == RM_OK && !r->made)
        st = make_objects(r); /* a session with no memory */
    if (st == RM_OK && rm_mm_each(&s->mm, own_alloc, own) != 0)
        st = fail(r, RM_ERR_LIMIT, "the checkpoint's device memory does not fit this session's limit (or no memory)");
    return st;
}

/* This server's GPU model (device 0's name). */
static rm_status gpu_name(restore_t *r, char gpu[RM_CKPT_GPU_LEN])
{
    CUdevice d;
    const rm_backend_t *b = r->s->b;
    if (b->cuInit(0) != CUDA_SUCCESS || b->cuDeviceGet(&d, 0) != CUDA_SUCCESS ||
        b->cuDeviceGetName(gpu, RM_CKPT_GPU_LEN, d) != CUDA_SUCCESS)
        return fail(r, RM_ERR_IO, "cannot name this server's GPU");
    return RM_OK;
}

/* dir, or the stream on fd (dir NULL). */
static rm_status restore_from(rm_session_t *s, const char *dir, int fd, rm_ckpt_reply_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t t0 = rm_now_ns();
    restore_t r = {.s = s};
    rm_ckpt_header_t h;
    char gpu[RM_CKPT_GPU_LEN] = "";
    owned_t own = {.s = s};
    rm_status st = gpu_name(&r, gpu);
    if (st == RM_OK)
        st = dir ? rm_ckpt_open(&r.c, dir, gpu, &h) : rm_ckpt_stream_open(&r.c, fd, gpu, &h);
    /* A file is read ahead (else in turn). A stream is not: a reading
     * thread blocked on the socket after a failed section would hold the
     * restore until the source gave up, and pre-copy waits for the program
     * anyway. */
    if (st == RM_OK && dir)
        rm_ckpt_read_ahead(&r.c);
    if (st == RM_OK)
        st = restore_sections(&r, &h, &own);
    rm_ckpt_close(&r.c);
    for (uint32_t i = 0; i < r.nimages; i++)
        free(r.images[i].bytes);
    free(r.images);
    free(r.objs);
    for (int d = 0; d < RM_MM_DEVICES; d++) /* the session's own retains, if any, hold them now */
        if (r.retained >> d & 1)
            s->b->cuDevicePrimaryCtxRelease_v2(d);
    s->b->cuCtxSetCurrent(NULL);
    const char *from = dir ? dir : "the migration stream";
    out->status = st;
    out->pause_us = (rm_now_ns() - t0) / 1000;
    if (st != RM_OK) {
        snprintf(out->message, sizeof out->message, "%s", r.c.err);
        RM_WARN("session %llu: restore from %s failed: %s", U(s->id), from, out->message);
        return st;
    }
    out->allocations = (uint32_t)own.n;
    out->bytes = own.bytes;
    RM_INFO("session %llu: restored from %s: %u objects, %u allocations, %llu bytes of device memory, in %.1f ms",
            U(s->id), from, r.nobjs, out->allocations, U(out->bytes), out->pause_us / 1e3);
    return RM_OK;
}

rm_status rm_session_restore(rm_session_t *s, const char *dir, rm_ckpt_reply_t *out)
{
    return restore_from(s, dir, -1, out);
}

rm_status rm_session_restore_stream(rm_session_t *s, int fd, rm_ckpt_reply_t *out)
{
    return restore_from(s, NULL, fd, out);
}
