/* Handle-table and object records of a checkpoint (ckpt_records.h). An
 * object record: id (8), kind (4), flags (4), arg (4), aux (4), hash (32),
 * name length (4), zero (4), then the name's bytes (no NUL). */
#include "ckpt_records.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remora/protocol.h"

/* The kind bits of an id (handles.c, which the remora command does not link). */
#define ID_KIND(id) ((uint32_t)((id) >> 41) & 0x1fu)

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

__attribute__((format(printf, 2, 3))) static rm_status bad(rm_ckpt_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return RM_ERR_PROTO;
}

const char *rm_ckpt_kind_name(uint32_t kind)
{
    switch (kind) {
    case RM_H_CTX: return "context";
    case RM_H_MOD: return "module";
    case RM_H_FUNC: return "function";
    case RM_H_STREAM: return "stream";
    case RM_H_EVENT: return "event";
    case RM_H_LIB: return "library";
    case RM_H_KERN: return "library kernel";
    case RM_H_GRAPH: return "graph";
    case RM_H_GEXEC: return "executable graph";
    case RM_H_POOL: return "memory pool";
    case RM_H_MEMH: return "VMM allocation handle";
    case RM_H_GNODE: return "graph node";
    case RM_H_ARRAY: return "array";
    case RM_H_MIPMAP: return "mipmapped array";
    case RM_H_TEXOBJ: return "texture object";
    case RM_H_SURFOBJ: return "surface object";
    default: return "handle";
    }
}

void *rm_ckpt_table_encode(const rm_ckpt_table_t *t, uint64_t *len)
{
    *len = 16 + (uint64_t)t->count * RM_CKPT_SLOT_RECORD;
    uint8_t *b = malloc(*len), *p = b + 16;
    if (!b)
        return NULL;
    put32(b, t->tag);
    put32(b + 4, t->count);
    put32(b + 8, t->free_head);
    put32(b + 12, 0);
    for (uint32_t i = 0; i < t->count; i++, p += RM_CKPT_SLOT_RECORD) {
        put32(p, t->slots[i].kind);
        put32(p + 4, t->slots[i].gen);
        put64(p + 8, t->slots[i].kind ? t->slots[i].owner : (uint64_t)(uintptr_t)t->slots[i].ptr);
    }
    return b;
}

rm_status rm_ckpt_table_decode(rm_ckpt_t *c, const void *data, uint64_t len, rm_ckpt_table_t *t)
{
    const uint8_t *b = data, *p = b + 16;
    if (len < 16 || (len - 16) % RM_CKPT_SLOT_RECORD || (len - 16) / RM_CKPT_SLOT_RECORD != get32(b + 4))
        return bad(c, "the handle table section has %llu bytes, which do not match its count", (unsigned long long)len);
    rm_ckpt_table_t r = {.tag = get32(b), .count = get32(b + 4), .free_head = get32(b + 8)};
    if (r.tag > RM_HANDLE_TAG_MASK || r.free_head > r.count)
        return bad(c, "the handle table has server tag %u, first free slot %u", r.tag, r.free_head);
    r.slots = calloc(r.count ? r.count : 1, sizeof *r.slots);
    if (!r.slots)
        return bad(c, "no memory for %u handle slots", r.count);
    for (uint32_t i = 0; i < r.count; i++, p += RM_CKPT_SLOT_RECORD) {
        uint32_t kind = get32(p), gen = get32(p + 4);
        uint64_t link = get64(p + 8);
        if (kind > RM_H_SURFOBJ || gen > 0x3ff || (!kind && link > r.count)) {
            free(r.slots);
            return bad(c, "handle slot %u has kind %u, generation %u, link %llu", i, kind, gen,
                       (unsigned long long)link);
        }
        r.slots[i] = kind ? (rm_handle_slot_t){.kind = (uint8_t)kind, .gen = gen, .owner = link}
                          : (rm_handle_slot_t){.gen = gen, .ptr = (void *)(uintptr_t)link};
    }
    *t = r;
    return RM_OK;
}

void *rm_ckpt_objs_encode(const rm_ckpt_obj_t *o, uint32_t n, uint64_t *len)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += RM_CKPT_OBJ_RECORD + strlen(o[i].name);
    uint8_t *b = malloc(total ? total : 1), *p = b;
    if (!b)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nl = (uint32_t)strlen(o[i].name);
        put64(p, o[i].id);
        put32(p + 8, o[i].kind);
        put32(p + 12, o[i].flags);
        put32(p + 16, (uint32_t)o[i].arg);
        put32(p + 20, o[i].aux);
        memcpy(p + 24, o[i].hash, 32);
        put32(p + 56, nl);
        put32(p + 60, 0);
        memcpy(p + RM_CKPT_OBJ_RECORD, o[i].name, nl);
        p += RM_CKPT_OBJ_RECORD + nl;
    }
    *len = total;
    return b;
}

