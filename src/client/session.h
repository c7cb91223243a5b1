/* The client process's session with remora-server: where the server is,
 * the handshake, and the session id/key that every thread's channel
 * presents to join the same worker. */
#ifndef RM_CL_SESSION_H
#define RM_CL_SESSION_H

#include <stdint.h>

#include "remora/status.h"
#include "transport.h"

/* How many servers REMORA_SERVER lists (1 when it does not parse: the
 * connection then fails with the reason). */
int rm_session_servers(void);
/* Open a new connection (channel) to the session on server srv (an index
 * into REMORA_SERVER's list), creating the session on first use. Logs a
 * clear reason on failure. */
rm_status rm_session_connect(int srv, uint32_t slot, uint32_t incarnation, rm_conn_t **out, rm_scheme *scheme);
/* REMORA_RESTORE_FROM: the checkpoint directory (on the server's machine)
 * to restore the session from when its server is lost, or NULL. */
const char *rm_session_restore_dir(void);
/* REMORA_MIGRATABLE=1: the program keeps what each thread sent until it
 * is answered (as for REMORA_RESTORE_FROM) and says so in its hellos, so
 * that remora migrate may move its session to another server. */
int rm_session_migratable(void);
/* Either of the two: channels keep a replay log (replay.h). */
int rm_session_resumable(void);
/* The server moved the session to `to` (an RM_MSG_MOVED frame): srv's
 * channels, new ones and those that rejoin, go there from now on (tcp://
 * only: RM_ERR_NOT_SUPPORTED otherwise). Logs what it does. */
rm_status rm_session_moved(int srv, const char *to);
/* Whether srv's session was moved at least once. */
int rm_session_has_moved(int srv);
/* The server of srv was lost: connect this channel (slot, incarnation)
 * again to its session (at its address now: rm_session_moved), asking
 * the server to restore the session from REMORA_RESTORE_FROM, when that is
 * set, if it does not hold it; the server
 * may be starting: tried for REMORA_RESTORE_WAIT seconds (default 60).
 * *resume_done: what the restored session ran of this channel (the
 * welcome's resume_done). Logs why on failure. */
rm_status rm_session_rejoin(int srv, uint32_t slot, uint32_t incarnation, rm_conn_t **out, uint64_t *resume_done);
/* REMORA_CALL_TIMEOUT in seconds; 0 (the default): calls wait forever.
 * Calls the server holds on purpose answer within a second (host-function
 * waits say "not yet" every second), so a deadline is at least 2 s. */
#define RM_CALL_TIMEOUT_MIN_S 2
uint64_t rm_session_call_timeout_s(void);
/* Bumped in a forked child: channels of an older generation are not used. */
unsigned rm_session_generation(void);

#endif
