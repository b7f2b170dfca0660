#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

int
sp_proc_parse_stat (const char *buf, uint64_t *start_time)
{
  /* comm may hold spaces and parentheses: fields resume after the last ')'. */
  const char *p = strrchr (buf, ')');
  unsigned long long v;
  char *end;

  if (p == NULL)
    return -1;
  p++;
  /* After ')' come fields 3..; starttime is field 22, the 20th of those. */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p + 1, ' ');
      if (p == NULL)
        return -1;
    }
  errno = 0;
  v = strtoull (p + 1, &end, 10);
  if (errno != 0 || end == p + 1 || (*end != ' ' && *end != '\n' && *end != '\0'))
    return -1;
  *start_time = v;
  return 0;
}

int
sp_proc_start_time (pid_t pid, uint64_t *out)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;

  if (pid <= 0)
    return -1;
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return sp_proc_parse_stat (buf, out);
}

bool
sp_proc_alive (pid_t pid, uint64_t start_time)
{
  uint64_t now;

  if (sp_proc_start_time (pid, &now) < 0)
    return false;
  return start_time == 0 || now == start_time;
}
