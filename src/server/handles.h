/* Opaque handles: the ids a client sees for contexts, modules, functions,
 * streams, events, libraries and kernels. Each id names a slot of this
 * session's table, its kind and a generation, so an id of another kind, a
 * stale id, or an id from another session never reaches the driver. */
#ifndef RM_HANDLES_H
#define RM_HANDLES_H

#include <pthread.h>
#include <stdint.h>

typedef enum { /* at most 31 kinds: the id layout (handles.c) has 5 bits for it */
    RM_H_CTX = 1,
    RM_H_MOD,
    RM_H_FUNC,
    RM_H_STREAM,
    RM_H_EVENT,
    RM_H_LIB,
    RM_H_KERN,
    RM_H_GRAPH,
    RM_H_GEXEC,
    RM_H_POOL,
    RM_H_MEMH,
    RM_H_GNODE,
    RM_H_ARRAY,
    RM_H_MIPMAP,
    RM_H_TEXOBJ,  /* ptr: the driver's texture object value (the client sees it) */
    RM_H_SURFOBJ, /* ptr: the driver's surface object value */
} rm_hkind;
#define RM_H_DYING 0x80u /* in a slot's kind: claimed for destruction (rm_handles_claim) */

typedef struct {
    void *ptr;
    uint64_t owner; /* id of the module/library it belongs to, or 0 */
    uint32_t gen;
    uint8_t kind;   /* 0: free */
} rm_handle_slot_t;

typedef struct {
    pthread_mutex_t lock;
    rm_handle_slot_t *slots;
    uint32_t count, cap;
    uint32_t free_head; /* index+1 of a free slot chain through ptr; 0 none */
    uint32_t tag;       /* in every id (RM_HANDLE_TAG_SHIFT); 0 by default */
} rm_handles_t;

void rm_handles_init(rm_handles_t *t);
void rm_handles_destroy(rm_handles_t *t);
/* The server tag the client gave the session: ids made from now on carry it,
 * and an id with another tag is not this table's. */
void rm_handles_set_tag(rm_handles_t *t, uint32_t tag);
/* Register ptr under kind; returns its id, 0 on allocation failure. For
 * RM_H_CTX, RM_H_GRAPH, RM_H_POOL and RM_H_ARRAY an existing entry for the
 * same pointer is reused (the driver hands out the same primary context, a
 * capture's graph, a device's pool and a mipmap's level again). */
uint64_t rm_handles_put(rm_handles_t *t, rm_hkind kind, void *ptr);
/* The same, for an object that dies with its owner (see rm_handles_del_owned). */
uint64_t rm_handles_put_owned(rm_handles_t *t, rm_hkind kind, void *ptr, uint64_t owner);
/* Forget every handle owned by `owner`, and what those own in turn (a
 * context destroyed takes its modules, which take their functions). gone()
 * is called with each id forgotten, and with owner itself. */
void rm_handles_del_owned(rm_handles_t *t, uint64_t owner, void (*gone)(void *arg, uint64_t id), void *arg);
/* 0 and *ptr set if id is live and of that kind; -1 otherwise. */
int rm_handles_get(rm_handles_t *t, rm_hkind kind, uint64_t id, void **ptr);
/* The kind an id names (whether or not it is live). */
rm_hkind rm_handles_kind(uint64_t id);
/* The owner of live handle id (0: none, or not live). */
uint64_t rm_handles_owner(rm_handles_t *t, uint64_t id);
/* The id of ptr under kind; 0 if it has none. */
uint64_t rm_handles_find(rm_handles_t *t, rm_hkind kind, void *ptr);
/* Calls fn with the id and object of every live handle of kind, in slot
 * order, with the table's lock held (fn must not use the table). */
void rm_handles_each(rm_handles_t *t, rm_hkind kind, void (*fn)(void *arg, uint64_t id, void *ptr), void *arg);
/* Forget the handle of ptr under kind, if there is one. */
void rm_handles_del_ptr(rm_handles_t *t, rm_hkind kind, void *ptr);
/* Forget id; -1 if it was not live. */
int rm_handles_del(rm_handles_t *t, rm_hkind kind, uint64_t id);
/* Destroying the object behind a handle, once even when channels race:
 * claim looks id up and makes it unreachable under one lock (0 and *ptr
 * set; -1 if not live or claimed already), the caller destroys the object,
 * then settle forgets id (destroyed) or makes it live again (the destroy
 * failed). */
int rm_handles_claim(rm_handles_t *t, rm_hkind kind, uint64_t id, void **ptr);
void rm_handles_settle(rm_handles_t *t, rm_hkind kind, uint64_t id, int destroyed);

/* Checkpoints: a copy of every slot (a free slot's ptr is the index+1 of
 * the next free one, 0 at the end; *slots malloc'd) and the first free
 * slot: 0, or -1 out of memory. Restoring into an empty table: the same
 * slots and free chain, so it hands out the ids the first would (live
 * slots have no object yet: get fails until bind), then bind gives live
 * handle id its object. 0, or -1 (memory, a table not empty, a free chain
 * that is not one, an id not live in it). */
int rm_handles_export(rm_handles_t *t, uint32_t *tag, uint32_t *free_head, rm_handle_slot_t **slots,
                      uint32_t *count);
int rm_handles_import(rm_handles_t *t, uint32_t tag, uint32_t free_head, const rm_handle_slot_t *slots,
                      uint32_t count);
int rm_handles_bind(rm_handles_t *t, uint64_t id, void *ptr);
/* The id of an exported slot (index i, its kind and generation). */
uint64_t rm_handles_slot_id(const rm_handles_t *t, uint32_t kind, uint32_t gen, uint32_t i);

#endif
