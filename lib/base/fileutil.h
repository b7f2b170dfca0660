/* Bounded reads and atomic writes of small files. */
#ifndef SHMPIPE_FILEUTIL_H
#define SHMPIPE_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Reads all of FD into a NUL-terminated buffer; more than MAX bytes is an error. */
int sp_read_fd_capped (int fd, size_t max, const char *what, char **out, size_t *len,
                       sp_error_t *err);

/* openat(DIRFD, PATH, O_RDONLY|O_CLOEXEC|EXTRA_FLAGS) then sp_read_fd_capped. */
int sp_read_file_at (int dirfd, const char *path, int extra_flags, size_t max, char **out,
                     size_t *len, sp_error_t *err);

/* Writes DATA to DIRFD/NAME through a unique temp file in the same directory
   and a rename: readers see the old or the new file, never a torn one. */
int sp_write_file_atomic (int dirfd, const char *name, const char *data, size_t len, mode_t mode,
                          sp_error_t *err);
/* The same, with fault point POINT between the write and the rename (the
   one above uses "state:written"). */
int sp_write_file_atomic_at_point (int dirfd, const char *name, const char *data, size_t len,
                                   mode_t mode, const char *point, sp_error_t *err);

/* mkdir -p PATH (MODE), then opens it: a directory
   of root's state, checked to be owned by us and not group/world-writable
   (it must not be a trap another user laid).  WHAT prefixes errors
   ("store", "definitions").  Returns the fd. */
int sp_open_private_dir (const char *path, mode_t mode, const char *what, sp_error_t *err);

/* mkdir -p for an absolute PATH; the last component gets MODE. */
int sp_mkdir_p (const char *path, mode_t mode, sp_error_t *err);

#endif
