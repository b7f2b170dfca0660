/* doctor's checks of what processes see: the store from each engine's mount
   namespace, and a process's /dev/shm. */
#include "doctor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "store.h"

static const char *const engine_names[] = { "dockerd", "containerd", "crio", "podman" };

static bool
proc_comm (pid_t pid, char *buf, size_t len)
{
  char path[64];
  cleanup_fclose FILE *f = NULL;

  snprintf (path, sizeof (path), "/proc/%d/comm", (int) pid);
  f = fopen (path, "re");
  if (f == NULL || fgets (buf, (int) len, f) == NULL)
    return false;
  buf[strcspn (buf, "\n")] = '\0';
  return true;
}

/* Every process whose comm is an engine's, up to DOCTOR_MAX_PATHS. */
static void
find_engines (struct doctor *d)
{
  cleanup_dir DIR *dir = opendir ("/proc");
  struct dirent *de;

  while (dir != NULL && (de = readdir (dir)) != NULL && d->n_engine_pids < DOCTOR_MAX_PATHS)
    {
      char comm[64];
      pid_t pid;

      if (!isdigit ((unsigned char) de->d_name[0]))
        continue;
      pid = (pid_t) atoi (de->d_name);
      if (!proc_comm (pid, comm, sizeof (comm)))
        continue;
      for (size_t i = 0; i < sizeof (engine_names) / sizeof (engine_names[0]); i++)
        if (strcmp (comm, engine_names[i]) == 0)
          d->engine_pids[d->n_engine_pids++] = pid;
    }
}

/* PATH as process PID sees it: /proc/PID/root/PATH. */
static int
stat_in (pid_t pid, const char *path, struct stat *st)
{
  char p[4300];

  snprintf (p, sizeof (p), "/proc/%d/root%s", (int) pid, path);
  return stat (p, st);
}

/* doctor looks and never creates: no store root yet is a finding. */
static bool
store_exists (struct doctor *d)
{
  const char *root = sp_store_root_path (d->ctx->cfg, d->ctx->root);
  struct stat st;

  if (stat (root, &st) == 0)
    return true;
  doctor_skip (d, "store", "%s: %s (made at the first pipeline)", root, strerror (errno));
  return false;
}

void
doctor_check_store_visible (struct doctor *d)
{
  cleanup_store struct sp_store store = SP_STORE_INIT;
  sp_error_t err = NULL;
  char **names = NULL, mnt[4096], mp[4200], comm[64];
  size_t n = 0;
  struct stat ours, theirs;
  const char *fix = "make the store root visible to the engine: create it before the engine "
                    "starts, keep it out of the engine's private mounts (systemd "
                    "PrivateTmp/ProtectSystem, a private /run), or make it a shared mount";

  if (!store_exists (d))
    return;
  if (sp_store_open (&store, d->ctx->cfg, d->ctx->root, &err) < 0)
    {
      doctor_fail (d, "store", "fix the store root (--root, or root in the config)", "%s",
                   err->msg);
      sp_error_release (&err);
      return;
    }
  if (d->n_engine_pids == 0)
    find_engines (d);
  if (d->n_engine_pids == 0)
    {
      doctor_skip (d, "store", "no engine process found (dockerd, containerd, crio, podman)");
      return;
    }
  snprintf (mnt, sizeof (mnt), "%s/mnt", store.root);
  if (stat (mnt, &ours) < 0 || sp_store_list (&store, &names, &n, &err) < 0)
    {
      doctor_fail (d, "store", "run `shmpipectl gc`", "%s: %s", mnt,
                   err != NULL ? err->msg : strerror (errno));
      sp_error_release (&err);
      return;
    }
  for (size_t i = 0; i < d->n_engine_pids; i++)
    {
      pid_t pid = d->engine_pids[i];
      size_t bad = 0;
      const char *first_bad = NULL;

      if (!proc_comm (pid, comm, sizeof (comm)))
        {
          doctor_fail (d, "store", "give the pid of a running engine",
                       "engine pid %d: no such process", (int) pid);
          continue;
        }
      if (stat_in (pid, mnt, &theirs) < 0 || theirs.st_dev != ours.st_dev
          || theirs.st_ino != ours.st_ino)
        {
          doctor_fail (d, "store", fix, "%s (pid %d) does not see %s from its mount namespace",
                       comm, (int) pid, mnt);
          continue;
        }
      /* Each pipeline's tmpfs, not only the directory: a mount made after the
         engine's namespace was cut off from ours shows as an empty dir. */
      for (size_t j = 0; j < n; j++)
        {
          struct stat a, b;
          if (sp_store_mountpoint (&store, names[j], mp, sizeof (mp)) < 0)
            continue;
          if (stat (mp, &a) == 0 && (stat_in (pid, mp, &b) < 0 || a.st_dev != b.st_dev))
            {
              bad++;
              if (first_bad == NULL)
                first_bad = names[j];
            }
        }
      if (bad > 0)
        doctor_fail (d, "store", fix,
                     "%s (pid %d) does not see the tmpfs of %zu of %zu pipelines (%s, ...)", comm,
                     (int) pid, bad, n, first_bad);
      else
        doctor_ok (d, "store", "%s (pid %d) sees %s and the tmpfs of all %zu pipelines", comm,
                   (int) pid, store.root, n);
    }
  sp_store_free_names (names, n);
}

