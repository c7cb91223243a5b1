/* Client: the export tables cuGetExportTable hands out. The tables are data
 * generated from proto/export_tables.spec (gen/rm_xtables.c); the entries
 * remora answers are small handlers (xt_runtime.c, ctx.c). */
#ifndef RM_XT_H
#define RM_XT_H

#include <stdint.h>

typedef struct {
    uint8_t uuid[16];
    const char *name;
    const void *const *entries; /* what the caller gets; [0] the size unless marked nosize */
    unsigned count;
} rm_xt_table_t;

extern const rm_xt_table_t rm_xt_tables[]; /* sorted by UUID */
extern const unsigned rm_xt_table_count;

const rm_xt_table_t *rm_xt_find(const uint8_t uuid[16]);
const rm_xt_table_t *rm_xt_named(const char *name);

/* The body of every generated entry nobody has studied: logs the table,
 * the index and the raw arguments; CUDA_ERROR_NOT_SUPPORTED. */
int rm_xt_unknown(const rm_xt_table_t *t, unsigned index, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4, uint64_t a5);

/* Context-local storage: run and drop the destructors of what the runtime
 * stored for ctx (the context is being destroyed or reset). */
void rm_xt_cls_context_gone(uint64_t ctx);
/* Whether anything is stored for any context. */
int rm_xt_cls_in_use(void);

#endif
