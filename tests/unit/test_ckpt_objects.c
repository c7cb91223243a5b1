/* Unit test of a session's objects in a checkpoint: the handle table's
 * export and import (handles.c), the object and table records
 * (ckpt_records.c) and saving a session's objects (ckpt_objects.c), on the
 * fake backend.
 *
 * Table: a table with live and freed slots, exported and imported into a
 * fresh one, answers no id until each is bound, then every id the first
 * answered with the same object, and hands out the same id next; an import
 * into a table in use and a bind of a dead id are refused.
 * Records: they round-trip; cut short, of an unknown kind, with an id of
 * another kind or an overlong name they are refused with a message.
 * Saving: a session's context (primary), stream (flags, priority) and
 * event (flags) are written as records with the handle values the client
 * holds; a session that also holds a graph is refused, naming it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "check.h"
#include "ckpt_objects.h"
#include "ckpt_records.h"
#include "handles.h"
#include "sv.h"

static void table(void)
{
    rm_handles_t a, b;
    rm_handles_init(&a);
    rm_handles_set_tag(&a, 3);
    int obj[6];
    uint64_t id[6];
    for (int i = 0; i < 6; i++)
        CHECK((id[i] = rm_handles_put_owned(&a, i < 3 ? RM_H_STREAM : RM_H_EVENT, &obj[i], i ? id[0] : 0)) != 0);
    CHECK(rm_handles_del(&a, RM_H_STREAM, id[1]) == 0 && rm_handles_del(&a, RM_H_EVENT, id[4]) == 0);
    uint32_t tag, head, count;
    rm_handle_slot_t *slots;
    CHECK(rm_handles_export(&a, &tag, &head, &slots, &count) == 0 && tag == 3 && count == 6 && head == 5);
    rm_handles_init(&b);
    CHECK(rm_handles_import(&b, tag, 1, slots, count) != 0);    /* a chain from a live slot */
    CHECK(rm_handles_import(&b, tag, 2, slots, count) != 0);    /* one missing a free slot */
    slots[1].ptr = (void *)(uintptr_t)1;
    CHECK(rm_handles_import(&b, tag, head, slots, count) != 0); /* through a live slot */
    slots[1].ptr = (void *)(uintptr_t)5;
    CHECK(rm_handles_import(&b, tag, head, slots, count) != 0); /* a loop */
    slots[1].ptr = NULL;
    CHECK(rm_handles_import(&b, tag, head, slots, count) == 0);
    CHECK(rm_handles_import(&b, tag, head, slots, count) != 0); /* not empty */
    void *p;
    CHECK(rm_handles_get(&b, RM_H_STREAM, id[0], &p) != 0); /* not bound yet */
    CHECK(rm_handles_bind(&b, id[1], &obj[1]) != 0);        /* freed */
    for (int i = 0; i < 6; i++)
        if (i != 1 && i != 4)
            CHECK(rm_handles_bind(&b, id[i], &obj[i]) == 0);
    CHECK(rm_handles_bind(&b, id[0], &obj[0]) != 0); /* bound already */
    for (int i = 0; i < 6; i++) {
        rm_hkind k = i < 3 ? RM_H_STREAM : RM_H_EVENT;
        int live = i != 1 && i != 4;
        CHECK((rm_handles_get(&b, k, id[i], &p) == 0) == live);
        CHECK(!live || p == &obj[i]);
        CHECK(!live || i == 0 || rm_handles_owner(&b, id[i]) == id[0]);
    }
    int more;
    CHECK(rm_handles_put(&b, RM_H_EVENT, &more) == rm_handles_put(&a, RM_H_EVENT, &more));
    CHECK(rm_handles_put(&b, RM_H_EVENT, &more) == rm_handles_put(&a, RM_H_EVENT, &more));
    free(slots);
    rm_handles_destroy(&a);
    rm_handles_destroy(&b);
    printf("table ok\n");
}

static rm_ckpt_t C;

static void refused(const void *d, uint64_t len, const char *why)
{
    rm_ckpt_obj_t *o = NULL;
    uint32_t n;
    C.err[0] = 0;
    CHECK(rm_ckpt_objs_decode(&C, d, len, &o, &n) == RM_ERR_PROTO);
    CHECK(strstr(C.err, why) != NULL);
}

static void records(void)
{
    rm_handles_t t;
    rm_handles_init(&t);
    int x;
    rm_ckpt_obj_t o[3] = {
        {.id = rm_handles_put(&t, RM_H_CTX, &x), .kind = RM_H_CTX, .arg = 0, .aux = RM_CKPT_CTX_PRIMARY},
        {.id = rm_handles_put(&t, RM_H_MOD, &x), .kind = RM_H_MOD, .hash = {1, 2, 3}},
        {.id = rm_handles_put(&t, RM_H_FUNC, &x), .kind = RM_H_FUNC, .name = "rm_vector_add"},
    };
    uint64_t len;
    uint8_t *d = rm_ckpt_objs_encode(o, 3, &len);
    CHECK(d);
    rm_ckpt_obj_t *back;
    uint32_t n;
    CHECK(rm_ckpt_objs_decode(&C, d, len, &back, &n) == RM_OK && n == 3);
    CHECK(!memcmp(back, o, sizeof o));
    free(back);
    refused(d, len - 1, "cut short");
    refused(d, 10, "cut short");
    d[8] = 99;
    refused(d, len, "has kind 99");
    d[8] = RM_H_STREAM;
    refused(d, len, "is not a stream's");
    d[8] = RM_H_CTX;
    d[64 + 56] = 0xff, d[64 + 57] = 0xff;
    refused(d, len, "names 65535 bytes");
    free(d);
    rm_ckpt_table_t tab = {.tag = 1, .count = 2, .free_head = 2,
                           .slots = (rm_handle_slot_t[2]){{.kind = RM_H_CTX, .gen = 5}}};
    d = rm_ckpt_table_encode(&tab, &len);
    rm_ckpt_table_t got;
    CHECK(d && rm_ckpt_table_decode(&C, d, len, &got) == RM_OK && got.count == 2 && got.tag == 1);
    CHECK(got.slots[0].kind == RM_H_CTX && got.slots[0].gen == 5 && got.slots[1].kind == 0 && got.free_head == 2);
    free(got.slots);
    CHECK(rm_ckpt_table_decode(&C, d, len - 1, &got) == RM_ERR_PROTO && strstr(C.err, "do not match"));
    d[16] = 77;
    CHECK(rm_ckpt_table_decode(&C, d, len, &got) == RM_ERR_PROTO && strstr(C.err, "kind 77"));
    free(d);
    rm_handles_destroy(&t);
    printf("records ok\n");
}

