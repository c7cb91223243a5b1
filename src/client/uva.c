/* Client: reservations of device address ranges (see uva.h). A granule is
 * mapped PROT_NONE while any device range touches it; a count per granule
 * says how many do. */
#include "uva.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define GRANULE ((uint64_t)2 << 20)

typedef struct {
    uint64_t granule; /* index, +1 (0: empty slot) */
    uint32_t count;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t *table;
static size_t cap, used; /* cap a power of two; open addressing */

static size_t hash(uint64_t g) { return (size_t)((g * 0x9e3779b97f4a7c15ull) >> 20); }

static slot_t *find(uint64_t g)
{
    if (!cap)
        return NULL;
    for (size_t i = hash(g) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (table[i].granule == g + 1)
            return &table[i];
        if (!table[i].granule)
            return NULL;
    }
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 1024;
    slot_t *t = calloc(ncap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < cap; i++)
        if (table[i].granule && table[i].count) {
            size_t j = hash(table[i].granule - 1) & (ncap - 1);
            while (t[j].granule)
                j = (j + 1) & (ncap - 1);
            t[j] = table[i];
        }
    free(table);
    table = t;
    cap = ncap;
    used = 0; /* empty granules were dropped */
    for (size_t i = 0; i < cap; i++)
        used += table[i].granule != 0;
    return 0;
}

static slot_t *insert(uint64_t g)
{
    if ((used + 1) * 2 > cap && grow() != 0)
        return NULL;
    size_t i = hash(g) & (cap - 1);
    while (table[i].granule)
        i = (i + 1) & (cap - 1);
    table[i].granule = g + 1;
    used++;
    return &table[i];
}

static int map_granule(uint64_t g)
{
    void *want = (void *)(uintptr_t)(g * GRANULE);
    void *got = mmap(want, GRANULE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                     -1, 0);
    if (got == want)
        return 0;
    if (got != MAP_FAILED)
        munmap(got, GRANULE); /* a kernel without MAP_FIXED_NOREPLACE put it elsewhere */
    return -1;
}

static void unref(uint64_t first, uint64_t last)
{
    for (uint64_t g = first; g <= last; g++) {
        slot_t *s = find(g);
        if (s && s->count && --s->count == 0)
            munmap((void *)(uintptr_t)(g * GRANULE), GRANULE); /* the slot stays as a tombstone */
    }
}

/* A forked child keeps the parent's reservations (its mappings), not a lock
 * some other thread of the parent held. */
static void after_fork_child(void) { pthread_mutex_init(&lock, NULL); }

__attribute__((constructor)) static void install_fork_handler(void) { pthread_atfork(NULL, NULL, after_fork_child); }

int rm_uva_reserve(uint64_t p, size_t n)
{
    if (n == 0)
        return 0;
    uint64_t first = p / GRANULE, last = (p + n - 1) / GRANULE;
    pthread_mutex_lock(&lock);
    int rc = 0;
    uint64_t g;
    for (g = first; g <= last && rc == 0; g++) {
        slot_t *s = find(g);
        if (!s && !(s = insert(g)))
            rc = -1;
        else if (s->count == 0 && map_granule(g) != 0)
            rc = -1;
        else
            s->count++;
    }
    if (rc != 0 && g - 1 > first)
        unref(first, g - 2); /* undo the granules taken before the failure */
    pthread_mutex_unlock(&lock);
    return rc;
}

void rm_uva_release(uint64_t p, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&lock);
    unref(p / GRANULE, (p + n - 1) / GRANULE);
    pthread_mutex_unlock(&lock);
}
