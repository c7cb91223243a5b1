/* What the driver cannot tell a checkpoint about a session's objects: the
 * content hash of each module's image and the flags each event was made
 * with, by handle id. The rest (a context's device and flags, a stream's
 * flags and priority, a function's name and module) the driver and the
 * handle table answer when the checkpoint is taken. Entries of handles no
 * longer live are dropped as the table grows. */
#ifndef RM_RECIPES_H
#define RM_RECIPES_H

#include <pthread.h>
#include <stdint.h>

#include "handles.h"
#include "sha256.h"

typedef struct {
    uint64_t id;
    uint32_t flags;                /* an event's */
    uint8_t hash[RM_SHA256_LEN];   /* a module's image */
} rm_recipe_t;

typedef struct {
    pthread_mutex_t lock;
    rm_recipe_t *v;
    uint32_t n, cap;
} rm_recipes_t;

void rm_recipes_init(rm_recipes_t *r);
void rm_recipes_destroy(rm_recipes_t *r);
/* Remember how live handle id of t was made: 0, or -1 out of memory. */
int rm_recipes_put(rm_recipes_t *r, rm_handles_t *t, const rm_recipe_t *how);
/* 0 and *how filled if id has an entry, else -1. */
int rm_recipes_get(rm_recipes_t *r, uint64_t id, rm_recipe_t *how);

#endif
