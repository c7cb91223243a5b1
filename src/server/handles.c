/* Session handle table (see handles.h). Ids look like user-space pointers
 * to 16-byte-aligned objects, because the libraries above the driver treat
 * handles as pointers (cuDNN refuses a stream whose handle is not one):
 * bit 46 set, kind in bits 41..45, the session's server tag in 38..40
 * (RM_HANDLE_TAG_SHIFT), generation in 28..37, slot index + 1 in 4..27,
 * bits 0..3 clear. Ids are therefore never 0, 1 or 2, the values
 * CUDA reserves for NULL and the special streams. */
#include "handles.h"

#include <stdlib.h>
#include <string.h>

#include "remora/protocol.h"

#define ID_BASE (1ull << 46)
#define KIND_SHIFT 41
#define KIND_MASK 0x1fu
#define GEN_SHIFT 28
#define GEN_MASK 0x3ffu
#define IDX_SHIFT 4
#define IDX_MASK 0xffffffu

void rm_handles_init(rm_handles_t *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
}

void rm_handles_destroy(rm_handles_t *t)
{
    free(t->slots);
    pthread_mutex_destroy(&t->lock);
}

void rm_handles_set_tag(rm_handles_t *t, uint32_t tag) { t->tag = tag & RM_HANDLE_TAG_MASK; }

static uint64_t make_id(const rm_handles_t *t, rm_hkind kind, uint32_t gen, uint32_t idx)
{
    return ID_BASE | ((uint64_t)kind << KIND_SHIFT) | ((uint64_t)t->tag << RM_HANDLE_TAG_SHIFT) |
           ((uint64_t)(gen & GEN_MASK) << GEN_SHIFT) | ((uint64_t)(idx + 1) << IDX_SHIFT);
}

static long find_ptr(const rm_handles_t *t, rm_hkind kind, void *ptr)
{
    for (uint32_t i = 0; i < t->count; i++)
        if (t->slots[i].kind == kind && t->slots[i].ptr == ptr)
            return i;
    return -1;
}

static long take_slot(rm_handles_t *t)
{
    if (t->free_head) {
        uint32_t i = t->free_head - 1;
        t->free_head = (uint32_t)(uintptr_t)t->slots[i].ptr;
        return i;
    }
    if (t->count == IDX_MASK) /* every index an id can name is taken */
        return -1;
    if (t->count == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        rm_handle_slot_t *s = realloc(t->slots, cap * sizeof *s);
        if (!s)
            return -1;
        t->slots = s;
        t->cap = cap;
    }
    t->slots[t->count].gen = 0;
    return t->count++;
}

uint64_t rm_handles_put(rm_handles_t *t, rm_hkind kind, void *ptr) { return rm_handles_put_owned(t, kind, ptr, 0); }

uint64_t rm_handles_put_owned(rm_handles_t *t, rm_hkind kind, void *ptr, uint64_t owner)
{
    uint64_t id = 0;
    pthread_mutex_lock(&t->lock);
    long i = kind == RM_H_CTX || kind == RM_H_GRAPH || kind == RM_H_POOL || kind == RM_H_GNODE ||
                     kind == RM_H_ARRAY
                 ? find_ptr(t, kind, ptr)
                 : -1;
    if (i < 0) {
        i = take_slot(t);
        if (i >= 0) {
            t->slots[i].ptr = ptr;
            t->slots[i].owner = owner;
            t->slots[i].kind = (uint8_t)kind;
            t->slots[i].gen = (t->slots[i].gen + 1) & GEN_MASK;
        }
    }
    if (i >= 0)
        id = make_id(t, kind, t->slots[i].gen, (uint32_t)i);
    pthread_mutex_unlock(&t->lock);
    return id;
}

/* The slot id names, whatever its state, if the id is well formed and of
 * the slot's generation. */
