/* Call routing between several servers (see route.h). */
#include "route.h"

#include "ctx_current.h"
#include "remora/protocol.h"
#include "session.h"

#define ID_BIT (1ull << 46)         /* set in every server-made id (src/server/handles.c) */
#define ID_LIMIT (1ull << 47)       /* ids look like user-space pointers */

static __thread int pinned = -1;

static int tag_of(uint64_t h, int *srv)
{
    if (!(h & ID_BIT) || h >= ID_LIMIT || (h & 0xf))
        return 0;
    int tag = (int)((h >> RM_HANDLE_TAG_SHIFT) & RM_HANDLE_TAG_MASK);
    if (tag >= rm_session_servers())
        return 0;
    *srv = tag;
    return 1;
}

int rm_route_current(void)
{
    if (pinned >= 0)
        return pinned;
    int srv = 0;
    tag_of((uint64_t)(uintptr_t)rm_ctx_current(), &srv);
    return srv;
}

int rm_route_handle(uint64_t h)
{
    int srv;
    return tag_of(h, &srv) ? srv : rm_route_current();
}

int rm_route_pin(int srv)
{
    int before = pinned;
    pinned = srv;
    return before;
}

void rm_route_unpin(int before) { pinned = before; }