/* The parent of PID from /proc/PID/stat, 0 when unknown. */
static pid_t
parent_of (pid_t pid)
{
  char path[64], buf[512];
  cleanup_fclose FILE *f = NULL;
  const char *p;
  int ppid = 0;

  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  f = fopen (path, "re");
  if (f == NULL || fgets (buf, sizeof (buf), f) == NULL || (p = strrchr (buf, ')')) == NULL
      || sscanf (p + 1, " %*c %d", &ppid) != 1)
    return 0;
  return (pid_t) ppid;
}

/* The pipeline with a member whose pid is PID or one of its ancestors. */
static bool
member_pipeline (struct sp_store *s, char **names, size_t n, pid_t pid, char *out, size_t len)
{
  for (pid_t p = pid; p > 1; p = parent_of (p))
    for (size_t i = 0; i < n; i++)
      {
        cleanup_pipeline struct sp_pipeline pl = { 0 };
        sp_error_t err = NULL;
        if (sp_store_get (s, names[i], &pl, &err) < 0)
          {
            sp_error_release (&err);
            continue;
          }
        for (size_t m = 0; m < pl.n_members; m++)
          if (pl.members[m].pid == p)
            {
              snprintf (out, len, "%s", names[i]);
              return true;
            }
      }
  return false;
}

void
doctor_check_pid (struct doctor *d)
{
  cleanup_store struct sp_store store = SP_STORE_INIT;
  sp_error_t err = NULL;
  char **names = NULL, want[128] = "", mp[4200];
  const char *which = NULL;
  size_t n = 0;
  struct stat shm, st;
  pid_t pid = d->pid;

  if (!store_exists (d))
    return;
  if (sp_store_open (&store, d->ctx->cfg, d->ctx->root, &err) < 0
      || sp_store_list (&store, &names, &n, &err) < 0)
    {
      doctor_fail (d, "pid", "fix the store root (--root, or root in the config)", "%s", err->msg);
      sp_error_release (&err);
      return;
    }
  if (stat_in (pid, "/dev/shm", &shm) < 0)
    {
      doctor_fail (d, "pid", "give the pid of a running container process",
                   "pid %d: /proc/%d/root/dev/shm: %s", (int) pid, (int) pid, strerror (errno));
      goto out;
    }
  if (d->pipeline != NULL)
    snprintf (want, sizeof (want), "%s", d->pipeline);
  else
    member_pipeline (&store, names, n, pid, want, sizeof (want));
  /* Which pipeline's superblock it is, if any. */
  for (size_t i = 0; i < n && which == NULL; i++)
    {
      if (sp_store_mountpoint (&store, names[i], mp, sizeof (mp)) == 0 && stat (mp, &st) == 0
          && st.st_dev == shm.st_dev)
        which = names[i];
    }
  if (want[0] != '\0' && which != NULL && strcmp (want, which) == 0)
    doctor_ok (d, "pid", "pid %d's /dev/shm is pipeline %s's tmpfs (same superblock)", (int) pid,
               which);
  else if (want[0] != '\0')
    doctor_fail (d, "pid",
                 "check that the hook runs at createRuntime for this engine (the hooks.d, "
                 "containerd and daemon.json checks above) and that nothing mounts over "
                 "/dev/shm after it (a later shm mount in the spec, --ipc host)",
                 "pid %d's /dev/shm is not pipeline %s's tmpfs (%s)", (int) pid, want,
                 which != NULL ? "it is another pipeline's" : "it is no pipeline's");
  else if (which != NULL)
    doctor_ok (d, "pid",
               "pid %d's /dev/shm is pipeline %s's tmpfs (no member with its pid: a "
               "Docker volume's members have none)",
               (int) pid, which);
  else
    doctor_fail (d, "pid",
                 "start the container with io.shmpipe.pipeline=NAME (or SHMPIPE_PIPELINE=NAME, "
                 "or -v NAME:/dev/shm with the plugin)",
                 "pid %d is no pipeline's member and its /dev/shm is no pipeline's tmpfs",
                 (int) pid);
out:
  sp_store_free_names (names, n);
}
