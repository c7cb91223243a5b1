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
#include "remora/protocol.h"

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

/* RM_CKPT_SESSION: what lets the client join the restored session (its
 * key: the checkpoint is as secret as the session), what remora status
 * shows, and how far each channel had got. */
typedef struct {
    uint8_t key[RM_KEY_LEN];
    uint32_t tag, pid;
    char host[64], program[64];            /* NUL-terminated */
    uint64_t done[RM_MAX_CHANNELS];        /* incarnation << 32 | seq run, per channel slot */
    uint64_t ctx[RM_MAX_CHANNELS];         /* each channel slot's current context (a handle, 0 none) */
} rm_ckpt_session_t;
#define RM_CKPT_SESSION_BYTES (RM_KEY_LEN + 8 + 128 + 16 * RM_MAX_CHANNELS)

/* The session section: encoded into out (RM_CKPT_SESSION_BYTES), decoded
 * (RM_OK, or RM_ERR_PROTO with c->err). */
void rm_ckpt_session_encode(const rm_ckpt_session_t *s, uint8_t *out);
rm_status rm_ckpt_session_decode(rm_ckpt_t *c, const void *data, uint64_t len, rm_ckpt_session_t *s);
/* Open a checkpoint and read its session section (the first): what the
 * listener needs to take the session in, without reading the rest.
 * RM_OK, or an error with c->err. */
rm_status rm_ckpt_read_session(rm_ckpt_t *c, const char *dir, rm_ckpt_header_t *h, rm_ckpt_session_t *s);

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
