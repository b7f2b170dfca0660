/* Scope-bound ownership of heap memory, fds and streams.  */
#ifndef SHMPIPE_CLEANUP_H
#define SHMPIPE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
sp_cleanup_freep (void *p)
{
  free (*(void **) p);
}

static inline void
sp_cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

/* Both ends of a pipe or socketpair; an end already handed on is -1. */
static inline void
sp_cleanup_close_pairp (int (*pair)[2])
{
  sp_cleanup_closep (&(*pair)[0]);
  sp_cleanup_closep (&(*pair)[1]);
}

static inline void
sp_cleanup_fclosep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
}

static inline void
sp_cleanup_closedirp (DIR **d)
{
  if (*d != NULL)
    closedir (*d);
}

#define cleanup_free __attribute__ ((cleanup (sp_cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (sp_cleanup_closep)))
#define cleanup_close_pair __attribute__ ((cleanup (sp_cleanup_close_pairp)))
#define cleanup_fclose __attribute__ ((cleanup (sp_cleanup_fclosep)))
#define cleanup_dir __attribute__ ((cleanup (sp_cleanup_closedirp)))

/* Closes FD now and marks it closed for its cleanup. */
static inline void
sp_close (int *fd)
{
  sp_cleanup_closep (fd);
  *fd = -1;
}

/* Hands an owned value on: the cleanup of the source then does nothing.  */
static inline int
sp_steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *
sp_steal_ptr (void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}

#endif
