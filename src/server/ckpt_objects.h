/* A session's objects in a checkpoint (ckpt_records.h): its handle table,
 * one record per context, module, function, stream and event, and each
 * module's image once (RM_CKPT_IMAGE, from the server's image cache). A
 * session holding anything else a handle names (a library, graph, pool,
 * array, texture, VMM handle, IPC event...) cannot be checkpointed yet:
 * saving says which handle. */
#ifndef RM_CKPT_OBJECTS_H
#define RM_CKPT_OBJECTS_H

#include "ckpt_file.h"
#include "sv.h"

/* The session is quiet. Writes RM_CKPT_HANDLES, RM_CKPT_OBJECTS and the
 * images; errors in c->err. n_objects: the records written. */
rm_status rm_ckpt_objects_save(rm_ckpt_t *c, rm_session_t *s, uint32_t *n_objects);

#endif
