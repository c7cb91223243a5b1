/* Which server a call goes to when REMORA_SERVER lists several. Each
 * server's handle ids carry its index in the list (RM_HANDLE_TAG_SHIFT), so
 * a call that names a handle goes to the server that made it; one that
 * names a device goes to the device's server (device.h); any other call
 * goes to the server of the thread's current context, or to the first
 * server while the thread has none. */
#ifndef RM_CL_ROUTE_H
#define RM_CL_ROUTE_H

#include <stdint.h>

/* The server that made handle h; the current one for NULL, the special
 * stream values and anything that is not a remora id. */
int rm_route_handle(uint64_t h);
/* The server of the calling thread's current context (or the pinned one). */
int rm_route_current(void);
/* Until rm_route_unpin, the calling thread's calls without a handle or a
 * device go to srv (for cuInit's per-server calls and for making a context
 * current or not on one server). Returns what was pinned before (-1 none). */
int rm_route_pin(int srv);
void rm_route_unpin(int before);

#endif
