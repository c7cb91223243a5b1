/* remora wire protocol: framing and handshake (shared by client and server).
 *
 * Little-endian, versioned. A connection starts with a fixed-size hello from
 * the client and a welcome from the server, on the raw socket. After that,
 * the transport stream carries messages: a 24-byte header followed by
 * `len` payload bytes encoded by the generated codec (proto/cuda.spec).
 * Requests flagged RM_MSG_ASYNC get no reply; their errors are kept by the
 * server and reported in the `deferred` field of the next reply. */
#ifndef REMORA_PROTOCOL_H
#define REMORA_PROTOCOL_H

#include <stdint.h>

#define RM_PROTO_MAGIC 0x524f4d52u /* "RMOR" */
#define RM_PROTO_VERSION 9u
#define RM_MAX_MSG (256u << 20)   /* payload bytes; larger is a protocol error */
#define RM_CHUNK (8u << 20)       /* bulk data is sent in messages of at most this */
#define RM_DEFAULT_PORT 14833
#define RM_DEFAULT_SERVER "tcp://127.0.0.1:14833" /* where clients look without REMORA_SERVER */

/* RM_MSG_OUTPUT: a frame the server sends before a reply, holding what the
 * session's device code printed (the client writes it to its stdout). */
/* RM_MSG_MOVED: the session was migrated (remora migrate): the frame's
 * payload is the address (NUL-terminated) where it runs now; the message
 * it answers and every later one were not run here (the client joins the
 * session there and sends them again). */
enum { RM_MSG_ASYNC = 1u << 0, RM_MSG_REPLY = 1u << 1, RM_MSG_OUTPUT = 1u << 2, RM_MSG_MOVED = 1u << 3 };

typedef struct {
    uint32_t len;      /* payload bytes after this header */
    uint16_t op;       /* rm_op */
    uint16_t flags;    /* RM_MSG_* */
    uint32_t seq;      /* per-channel sequence number, echoed in the reply */
    uint32_t status;   /* reply: CUresult of the call */
    uint32_t deferred; /* reply: first error of earlier async calls, 0 if none */
    uint32_t reserved;
} rm_msg_hdr_t;

/* Feature bits exchanged in the handshake. RM_FEAT_STATUS in a hello asks
 * for the server's status instead of a session (see rm_status_session_t);
 * RM_FEAT_TLS in a hello says the client dialled tls://: its hello and
 * welcome travel inside a TLS connection of their own, then the stream
 * inside another; in a hello in clear it marks a client that dialled the
 * wrong scheme (or an older one), refused with a message. RM_FEAT_CHECKPOINT in a
 * hello (remora checkpoint) asks the worker of session_id for a checkpoint
 * (rm_ckpt_request_t after the welcome, rm_ckpt_reply_t back).
 * RM_FEAT_RESTORE in a hello (remora restore, or a client whose server
 * died, REMORA_RESTORE_FROM) asks the server to recreate the session
 * checkpointed in a directory (the same request and reply). RM_FEAT_RESUME
 * in a hello that joins a session says the channel was connected to the
 * session before (its server died): the welcome's resume_done says what
 * the restored session ran of that channel. RM_FEAT_MIGRATE in a hello
 * (remora migrate, to the source server) asks the worker of session_id to
 * move the session (rm_migrate_request_t after the welcome,
 * rm_migrate_reply_t back); with RM_FEAT_RESTORE too (the hello the
 * source's worker sends the target) it asks for a session made from the
 * migration stream that follows the welcome (docs/checkpoint-format.md),
 * with the hello's session id and key.
 * RM_FEAT_MIGRATABLE in a channel's hello says the client keeps what it
 * sent until answered (REMORA_MIGRATABLE=1) and can follow an
 * RM_MSG_MOVED frame: a session migrates only when all its channels do.
 * RM_FEAT_UCX in a hello says the
 * client dialled ucx://: after the welcome the two sides swap UCP worker
 * addresses on the socket (src/transport/ucx.c); a listener of another
 * scheme refuses it with a message, and a ucx:// listener a hello without it. */
enum {
    RM_FEAT_SHM_SEGMENT = 1u << 0,
    RM_FEAT_STATUS = 1u << 1,
    RM_FEAT_TLS = 1u << 2,
    RM_FEAT_CHECKPOINT = 1u << 3,
    RM_FEAT_RESTORE = 1u << 4,
    RM_FEAT_RESUME = 1u << 5,
    RM_FEAT_UCX = 1u << 6,
    RM_FEAT_MIGRATE = 1u << 7,
    RM_FEAT_MIGRATABLE = 1u << 8,
};

#define RM_TOKEN_MAX 128
#define RM_KEY_LEN 16
#define RM_MAX_CHANNELS 1024 /* channels of one session that fences can name */

/* A client may use several servers at once (REMORA_SERVER=a,b): each
 * server's handle ids carry the index of that server in the client's list,
 * its "tag", so the client can tell from a handle which server made it and
 * send the call there. The tag lives in bits 38..40 of every id. */
#define RM_MAX_SERVERS 8
#define RM_HANDLE_TAG_SHIFT 38
#define RM_HANDLE_TAG_MASK 0x7u

