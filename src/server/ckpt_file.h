/* The checkpoint file (docs/checkpoint-format.md): a header naming the
 * format version and the GPU model, then sections, each zstd-compressed (or
 * stored as it is where zstd would not save a 32nd of it) and checked by the
 * SHA-256 of its stored bytes, then an end section.
 * The reader checks everything before it hands a byte out: a corrupt,
 * truncated, wrong-version or wrong-GPU file is an error with a message,
 * never a partial result. */
#ifndef RM_CKPT_FILE_H
#define RM_CKPT_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "remora/status.h"

#define RM_CKPT_VERSION 3     /* what the writer writes */
#define RM_CKPT_VERSION_OLD 2 /* still read: every section zstd-compressed */
#define RM_CKPT_FILE "checkpoint.rmck" /* its name in the checkpoint directory */
#define RM_CKPT_GPU_LEN 64
#define RM_CKPT_SECTION_MAX ((uint64_t)256 << 20) /* uncompressed bytes of one section */
#define RM_CKPT_ALLOC_RECORD 40 /* bytes of one allocation in RM_CKPT_ALLOCS */
#define RM_CKPT_SECTION_HEAD 56 /* bytes before a section's stored bytes */

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

typedef struct rm_ckpt_ahead rm_ckpt_ahead_t;

typedef struct {
    FILE *f;
    uint64_t sections;
    int stream;             /* a migration stream, not a file */
    uint32_t version;       /* reading: the file's format version */
    rm_ckpt_ahead_t *ahead; /* reading ahead on threads (ckpt_ahead.h), or NULL */
    char err[256];          /* why the last call failed */
} rm_ckpt_t;

/* One section as the file holds it: its header, then len stored bytes at
 * payload (zstd's output in the caller's scratch, or the data itself when
 * stored as it is). */
typedef struct {
    uint8_t head[RM_CKPT_SECTION_HEAD];
    const void *payload;
    uint64_t len;
} rm_ckpt_enc_t;

/* Writing: open (the header goes first), sections, close (the end section;
 * the file is complete only then: written as DIR/checkpoint.rmck.tmp and
 * renamed). */
rm_status rm_ckpt_create(rm_ckpt_t *c, const char *dir, const rm_ckpt_header_t *h);
rm_status rm_ckpt_put(rm_ckpt_t *c, rm_ckpt_section type, const void *data, uint64_t len);
/* rm_ckpt_put in two halves, for encoding on other threads (ckpt_pipe.h):
 * encode touches only its arguments (scratch: rm_ckpt_scratch_bound(len)
 * bytes; err: 256 bytes, why it failed); append writes the section. */
size_t rm_ckpt_scratch_bound(uint64_t len);
rm_status rm_ckpt_encode(rm_ckpt_section type, const void *data, uint64_t len, void *scratch, rm_ckpt_enc_t *out,
                         char *err);
rm_status rm_ckpt_append(rm_ckpt_t *c, const rm_ckpt_enc_t *e);
rm_status rm_ckpt_finish(rm_ckpt_t *c, const char *dir);
/* Give up on a file being written (removes it). */
void rm_ckpt_abort(rm_ckpt_t *c, const char *dir);

/* Reading: open checks the header (magic, version: RM_CKPT_VERSION or
 * RM_CKPT_VERSION_OLD, and the GPU model when gpu is not NULL); next gives each section in turn (*data malloc'd, the
 * caller frees it), RM_CKPT_END at the end (then the file must end too). */
rm_status rm_ckpt_open(rm_ckpt_t *c, const char *dir, const char *gpu, rm_ckpt_header_t *h);
rm_status rm_ckpt_next(rm_ckpt_t *c, rm_ckpt_section *type, void **data, uint64_t *len);
void rm_ckpt_close(rm_ckpt_t *c);

/* rm_ckpt_next in two halves, for reading ahead on other threads
 * (ckpt_ahead.h): read_raw takes the next section off the file (its header
 * checked; after the end section, a file must end: a stream's end section
 * is its end), decode checks its sum
 * and decompresses it into out (it touches only r). Errors go to err (256
 * bytes); on success of both, out (raw bytes) is the caller's to free,
 * else rm_ckpt_raw_free frees what is left. */
typedef struct {
    uint8_t head[RM_CKPT_SECTION_HEAD];
    uint32_t type, enc;
    uint64_t raw, len, index;
    void *in, *out;
} rm_ckpt_raw_t;
rm_status rm_ckpt_read_raw(rm_ckpt_t *c, rm_ckpt_raw_t *r, char *err);
rm_status rm_ckpt_decode(rm_ckpt_raw_t *r, char *err);
void rm_ckpt_raw_free(rm_ckpt_raw_t *r);

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
