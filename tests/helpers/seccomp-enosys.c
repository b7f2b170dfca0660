/* seccomp-enosys SYSCALL[,SYSCALL...] CMD [ARGS...]

   Installs a seccomp filter under which the named system calls fail with
   ENOSYS (as on a kernel without them, or under a runtime's seccomp profile
   that does not know them), then execs CMD.  Filters stack: a program that
   loads its own filter later still gets ENOSYS for these.  Tests use it to
   show that shmpipe-hook refuses cleanly when openat2, open_tree or
   move_mount are missing, and never falls back to mounting by path, and that
   without statmount it still checks the propagation (through mountinfo).

   Exit status: 127 when CMD cannot be run, 125 on a usage or seccomp error. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A system call by name, also those newer than Debian 12's libseccomp. */
static int
resolve (const char *name)
{
  int nr = seccomp_syscall_resolve_name (name);

  if (nr == __NR_SCMP_ERROR && strcmp (name, "statmount") == 0)
    nr = 457;
  return nr;
}

int
main (int argc, char **argv)
{
  scmp_filter_ctx ctx;
  char *list, *name, *save = NULL;
  int r;

  if (argc < 3)
    {
      fprintf (stderr, "usage: seccomp-enosys SYSCALL[,SYSCALL...] CMD [ARGS...]\n");
      return 125;
    }
  ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    {
      fprintf (stderr, "seccomp-enosys: seccomp_init failed\n");
      return 125;
    }
  list = strdup (argv[1]);
  if (list == NULL)
    return 125;
  for (name = strtok_r (list, ",", &save); name != NULL; name = strtok_r (NULL, ",", &save))
    {
      int nr = resolve (name);
      if (nr == __NR_SCMP_ERROR)
        {
          fprintf (stderr, "seccomp-enosys: unknown system call \"%s\"\n", name);
          return 125;
        }
      r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), nr, 0);
      if (r < 0)
        {
          fprintf (stderr, "seccomp-enosys: rule for %s: %s\n", name, strerror (-r));
          return 125;
        }
    }
  free (list);
  r = seccomp_load (ctx);
  if (r < 0)
    {
      fprintf (stderr, "seccomp-enosys: load: %s\n", strerror (-r));
      return 125;
    }
  seccomp_release (ctx);
  execv (argv[2], argv + 2);
  fprintf (stderr, "seccomp-enosys: exec %s: %s\n", argv[2], strerror (errno));
  return 127;
}
