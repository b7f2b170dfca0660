/* lifecycle.c - what shmpipe adds to a container's life: the hook's join and
   leave, the volume plugin's Mount and Unmount, and their memory.  Part of
   `make bench` (tests/bench/run.sh).

     lifecycle hook --hook PATH --root STORE --pipeline NAME [--reps N]
         A stand-in container (a child in its own mount namespace, the shape
         runc gives the hook at createRuntime: not yet pivoted, rootfs a host
         directory); for each repetition the hook run for its createRuntime
         (join + mount on its /dev/shm) and, once that mount is detached
         again, for its poststop (leave), each timed from spawn to exit,
         with the hook's peak RSS (wait4).
         Prints "join US MAXRSS_KB" and "leave US MAXRSS_KB" lines, and
         "exec-true US MAXRSS_KB" for /bin/true spawned the same way (what
         starting any process costs on this machine).

     lifecycle plugin --socket PATH --name NAME [--reps N]
         VolumeDriver.Mount then VolumeDriver.Unmount of volume NAME with a
         fresh ID each time, over the plugin's unix socket, each timed from
         connect to the end of the reply.  Prints "mount US" / "unmount US".

     lifecycle rss PID
         Prints "rss_kb=VmRSS hwm_kb=VmHWM" of PID.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static void
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("lifecycle: ", stderr);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (1);
}

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  if (f == NULL || fputs (text, f) < 0 || fclose (f) != 0)
    die ("%s: %s", path, strerror (errno));
}

/* A stand-in container: a child in a new mount namespace, parked.  */
static pid_t
container_start (void)
{
  int p[2];
  char c;
  if (pipe2 (p, O_CLOEXEC) < 0)
    die ("pipe: %s", strerror (errno));
  pid_t pid = fork ();
  if (pid < 0)
    die ("fork: %s", strerror (errno));
  if (pid == 0)
    {
      if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        _exit (1);
      if (write (p[1], "x", 1) != 1)
        _exit (1);
      for (;;)
        pause ();
    }
  close (p[1]);
  if (read (p[0], &c, 1) != 1)
    die ("the stand-in container did not start");
  close (p[0]);
  return pid;
}

/* Detaches what the hook mounted on stand-in C's SHM, from inside C's mount
   namespace, so that the next join finds it as a new container would. */
