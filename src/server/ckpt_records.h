/* The session-state sections of a checkpoint (docs/checkpoint-format.md),
 * encoded and decoded without a backend, so that the remora command can
 * check and list them: the handle table (RM_CKPT_HANDLES: every slot, live
 * or free, so that a restored table hands out the ids the client holds
 * and no id it held before) and one record per live object
 * (RM_CKPT_OBJECTS: what a restore needs to make it again). */
#ifndef RM_CKPT_RECORDS_H
#define RM_CKPT_RECORDS_H

#include <stdint.h>

#include "ckpt_file.h"
#include "handles.h"

#define RM_CKPT_SLOT_RECORD 16   /* kind (4), generation (4), owner or next free slot (8) */
#define RM_CKPT_OBJ_RECORD 64    /* then the name's bytes */
#define RM_CKPT_NAME_MAX 1024    /* a function's name, bytes */
#define RM_CKPT_CTX_PRIMARY 1u   /* in a context's aux: the device's primary context */

typedef struct {
    uint32_t tag, count, free_head;
    rm_handle_slot_t *slots; /* as rm_handles_export gives them */
} rm_ckpt_table_t;

typedef struct {
    uint64_t id;
    uint32_t kind;  /* rm_hkind: RM_H_CTX, MOD, FUNC, STREAM or EVENT */
    uint32_t flags; /* a context's, stream's or event's */
    int32_t arg;    /* a context's device, a stream's priority */
    uint32_t aux;   /* a context's RM_CKPT_CTX_PRIMARY */
    uint8_t hash[32]; /* a module's image */
    char name[RM_CKPT_NAME_MAX + 1]; /* a function's */
} rm_ckpt_obj_t;

/* malloc'd encodings (*len set), NULL on allocation failure. */
void *rm_ckpt_table_encode(const rm_ckpt_table_t *t, uint64_t *len);
void *rm_ckpt_objs_encode(const rm_ckpt_obj_t *o, uint32_t n, uint64_t *len);
/* Decoding checks every length and value: RM_OK with the result malloc'd
 * (the caller frees t->slots, *o), else RM_ERR_PROTO and c->err says why. */
rm_status rm_ckpt_table_decode(rm_ckpt_t *c, const void *data, uint64_t len, rm_ckpt_table_t *t);
rm_status rm_ckpt_objs_decode(rm_ckpt_t *c, const void *data, uint64_t len, rm_ckpt_obj_t **o, uint32_t *n);
/* "context", "module", ... (the kind's name; "handle" for others). */
const char *rm_ckpt_kind_name(uint32_t kind);

#endif