static rm_handle_slot_t *slot_of(rm_handles_t *t, rm_hkind kind, uint64_t id)
{
    uint32_t idx = (uint32_t)(id >> IDX_SHIFT) & IDX_MASK;
    if ((id >> KIND_SHIFT) != ((ID_BASE >> KIND_SHIFT) | kind) || (id & ((1u << IDX_SHIFT) - 1)) ||
        ((id >> RM_HANDLE_TAG_SHIFT) & RM_HANDLE_TAG_MASK) != t->tag || idx == 0 || idx > t->count)
        return NULL;
    rm_handle_slot_t *s = &t->slots[idx - 1];
    return s->gen == ((id >> GEN_SHIFT) & GEN_MASK) ? s : NULL;
}

/* A live handle: slot kind equals its kind (a claimed one has DYING set). */
static rm_handle_slot_t *lookup(rm_handles_t *t, rm_hkind kind, uint64_t id)
{
    rm_handle_slot_t *s = slot_of(t, kind, id);
    return s && s->kind == kind ? s : NULL;
}

int rm_handles_get(rm_handles_t *t, rm_hkind kind, uint64_t id, void **ptr)
{
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *s = lookup(t, kind, id);
    if (s)
        *ptr = s->ptr;
    pthread_mutex_unlock(&t->lock);
    return s ? 0 : -1;
}

static void release(rm_handles_t *t, rm_handle_slot_t *s)
{
    s->kind = 0;
    s->ptr = (void *)(uintptr_t)t->free_head;
    t->free_head = (uint32_t)(s - t->slots) + 1;
}

int rm_handles_del(rm_handles_t *t, rm_hkind kind, uint64_t id)
{
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *s = lookup(t, kind, id);
    if (s)
        release(t, s);
    pthread_mutex_unlock(&t->lock);
    return s ? 0 : -1;
}

int rm_handles_claim(rm_handles_t *t, rm_hkind kind, uint64_t id, void **ptr)
{
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *s = lookup(t, kind, id);
    if (s) {
        *ptr = s->ptr;
        s->kind = (uint8_t)(kind | RM_H_DYING);
    }
    pthread_mutex_unlock(&t->lock);
    return s ? 0 : -1;
}

void rm_handles_settle(rm_handles_t *t, rm_hkind kind, uint64_t id, int destroyed)
{
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *s = slot_of(t, kind, id);
    if (s && s->kind == (kind | RM_H_DYING)) { /* not released meanwhile with its owner */
        if (destroyed)
            release(t, s);
        else
            s->kind = (uint8_t)kind;
    }
    pthread_mutex_unlock(&t->lock);
}

rm_hkind rm_handles_kind(uint64_t id) { return (rm_hkind)((id >> KIND_SHIFT) & KIND_MASK); }

uint64_t rm_handles_owner(rm_handles_t *t, uint64_t id)
{
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *s = lookup(t, rm_handles_kind(id), id);
    uint64_t owner = s ? s->owner : 0;
    pthread_mutex_unlock(&t->lock);
    return owner;
}

uint64_t rm_handles_find(rm_handles_t *t, rm_hkind kind, void *ptr)
{
    pthread_mutex_lock(&t->lock);
    long i = find_ptr(t, kind, ptr);
    uint64_t id = i >= 0 ? make_id(t, kind, t->slots[i].gen, (uint32_t)i) : 0;
    pthread_mutex_unlock(&t->lock);
    return id;
}

void rm_handles_each(rm_handles_t *t, rm_hkind kind, void (*fn)(void *arg, uint64_t id, void *ptr), void *arg)
{
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < t->count; i++)
        if (t->slots[i].kind == kind)
            fn(arg, make_id(t, kind, t->slots[i].gen, i), t->slots[i].ptr);
    pthread_mutex_unlock(&t->lock);
}

void rm_handles_del_ptr(rm_handles_t *t, rm_hkind kind, void *ptr)
{
    pthread_mutex_lock(&t->lock);
    long i = find_ptr(t, kind, ptr);
    if (i >= 0)
        release(t, &t->slots[i]);
    pthread_mutex_unlock(&t->lock);
}

