#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fault.h"

int
sp_read_fd_capped (int fd, size_t max, const char *what, char **out, size_t *len, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t used = 0, cap = 4096;

  buf = malloc (cap + 1);
  if (buf == NULL)
    return sp_error_sys (err, ENOMEM, "read %s", what);
  for (;;)
    {
      ssize_t r;
      if (used == cap)
        {
          char *nbuf;
          if (cap > max)
            return sp_error_make (err, EFBIG, "read %s: larger than %zu bytes", what, max);
          cap *= 2;
          nbuf = realloc (buf, cap + 1);
          if (nbuf == NULL)
            return sp_error_sys (err, ENOMEM, "read %s", what);
          buf = nbuf;
        }
      r = read (fd, buf + used, cap - used);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return sp_error_sys (err, errno, "read %s", what);
      if (r == 0)
        break;
      used += (size_t) r;
      if (used > max)
        return sp_error_make (err, EFBIG, "read %s: larger than %zu bytes", what, max);
    }
  buf[used] = '\0';
  *out = sp_steal_ptr (&buf);
  if (len != NULL)
    *len = used;
  return 0;
}

int
sp_read_file_at (int dirfd, const char *path, int extra_flags, size_t max, char **out, size_t *len,
                 sp_error_t *err)
{
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | extra_flags);
  if (fd < 0)
    return sp_error_sys (err, errno, "open %s", path);
  return sp_read_fd_capped (fd, max, path, out, len, err);
}

static int
write_all (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (fd, data, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      data += w;
      len -= (size_t) w;
    }
  return 0;
}

int
sp_write_file_atomic (int dirfd, const char *name, const char *data, size_t len, mode_t mode,
                      sp_error_t *err)
{
  return sp_write_file_atomic_at_point (dirfd, name, data, len, mode, "state:written", err);
}

int
sp_write_file_atomic_at_point (int dirfd, const char *name, const char *data, size_t len,
                               mode_t mode, const char *point, sp_error_t *err)
{
  char tmp[PATH_MAX];
  cleanup_close int fd = -1;
  static unsigned seq;

  if (snprintf (tmp, sizeof (tmp), ".%s.tmp.%d.%u", name, (int) getpid (), seq++)
      >= (int) sizeof (tmp))
    return sp_error_sys (err, ENAMETOOLONG, "write %s", name);
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return sp_error_sys (err, errno, "write %s", name);
  /* No fsync: the rename is what makes readers see a whole file, and the
     records describe tmpfs mounts that do not outlive a crash of the host
     anyway (gc repairs what a reboot leaves).  */
  if (write_all (fd, data, len) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return sp_error_sys (err, saved, "write %s", name);
    }
  sp_fault_point (point);
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return sp_error_sys (err, saved, "rename %s", name);
    }
  return 0;
}

int
sp_mkdir_p (const char *path, mode_t mode, sp_error_t *err)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);

  if (len == 0 || len >= sizeof (buf))
    return sp_error_sys (err, ENAMETOOLONG, "mkdir %s", path);
  memcpy (buf, path, len + 1);
  for (char *p = buf + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (buf, 0755) < 0 && errno != EEXIST)
        return sp_error_sys (err, errno, "mkdir %s", buf);
      *p = '/';
    }
  if (mkdir (buf, mode) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "mkdir %s", buf);
  return 0;
}

int
sp_open_private_dir (const char *path, mode_t mode, const char *what, sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (sp_mkdir_p (path, mode, err) < 0)
    return sp_error_prefix (err, "%s", what);
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sp_error_sys (err, errno, "%s %s: open", what, path);
  if (fstat (fd, &st) < 0)
    return sp_error_sys (err, errno, "%s %s: stat", what, path);
  if (st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    return sp_error_make (err, EPERM, "%s %s: must be owned by uid %d and not group/world-writable",
                          what, path, (int) geteuid ());
  return sp_steal_fd (&fd);
}