rm_status rm_ckpt_objs_decode(rm_ckpt_t *c, const void *data, uint64_t len, rm_ckpt_obj_t **out, uint32_t *nout)
{
    const uint8_t *p = data, *end = p + len;
    rm_ckpt_obj_t *v = NULL;
    uint32_t n = 0, cap = 0;
    rm_status st = RM_OK;
    while (p < end && st == RM_OK) {
        uint32_t nl = (uint64_t)(end - p) >= RM_CKPT_OBJ_RECORD ? get32(p + 56) : 0;
        if ((uint64_t)(end - p) < RM_CKPT_OBJ_RECORD || nl > RM_CKPT_NAME_MAX ||
            (uint64_t)(end - p) - RM_CKPT_OBJ_RECORD < nl) {
            st = bad(c, "object record %u is cut short or names %u bytes", n, nl);
            break;
        }
        uint32_t kind = get32(p + 8);
        if (kind != RM_H_CTX && kind != RM_H_MOD && kind != RM_H_FUNC && kind != RM_H_STREAM && kind != RM_H_EVENT) {
            st = bad(c, "object record %u has kind %u", n, kind);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            rm_ckpt_obj_t *w = realloc(v, cap * sizeof *w);
            if (!w) {
                st = bad(c, "no memory for %u object records", cap);
                break;
            }
            v = w;
        }
        rm_ckpt_obj_t *o = &v[n++];
        memset(o, 0, sizeof *o);
        o->id = get64(p);
        o->kind = kind;
        o->flags = get32(p + 12);
        o->arg = (int32_t)get32(p + 16);
        o->aux = get32(p + 20);
        memcpy(o->hash, p + 24, 32);
        memcpy(o->name, p + RM_CKPT_OBJ_RECORD, nl);
        if (ID_KIND(o->id) != kind || memchr(o->name, 0, nl))
            st = bad(c, "object record %u: id %#llx is not a %s's", n - 1, (unsigned long long)o->id,
                     rm_ckpt_kind_name(kind));
        p += RM_CKPT_OBJ_RECORD + nl;
    }
    if (st != RM_OK) {
        free(v);
        return st;
    }
    *out = v;
    *nout = n;
    return RM_OK;
}

void rm_ckpt_session_encode(const rm_ckpt_session_t *s, uint8_t *out)
{
    memcpy(out, s->key, RM_KEY_LEN);
    put32(out + RM_KEY_LEN, s->tag);
    put32(out + RM_KEY_LEN + 4, s->pid);
    memcpy(out + RM_KEY_LEN + 8, s->host, 64);
    memcpy(out + RM_KEY_LEN + 72, s->program, 64);
    for (int i = 0; i < RM_MAX_CHANNELS; i++) {
        put64(out + RM_KEY_LEN + 136 + 8 * i, s->done[i]);
        put64(out + RM_KEY_LEN + 136 + 8 * (RM_MAX_CHANNELS + i), s->ctx[i]);
    }
}

rm_status rm_ckpt_session_decode(rm_ckpt_t *c, const void *data, uint64_t len, rm_ckpt_session_t *s)
{
    const uint8_t *p = data;
    if (len != RM_CKPT_SESSION_BYTES)
        return bad(c, "the session section has %llu bytes, not %d", (unsigned long long)len, RM_CKPT_SESSION_BYTES);
    memcpy(s->key, p, RM_KEY_LEN);
    s->tag = get32(p + RM_KEY_LEN);
    s->pid = get32(p + RM_KEY_LEN + 4);
    memcpy(s->host, p + RM_KEY_LEN + 8, 64);
    memcpy(s->program, p + RM_KEY_LEN + 72, 64);
    s->host[63] = s->program[63] = 0;
    for (int i = 0; i < RM_MAX_CHANNELS; i++) {
        s->done[i] = get64(p + RM_KEY_LEN + 136 + 8 * i);
        s->ctx[i] = get64(p + RM_KEY_LEN + 136 + 8 * (RM_MAX_CHANNELS + i));
    }
    if (s->tag > RM_HANDLE_TAG_MASK)
        return bad(c, "the session section names server tag %u", s->tag);
    return RM_OK;
}

rm_status rm_ckpt_read_session(rm_ckpt_t *c, const char *dir, rm_ckpt_header_t *h, rm_ckpt_session_t *s)
{
    rm_status st = rm_ckpt_open(c, dir, NULL, h);
    if (st != RM_OK)
        return st;
    rm_ckpt_section t;
    void *d = NULL;
    uint64_t len;
    if ((st = rm_ckpt_next(c, &t, &d, &len)) == RM_OK)
        st = t == RM_CKPT_SESSION ? rm_ckpt_session_decode(c, d, len, s)
                                  : bad(c, "the checkpoint does not begin with its session section");
    free(d);
    rm_ckpt_close(c);
    return st;
}