/* Client -> server, first bytes on every connection. `magic` and `version`
 * come first so that any version can be told apart and answered. */
typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t features;
    uint32_t pid;
    uint32_t channel;                 /* slot of this channel, < RM_MAX_CHANNELS (see fence) */
    uint32_t incarnation;             /* how many channels have used that slot before */
    uint64_t session_id;              /* 0: new session; else join it (another thread) */
    uint8_t session_key[RM_KEY_LEN];  /* proves the joiner owns the session */
    char token[RM_TOKEN_MAX];         /* REMORA_TOKEN, NUL-padded */
    char host[64];
    char program[64];
    uint32_t handle_tag;              /* a new session's ids carry it (RM_HANDLE_TAG_SHIFT) */
    uint32_t reserved;
} rm_hello_t;

/* Server -> client answer to a hello. */
typedef struct {
    uint32_t magic;
    uint32_t version;  /* the server's protocol version */
    uint32_t status;   /* rm_status: RM_OK, RM_ERR_AUTH, RM_ERR_VERSION, ... */
    uint32_t features;
    uint64_t session_id;
    uint8_t session_key[RM_KEY_LEN];
    char message[128]; /* human-readable reason when status != RM_OK */
    /* To an RM_FEAT_RESUME hello: the last message of the hello's channel
     * (slot, incarnation) that the checkpoint the session was restored
     * from had run, as incarnation << 32 | seq; RM_RESUME_NONE: none. */
    uint64_t resume_done;
} rm_welcome_t;
#define RM_RESUME_NONE UINT64_MAX

/* The answer to a status hello (remora status): after an RM_OK welcome,
 * a uint32_t count, then that many records, one per live session. Counters
 * are the server's view: calls are request messages, bytes_in what the
 * client sent, bytes_out what it was sent (message bytes; copies through
 * shared segments are not in them); mem_bytes is the device memory the
 * session holds (allocations, module globals, mappings); mem_limit the most
 * it may hold on one GPU (the highest of its per-GPU limits; 0: none);
 * compute_share the same for its compute share in percent (0: none),
 * compute_pinned 1 if it never gets more (no lending), gpu_busy_ns the
 * GPU busy time its work took as measured (0 while it has no share on its
 * GPU: then nothing of it is measured), gpu_busy_permille that time in the
 * last window (100 ms) on its busiest GPU, in thousandths of the window. */
typedef struct {
    uint64_t session_id;
    uint64_t start_unix_ms;
    uint64_t mem_bytes;
    uint64_t calls;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t mem_limit;
    uint32_t pid;        /* the client's */
    uint32_t worker_pid; /* the server's process for it */
    uint32_t scheme;     /* rm_scheme of its first channel: 0 tcp, 1 shm */
    uint32_t compute_share;
    char host[64];
    char program[64];
    uint64_t gpu_busy_ns;
    uint32_t gpu_busy_permille;
    uint32_t compute_pinned;
} rm_status_session_t;
_Static_assert(sizeof(rm_status_session_t) == 216, "the status record has no padding");

/* remora checkpoint: the directory to write (on the server's machine,
 * NUL-terminated), and the answer: status (rm_status), what was written and
 * how long the session was paused; message says why when status != RM_OK. */
typedef struct {
    char dir[4096];
} rm_ckpt_request_t;

typedef struct {
    uint32_t status;
    uint32_t allocations;
    uint64_t bytes;    /* device memory saved */
    uint64_t file_bytes;
    uint64_t pause_us; /* from quiet to running again */
    char message[256];
} rm_ckpt_reply_t;
_Static_assert(sizeof(rm_ckpt_reply_t) == 288, "the checkpoint reply has no padding");

/* remora migrate: where the session goes (the target server's listener,
 * tcp:// or shm://), the address its client is told (empty: the same), the
 * target's token, and the most pre-copy rounds (0: RM_MIGRATE_ROUNDS). */
#define RM_MIGRATE_ROUNDS 8
#define RM_MIGRATE_ROUNDS_MAX 16
typedef struct {
    char to[256];
    char client_to[256];
    char token[RM_TOKEN_MAX];
    uint32_t rounds;
    uint32_t reserved;
} rm_migrate_request_t;

/* The answer: status (rm_status) and message as for a checkpoint; per
 * pre-copy round the bytes sent and the dirty bytes left after it, then
 * the bytes sent while the session was quiet, and the pause: from quiet
 * on the source to the client's first channel joined on the target
 * (joined 0: no channel had joined within RM_MIGRATE_JOIN_S; pause_us is
 * then to the target's readiness). */
#define RM_MIGRATE_JOIN_S 30
typedef struct {
    uint32_t status;
    uint32_t rounds;
    uint64_t sent[RM_MIGRATE_ROUNDS_MAX];
    uint64_t dirty[RM_MIGRATE_ROUNDS_MAX];
    uint64_t final_bytes;
    uint64_t pause_us;
    uint32_t allocations;
    uint32_t joined;
    char message[256];
} rm_migrate_reply_t;
_Static_assert(sizeof(rm_migrate_reply_t) == 544, "the migrate reply has no padding");

#endif
