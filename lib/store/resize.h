/* Resize's repair, for gc (resize itself is sp_store_change, store.h). */
#ifndef SHMPIPE_RESIZE_H
#define SHMPIPE_RESIZE_H

#include "records.h"

/* A resize killed between its remount and its record leaves the two apart;
   gc calls this on P (REF's record, its lock held).  The mount goes back to
   the record (the resize never completed), or, when what is in use no
   longer fits there, P takes the mount's values (the caller saves it).
   0: they agreed (or no tmpfs is mounted); 1: mount reset; 2: P changed;
   -1: error. */
int sp_resize_repair (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p,
                      sp_error_t *err);

#endif
