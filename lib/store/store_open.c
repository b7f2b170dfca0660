/* Opening the store (its root, directories and ownership check), and the
   config's limits for new pipelines. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileutil.h"
#include "macro.h"
#include "resources.h"

static int
open_subdir (int root_fd, const char *root, const char *sub, mode_t mode, sp_error_t *err)
{
  int fd;

  if (mkdirat (root_fd, sub, mode) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "store %s: mkdir %s", root, sub);
  fd = openat (root_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return sp_error_sys (err, errno, "store %s: open %s", root, sub);
  return fd;
}

const char *
sp_store_root_path (const struct sp_config *cfg, const char *root)
{
  if (root == NULL || *root == '\0')
    root = getenv ("SHMPIPE_ROOT");
  if (root == NULL || *root == '\0')
    root = cfg->root != NULL ? cfg->root : SP_DEFAULT_ROOT;
  return root;
}

int
sp_store_open (struct sp_store *s, const struct sp_config *cfg, const char *root, sp_error_t *err)
{
  struct stat st;

  *s = (struct sp_store) SP_STORE_INIT;
  s->cfg = cfg;
  root = sp_store_root_path (cfg, root);
  if (root[0] != '/')
    return sp_error_make (err, EINVAL, "store %s: root must be an absolute path", root);
  s->root = strdup (root);
  if (s->root == NULL)
    return sp_error_sys (err, ENOMEM, "store %s", root);
  if (sp_mkdir_p (root, 0755, err) < 0)
    return sp_error_prefix (err, "store");
  s->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->root_fd < 0)
    return sp_error_sys (err, errno, "store %s: open", root);
  /* Records and locks are root's business; the store must not be a trap
     another user laid. */
  if (fstat (s->root_fd, &st) < 0)
    return sp_error_sys (err, errno, "store %s: stat", root);
  if (st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    return sp_error_make (err, EPERM,
                          "store %s: must be owned by uid %d and not group/world-writable", root,
                          (int) geteuid ());
  s->state_fd = open_subdir (s->root_fd, root, "state", 0755, err);
  if (s->state_fd < 0)
    return -1;
  s->locks_fd = open_subdir (s->root_fd, root, "locks", 0700, err);
  if (s->locks_fd < 0)
    return -1;
  for (size_t i = 0; i < SP_RES_COUNT; i++)
    {
      int *fd = (int *) ((char *) s + sp_resources[i].dir_fd);
      *fd = open_subdir (s->root_fd, root, sp_resources[i].subdir, 0755, err);
      if (*fd < 0)
        return -1;
    }
  return 0;
}

void
sp_store_close (struct sp_store *s)
{
  int *fds[] = { &s->root_fd, &s->state_fd, &s->locks_fd, &s->mnt_fd, &s->ipc_fd, &s->sockets_fd };

  for (size_t i = 0; i < ARRAY_SIZE (fds); i++)
    sp_close (fds[i]);
  free (s->root);
  s->root = NULL;
}

void
sp_store_closep (struct sp_store *s)
{
  sp_store_close (s);
}

int
sp_store_check_opts (const struct sp_store *s, const char *name, const struct sp_pipeline_opts *o,
                     sp_error_t *err)
{
  char want[32], max[32];
  const char *file = sp_config_file (s->cfg);

  if (o->size > s->cfg->max_size)
    {
      sp_format_size (o->size, want, sizeof (want));
      sp_format_size (s->cfg->max_size, max, sizeof (max));
      sp_error_make (err, EINVAL, "size %s exceeds the configured maximum %s (max_size in %s)",
                     want, max, file);
    }
  else if (o->size < SP_SIZE_MIN)
    sp_error_make (err, EINVAL, "size below %llu bytes", SP_SIZE_MIN);
  else if (o->inodes == 0 || o->inodes > s->cfg->max_inodes)
    sp_error_make (err, EINVAL, "inodes %llu outside 1..%llu (max_inodes in %s)",
                   (unsigned long long) o->inodes, (unsigned long long) s->cfg->max_inodes, file);
  else if (o->mode > 07777)
    sp_error_make (err, EINVAL, "invalid mode %o", (unsigned) o->mode);
  else
    return 0;
  return sp_error_wrap_pipeline (err, name);
}
