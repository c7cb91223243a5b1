/* remora-server --metrics ADDR: Prometheus metrics over HTTP, from the same
 * records `remora status` gets (the listener's session table and the
 * sessions' shared counters, counters.h). The listener serves one scrape at
 * a time inside its poll loop; a scraper that does not send its request
 * within a second is dropped. */
#ifndef RM_METRICS_H
#define RM_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "counters.h"
#include "remora/protocol.h"
#include "remora/status.h"

/* The text exposition of these sessions (c[i]: session v[i]'s counters,
 * for its per-GPU figures) into w. */
void rm_metrics_render(rm_wbuf_t *w, const rm_status_session_t *v, const rm_counters_t *const *c, uint32_t n);

/* "HOST:PORT" or "tcp://HOST:PORT" (port 0 picks one) as a tcp:// address;
 * RM_ERR_ADDR for anything else. */
rm_status rm_metrics_address(const char *addr, char *out, size_t len);

/* Read one HTTP request from fd (a second at most) and answer it: 200 and
 * body for GET /metrics (and /), 404 for other paths, 405 for other
 * methods, 400 for what is not HTTP. Does not close fd. */
void rm_metrics_answer(int fd, const char *body, size_t len);

#endif
