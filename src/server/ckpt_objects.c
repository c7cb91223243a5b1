/* Saving a session's objects (ckpt_objects.h). The driver tells a
 * context's device and flags, a stream's flags and priority and a
 * function's name; the session's recipes the rest (recipes.h). */
#include "ckpt_objects.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_records.h"
#include "image_cache.h"

#define U(x) ((unsigned long long)(x))

__attribute__((format(printf, 2, 3))) static rm_status fail(rm_ckpt_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return RM_ERR_NOT_SUPPORTED;
}

static rm_status describe_ctx(rm_ckpt_t *c, rm_session_t *s, void *ctx, rm_ckpt_obj_t *o)
{
    const rm_backend_t *b = s->b;
    CUdevice d;
    unsigned flags = 0;
    if (!b->cuCtxSetCurrent || !b->cuCtxGetDevice || !b->cuCtxGetFlags || b->cuCtxSetCurrent(ctx) != CUDA_SUCCESS ||
        b->cuCtxGetDevice(&d) != CUDA_SUCCESS || b->cuCtxGetFlags(&flags) != CUDA_SUCCESS)
        return fail(c, "cannot ask the driver about context %#llx", U(o->id));
    o->arg = d;
    o->flags = flags;
    o->aux = d >= 0 && d < 64 && s->primary[d] == o->id ? RM_CKPT_CTX_PRIMARY : 0;
    return RM_OK;
}

static rm_status describe(rm_ckpt_t *c, rm_session_t *s, void *ptr, rm_ckpt_obj_t *o)
{
    const rm_backend_t *b = s->b;
    rm_recipe_t how;
    int known = rm_recipes_get(&s->recipes, o->id, &how) == 0;
    switch (o->kind) {
    case RM_H_CTX: return describe_ctx(c, s, ptr, o);
    case RM_H_MOD:
        if (!known)
            return fail(c, "module %#llx was not loaded from an image remora keeps (a library's module?)", U(o->id));
        memcpy(o->hash, how.hash, sizeof o->hash);
        return RM_OK;
    case RM_H_FUNC: {
        const char *name = NULL;
        if (rm_handles_kind(rm_handles_owner(&s->handles, o->id)) != RM_H_MOD)
            return fail(c, "function %#llx is not a module's (a library's kernel?)", U(o->id));
        if (!b->cuFuncGetName || b->cuFuncGetName(&name, ptr) != CUDA_SUCCESS || !name ||
            strlen(name) > RM_CKPT_NAME_MAX)
            return fail(c, "cannot ask the driver the name of function %#llx", U(o->id));
        strcpy(o->name, name); /* length checked above */
        return RM_OK;
    }
    case RM_H_STREAM: {
        unsigned flags;
        int prio;
        if ((uintptr_t)ptr <= 2)
            return RM_OK; /* a special stream value */
        if (!b->cuStreamGetFlags || !b->cuStreamGetPriority || b->cuStreamGetFlags(ptr, &flags) != CUDA_SUCCESS ||
            b->cuStreamGetPriority(ptr, &prio) != CUDA_SUCCESS)
            return fail(c, "cannot ask the driver about stream %#llx", U(o->id));
        o->flags = flags;
        o->arg = prio;
        return RM_OK;
    }
    case RM_H_EVENT:
        if (!known)
            return fail(c, "event %#llx was not made by cuEventCreate (an IPC event?)", U(o->id));
        o->flags = how.flags;
        return RM_OK;
    default:
        return fail(c, "the session holds a %s (handle %#llx), which a checkpoint cannot hold yet",
                    rm_ckpt_kind_name(o->kind), U(o->id));
    }
}

/* Each distinct image once. */
static rm_status save_images(rm_ckpt_t *c, const rm_ckpt_obj_t *o, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (o[i].kind != RM_H_MOD)
            continue;
        int seen = 0;
        for (uint32_t k = 0; k < i && !seen; k++)
            seen = o[k].kind == RM_H_MOD && !memcmp(o[k].hash, o[i].hash, sizeof o[i].hash);
        if (seen)
            continue;
        size_t len;
        uint8_t *image = rm_image_cache_get(o[i].hash, &len);
        uint8_t *buf = image ? malloc(RM_SHA256_LEN + len) : NULL;
        if (!buf) {
            free(image);
            return fail(c, "the image of module %#llx is not in the server's image cache (is it off?)", U(o[i].id));
        }
        memcpy(buf, o[i].hash, RM_SHA256_LEN);
        memcpy(buf + RM_SHA256_LEN, image, len);
        free(image);
        rm_status st = rm_ckpt_put(c, RM_CKPT_IMAGE, buf, RM_SHA256_LEN + len);
        free(buf);
        if (st != RM_OK)
            return st;
    }
    return RM_OK;
}

rm_status rm_ckpt_objects_save(rm_ckpt_t *c, rm_session_t *s, uint32_t *n_objects)
{
    rm_ckpt_table_t t;
    if (rm_handles_export(&s->handles, &t.tag, &t.free_head, &t.slots, &t.count) != 0)
        return fail(c, "no memory to copy the handle table");
    rm_ckpt_obj_t *o = calloc(t.count ? t.count : 1, sizeof *o);
    rm_status st = o ? RM_OK : fail(c, "no memory for %u object records", t.count);
    uint32_t n = 0;
    for (uint32_t i = 0; i < t.count && st == RM_OK; i++) {
        if (!t.slots[i].kind)
            continue;
        o[n] = (rm_ckpt_obj_t){.id = rm_handles_slot_id(&s->handles, t.slots[i].kind, t.slots[i].gen, i),
                               .kind = t.slots[i].kind};
        st = describe(c, s, t.slots[i].ptr, &o[n]);
        n++;
    }
    uint64_t len;
    void *enc;
    if (st == RM_OK) {
        enc = rm_ckpt_table_encode(&t, &len);
        st = enc ? rm_ckpt_put(c, RM_CKPT_HANDLES, enc, len) : fail(c, "no memory to encode the handle table");
        free(enc);
    }
    if (st == RM_OK) {
        enc = rm_ckpt_objs_encode(o, n, &len);
        st = enc ? rm_ckpt_put(c, RM_CKPT_OBJECTS, enc, len) : fail(c, "no memory to encode %u objects", n);
        free(enc);
    }
    if (st == RM_OK)
        st = save_images(c, o, n);
    if (st == RM_OK)
        *n_objects = n;
    free(o);
    free(t.slots);
    return st;
}
