/* Recipes of a session's objects (recipes.h). */
#include "recipes.h"

#include <stdlib.h>
#include <string.h>

void rm_recipes_init(rm_recipes_t *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
}

void rm_recipes_destroy(rm_recipes_t *r)
{
    free(r->v);
    pthread_mutex_destroy(&r->lock);
}

/* Keep only the entries whose handles are live (an id, once dead, is never
 * live again: its slot's next handle has another generation). */
static void prune(rm_recipes_t *r, rm_handles_t *t)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        void *p;
        if (rm_handles_get(t, rm_handles_kind(r->v[i].id), r->v[i].id, &p) == 0)
            r->v[k++] = r->v[i];
    }
    r->n = k;
}

int rm_recipes_put(rm_recipes_t *r, rm_handles_t *t, const rm_recipe_t *how)
{
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap)
        prune(r, t);
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? 2 * r->cap : 32;
        rm_recipe_t *v = realloc(r->v, cap * sizeof *v);
        if (v)
            r->v = v, r->cap = cap;
        else
            rc = -1;
    }
    if (rc == 0)
        r->v[r->n++] = *how;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int rm_recipes_get(rm_recipes_t *r, uint64_t id, rm_recipe_t *how)
{
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    for (uint32_t i = r->n; i-- > 0;) /* the newest first */
        if (r->v[i].id == id) {
            *how = r->v[i];
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&r->lock);
    return rc;
}