static void
container_reset (pid_t c, const char *shm)
{
  char path[64];
  int self = open ("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  snprintf (path, sizeof (path), "/proc/%d/ns/mnt", (int) c);
  int ns = open (path, O_RDONLY | O_CLOEXEC);
  if (self < 0 || ns < 0 || setns (ns, CLONE_NEWNS) < 0)
    die ("enter the stand-in's mount namespace: %s", strerror (errno));
  if (umount2 (shm, MNT_DETACH) < 0)
    die ("umount %s in the stand-in: %s", shm, strerror (errno));
  if (setns (self, CLONE_NEWNS) < 0)
    die ("back to our mount namespace: %s", strerror (errno));
  close (ns);
  close (self);
}

/* Runs ARGV with STDIN_TEXT on its stdin; returns wall ns, *MAXRSS_KB, and
   dies unless it exits 0.  */
static uint64_t
run_timed (char *const argv[], const char *stdin_text, long *maxrss_kb)
{
  int in[2];
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int status;
  struct rusage ru;

  if (pipe2 (in, O_CLOEXEC) < 0)
    die ("pipe: %s", strerror (errno));
  /* The state is small: it fits in the pipe before the hook reads it. */
  size_t len = strlen (stdin_text);
  if (write (in[1], stdin_text, len) != (ssize_t) len)
    die ("write state: %s", strerror (errno));
  close (in[1]);
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, in[0], 0);
  uint64_t t0 = now_ns ();
  int r = posix_spawn (&pid, argv[0], &fa, NULL, argv, environ);
  if (r != 0)
    die ("spawn %s: %s", argv[0], strerror (r));
  if (wait4 (pid, &status, 0, &ru) < 0)
    die ("wait: %s", strerror (errno));
  uint64_t t1 = now_ns ();
  posix_spawn_file_actions_destroy (&fa);
  close (in[0]);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    die ("%s exited with status %d", argv[0],
         WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
  *maxrss_kb = ru.ru_maxrss;
  return t1 - t0;
}

static int
cmd_hook (const char *hook, const char *root, const char *pipeline, int reps)
{
  char tmpl[] = "/tmp/shmpipe-lifecycle.XXXXXX", path[4096], cfg[8192], state[8192], id[64];
  char *dir = mkdtemp (tmpl);
  if (dir == NULL)
    die ("mkdtemp: %s", strerror (errno));
  snprintf (path, sizeof (path), "%s/rootfs", dir);
  mkdir (path, 0755);
  snprintf (path, sizeof (path), "%s/rootfs/dev", dir);
  mkdir (path, 0755);
  snprintf (path, sizeof (path), "%s/rootfs/dev/shm", dir);
  mkdir (path, 01777);
  snprintf (cfg, sizeof (cfg),
            "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s/rootfs\"},"
            "\"process\":{\"args\":[\"/bin/true\"],\"env\":[\"PATH=/bin\"]},"
            "\"annotations\":{\"io.shmpipe.pipeline\":\"%s\"}}\n",
            dir, pipeline);
  snprintf (path, sizeof (path), "%s/config.json", dir);
  write_file (path, cfg);

  char *join_argv[] = { (char *) hook, "--root", (char *) root, "createRuntime", NULL };
  char *leave_argv[] = { (char *) hook, "--root", (char *) root, "poststop", NULL };
  char shm[4200];
  /* One stand-in for all repetitions, its /dev/shm reset after each join: a
     stand-in per repetition would copy the host's mount table at its start
     and have the kernel tear it down after its end, in the background,
     under the timings that follow (with thousands of pipelines mounted,
     that work, which every container on the host pays, hook or not, would
     be what these rows measure). */
  pid_t c = container_start ();
  snprintf (shm, sizeof (shm), "%s/rootfs/dev/shm", dir);
  for (int i = 0; i < reps; i++)
    {
      long rss_j, rss_l;
      snprintf (id, sizeof (id), "bench-%d-%d", (int) getpid (), i);
      snprintf (state, sizeof (state),
                "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"status\":\"creating\",\"pid\":%d,"
                "\"bundle\":\"%s\"}",
                id, (int) c, dir);
      uint64_t tj = run_timed (join_argv, state, &rss_j);
      container_reset (c, shm);
      snprintf (state, sizeof (state),
                "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"status\":\"stopped\",\"bundle\":\"%s\"}",
                id, dir);
      uint64_t tl = run_timed (leave_argv, state, &rss_l);
      /* For scale: what any process start costs here. */
      long rss_t;
      char *true_argv[] = { "/bin/true", NULL };
      uint64_t tt = run_timed (true_argv, "", &rss_t);
      printf ("join %.1f %ld\nleave %.1f %ld\nexec-true %.1f %ld\n", (double) tj / 1e3, rss_j,
              (double) tl / 1e3, rss_l, (double) tt / 1e3, rss_t);
      fflush (stdout);
    }
  kill (c, SIGKILL);
  waitpid (c, NULL, 0);
  snprintf (path, sizeof (path), "rm -rf --one-file-system '%s'", dir);
  if (system (path) != 0)
    fprintf (stderr, "lifecycle: could not remove %s\n", dir);
  return 0;
}

/* One HTTP/1.1 POST over a unix socket; returns wall ns; the body of the
   reply must contain "\"Err\":\"\"" or a Mountpoint. */
static uint64_t
post (const char *sock, const char *endpoint, const char *body)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  char req[1024], resp[4096];
  size_t n = 0;

  if (strlen (sock) >= sizeof (a.sun_path))
    die ("socket path too long");
  strcpy (a.sun_path, sock);
  int len = snprintf (req, sizeof (req),
                      "POST %s HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                      endpoint, strlen (body), body);
  uint64_t t0 = now_ns ();
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof (a)) < 0)
    die ("connect %s: %s", sock, strerror (errno));
  if (write (fd, req, (size_t) len) != len)
    die ("write: %s", strerror (errno));
  for (;;)
    {
      ssize_t r = read (fd, resp + n, sizeof (resp) - 1 - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        die ("read: %s", strerror (errno));
      if (r == 0 || (n += (size_t) r) == sizeof (resp) - 1)
        break;
    }
  uint64_t t1 = now_ns ();
  close (fd);
  resp[n] = '\0';
  if (strncmp (resp, "HTTP/1.1 200", 12) != 0
      || (strstr (resp, "\"Err\":\"") != NULL && strstr (resp, "\"Err\":\"\"") == NULL))
    die ("%s: %s", endpoint, resp);
  return t1 - t0;
}

