/* The checkpoint file (docs/checkpoint-format.md): a header naming the
 * format version and the GPU model, then sections, each zstd-compressed
 * and checked by the SHA-256 of its compressed bytes, then an end section.
 * The reader checks everything before it hands a byte out: a corrupt,
 * truncated, wrong-version or wrong-GPU file is an error with a message,
 * never a partial result. */
#ifndef RM_CKPT_FILE_H
#define RM_CKPT_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "remora/status.h"

#define RM_CKPT_VERSION 2
#define RM_CKPT_FILE "checkpoint.rmck" /* its name in the checkpoint directory */
#define RM_CKPT_GPU_LEN 64
#define RM_CKPT_SECTION_MAX ((uint64_t)256 << 20) /* uncompressed bytes of one section */
#define RM_CKPT_ALLOC_RECORD 40 /* bytes of one allocation in RM_CKPT_ALLOCS */

typedef enum {
    RM_CKPT_END = 0,
    RM_CKPT_ALLOCS = 1, /* the memory manager's allocations (rm_mm_info_t records) */
    RM_CKPT_MEMORY = 2, /* u64 device address, then that memory's bytes */
    RM_CKPT_HANDLES = 3, /* the handle table (ckpt_records.h) */
    RM_CKPT_OBJECTS = 4, /* what each live handle names (ckpt_records.h) */
    RM_CKPT_IMAGE = 5,   /* a module image: its SHA-256, then its bytes */
    RM_CKPT_SESSION = 6, /* who the session is (ckpt_records.h): the first section */
} rm_ckpt_section;

typedef struct {
    uint32_t version;
    uint64_t session;
    char gpu[RM_CKPT_GPU_LEN]; /* device 0's name, NUL-terminated */
} rm_ckpt_header_t;

typedef struct {
    FILE *f;
    uint64_t sections;
    int stream;    /* a migration stream, not a file */
    char err[256]; /* why the last call failed */
} rm_ckpt_t;

/* Writing: open (the header goes first), sections, close (the end section;
 * the file is complete only then: written as DIR/checkpoint.rmck.tmp and
 * renamed). */
rm_status rm_ckpt_create(rm_ckpt_t *c, const char *dir, const rm_ckpt_header_t *h);
rm_status rm_ckpt_put(rm_ckpt_t *c, rm_ckpt_section type, const void *data, uint64_t len);
rm_status rm_ckpt_finish(rm_ckpt_t *c, const char *dir);
/* Give up on a file being written (removes it). */
void rm_ckpt_abort(rm_ckpt_t *c, const char *dir);

/* Reading: open checks the header (magic, version, and the GPU model when
 * gpu is not NULL); next gives each section in turn (*data malloc'd, the
 * caller frees it), RM_CKPT_END at the end (then the file must end too). */
rm_status rm_ckpt_open(rm_ckpt_t *c, const char *dir, const char *gpu, rm_ckpt_header_t *h);
rm_status rm_ckpt_next(rm_ckpt_t *c, rm_ckpt_section *type, void **data, uint64_t *len);
void rm_ckpt_close(rm_ckpt_t *c);

/* A migration stream (remora migrate): the same header and sections on a
 * socket (fd stays the caller's; rm_ckpt_close closes the stream's copy).
 * The writer flushes at the end section and wherever the reader must see
 * everything so far; the reader's end section is the end of the stream
 * (bytes after it are the caller's). */
rm_status rm_ckpt_stream_create(rm_ckpt_t *c, int fd, const rm_ckpt_header_t *h);
rm_status rm_ckpt_stream_end(rm_ckpt_t *c);
rm_status rm_ckpt_flush(rm_ckpt_t *c);
rm_status rm_ckpt_stream_open(rm_ckpt_t *c, int fd, const char *gpu, rm_ckpt_header_t *h);

#endif