static void del_owned_locked(rm_handles_t *t, uint64_t owner, void (*gone)(void *, uint64_t), void *arg, int depth)
{
    gone(arg, owner);
    for (uint32_t i = 0; i < t->count && depth < 4; i++)
        if (t->slots[i].kind && t->slots[i].owner == owner) {
            uint64_t id = make_id(t, (rm_hkind)(t->slots[i].kind & ~RM_H_DYING), t->slots[i].gen, i);
            release(t, &t->slots[i]);
            del_owned_locked(t, id, gone, arg, depth + 1);
        }
}

void rm_handles_del_owned(rm_handles_t *t, uint64_t owner, void (*gone)(void *arg, uint64_t id), void *arg)
{
    pthread_mutex_lock(&t->lock);
    del_owned_locked(t, owner, gone, arg, 0);
    pthread_mutex_unlock(&t->lock);
}

int rm_handles_export(rm_handles_t *t, uint32_t *tag, uint32_t *free_head, rm_handle_slot_t **slots,
                      uint32_t *count)
{
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *v = malloc((t->count ? t->count : 1) * sizeof *v);
    if (v) {
        if (t->count)
            memcpy(v, t->slots, t->count * sizeof *v);
        *slots = v;
        *count = t->count;
        *tag = t->tag;
        *free_head = t->free_head;
    }
    pthread_mutex_unlock(&t->lock);
    return v ? 0 : -1;
}

/* The chain from head visits free slots only, each once, and all of them. */
static int free_chain_ok(const rm_handle_slot_t *v, uint32_t count, uint32_t head)
{
    uint32_t free_slots = 0, steps = 0;
    for (uint32_t i = 0; i < count; i++)
        free_slots += !v[i].kind;
    for (uint32_t i = head; i; i = (uint32_t)(uintptr_t)v[i - 1].ptr)
        if (i > count || v[i - 1].kind || ++steps > free_slots)
            return 0;
    return steps == free_slots;
}

/* A live slot imported but not bound yet has DYING set: no lookup finds it. */
int rm_handles_import(rm_handles_t *t, uint32_t tag, uint32_t free_head, const rm_handle_slot_t *slots,
                      uint32_t count)
{
    rm_handle_slot_t *v = count ? malloc(count * sizeof *v) : NULL;
    if ((count && !v) || count > IDX_MASK || t->count) {
        free(v);
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint8_t kind = (uint8_t)(slots[i].kind & ~RM_H_DYING);
        v[i] = (rm_handle_slot_t){.owner = kind ? slots[i].owner : 0, .gen = slots[i].gen & GEN_MASK,
                                  .kind = kind ? (uint8_t)(kind | RM_H_DYING) : 0,
                                  .ptr = kind ? NULL : slots[i].ptr};
    }
    if (!free_chain_ok(v, count, free_head)) {
        free(v);
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    free(t->slots);
    t->slots = v;
    t->count = t->cap = count;
    t->tag = tag & RM_HANDLE_TAG_MASK;
    t->free_head = free_head;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int rm_handles_bind(rm_handles_t *t, uint64_t id, void *ptr)
{
    rm_hkind kind = rm_handles_kind(id);
    pthread_mutex_lock(&t->lock);
    rm_handle_slot_t *s = slot_of(t, kind, id);
    int ok = s && s->kind == (kind | RM_H_DYING);
    if (ok) {
        s->ptr = ptr;
        s->kind = (uint8_t)kind;
    }
    pthread_mutex_unlock(&t->lock);
    return ok ? 0 : -1;
}

uint64_t rm_handles_slot_id(const rm_handles_t *t, uint32_t kind, uint32_t gen, uint32_t i)
{
    return make_id(t, (rm_hkind)kind, gen, i);
}