/* Save a session's objects into dir; RM_OK or the error (C.err). */
static rm_status save(rm_session_t *s, const char *dir, uint32_t *n)
{
    rm_ckpt_header_t h = {.session = s->id};
    strcpy(h.gpu, "remora fake GPU");
    CHECK(rm_ckpt_create(&C, dir, &h) == RM_OK);
    rm_status st = rm_ckpt_objects_save(&C, s, n);
    if (st == RM_OK)
        CHECK(rm_ckpt_finish(&C, dir) == RM_OK);
    else
        rm_ckpt_abort(&C, dir);
    return st;
}

static void saving(const char *dir)
{
    static rm_backend_t B;
    rm_backend_fake_fill(&B);
    CHECK(B.cuInit(0) == CUDA_SUCCESS);
    rm_session_t s;
    rm_session_init(&s, &B, 7, 0);
    rm_sv_t sv = {.s = &s, .b = &B};
    CUcontext ctx;
    CUstream st;
    CUevent ev;
    CHECK(B.cuDevicePrimaryCtxRetain(&ctx, 0) == CUDA_SUCCESS && B.cuCtxSetCurrent(ctx) == CUDA_SUCCESS);
    uint64_t ctx_id = rm_sv_handle_put(&sv, RM_H_CTX, ctx);
    s.primary[0] = ctx_id;
    sv.ctx = ctx_id;
    CHECK(B.cuStreamCreateWithPriority(&st, CU_STREAM_NON_BLOCKING, -1) == CUDA_SUCCESS);
    uint64_t st_id = rm_sv_handle_put(&sv, RM_H_STREAM, st);
    CHECK(B.cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING) == CUDA_SUCCESS);
    uint64_t ev_id = rm_sv_handle_put(&sv, RM_H_EVENT, ev);
    rm_sv_recipe(&sv, ev_id, CU_EVENT_DISABLE_TIMING, NULL, 0);
    uint32_t n = 0;
    CHECK(save(&s, dir, &n) == RM_OK && n == 3);

    rm_ckpt_header_t h;
    CHECK(rm_ckpt_open(&C, dir, NULL, &h) == RM_OK && h.version == RM_CKPT_VERSION);
    rm_ckpt_section type;
    void *d;
    uint64_t len;
    rm_ckpt_table_t tab = {0};
    rm_ckpt_obj_t *o = NULL;
    uint32_t no = 0;
    for (;;) {
        CHECK(rm_ckpt_next(&C, &type, &d, &len) == RM_OK);
        if (type == RM_CKPT_END)
            break;
        if (type == RM_CKPT_HANDLES)
            CHECK(rm_ckpt_table_decode(&C, d, len, &tab) == RM_OK);
        if (type == RM_CKPT_OBJECTS)
            CHECK(rm_ckpt_objs_decode(&C, d, len, &o, &no) == RM_OK);
        free(d);
    }
    rm_ckpt_close(&C);
    CHECK(tab.count == 3 && no == 3);
    CHECK(o[0].id == ctx_id && o[0].kind == RM_H_CTX && o[0].arg == 0 && (o[0].aux & RM_CKPT_CTX_PRIMARY));
    CHECK(o[1].id == st_id && o[1].flags == CU_STREAM_NON_BLOCKING && o[1].arg == -1);
    CHECK(o[2].id == ev_id && o[2].flags == CU_EVENT_DISABLE_TIMING);
    CHECK(tab.slots[1].owner == ctx_id && tab.slots[2].owner == ctx_id);
    free(o);
    free(tab.slots);

    CUgraph g;
    CHECK(B.cuGraphCreate(&g, 0) == CUDA_SUCCESS);
    uint64_t g_id = rm_sv_handle_put(&sv, RM_H_GRAPH, g);
    CHECK(save(&s, dir, &n) == RM_ERR_NOT_SUPPORTED && strstr(C.err, "holds a graph"));
    char want[64];
    snprintf(want, sizeof want, "%#llx", (unsigned long long)g_id);
    CHECK(strstr(C.err, want) != NULL);
    B.cuGraphDestroy(g);
    B.cuEventDestroy_v2(ev);
    B.cuStreamDestroy_v2(st);
    rm_session_destroy(&s);
    printf("saving ok\n");
}

int main(void)
{
    table();
    records();
    char dir[] = "/tmp/remora-ckpt-objects.XXXXXX";
    CHECK(mkdtemp(dir));
    saving(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return 0;
}