static int
cmd_plugin (const char *sock, const char *name, int reps)
{
  char body[512];
  for (int i = 0; i < reps; i++)
    {
      snprintf (body, sizeof (body), "{\"Name\":\"%s\",\"ID\":\"bench%08x%04d\"}", name,
                (unsigned) getpid (), i);
      uint64_t tm = post (sock, "/VolumeDriver.Mount", body);
      uint64_t tu = post (sock, "/VolumeDriver.Unmount", body);
      printf ("mount %.1f\nunmount %.1f\n", (double) tm / 1e3, (double) tu / 1e3);
      fflush (stdout);
    }
  return 0;
}

static int
cmd_rss (const char *pid)
{
  char path[64], line[256];
  long rss = -1, hwm = -1;
  snprintf (path, sizeof (path), "/proc/%s/status", pid);
  FILE *f = fopen (path, "r");
  if (f == NULL)
    die ("%s: %s", path, strerror (errno));
  while (fgets (line, sizeof (line), f) != NULL)
    {
      if (strncmp (line, "VmRSS:", 6) == 0)
        rss = strtol (line + 6, NULL, 10);
      else if (strncmp (line, "VmHWM:", 6) == 0)
        hwm = strtol (line + 6, NULL, 10);
    }
  fclose (f);
  printf ("rss_kb=%ld hwm_kb=%ld\n", rss, hwm);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *hook = NULL, *root = NULL, *pipeline = NULL, *sock = NULL, *name = NULL;
  int reps = 30;

  if (argc == 3 && strcmp (argv[1], "rss") == 0)
    return cmd_rss (argv[2]);
  if (argc < 2)
    goto usage;
  for (int i = 2; i + 1 < argc; i += 2)
    {
      const char *k = argv[i], *v = argv[i + 1];
      if (strcmp (k, "--hook") == 0)
        hook = v;
      else if (strcmp (k, "--root") == 0)
        root = v;
      else if (strcmp (k, "--pipeline") == 0)
        pipeline = v;
      else if (strcmp (k, "--socket") == 0)
        sock = v;
      else if (strcmp (k, "--name") == 0)
        name = v;
      else if (strcmp (k, "--reps") == 0)
        reps = atoi (v);
      else
        goto usage;
    }
  if (argc % 2 != 0)
    goto usage;
  if (strcmp (argv[1], "hook") == 0 && hook && root && pipeline)
    return cmd_hook (hook, root, pipeline, reps);
  if (strcmp (argv[1], "plugin") == 0 && sock && name)
    return cmd_plugin (sock, name, reps);
usage:
  fputs ("Usage: lifecycle hook --hook PATH --root STORE --pipeline NAME [--reps N]\n"
         "       lifecycle plugin --socket PATH --name NAME [--reps N]\n"
         "       lifecycle rss PID\n",
         stderr);
  return 2;
}
