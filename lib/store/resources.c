/* The table of a pipeline's resources, and the walks over it. */
#include "resources.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "definitions.h"
#include "fault.h"
#include "ipcns.h"
#include "quota.h"
#include "tmpfs.h"
#include "totals.h"

/* The pipeline's memory: the mount options of its option table rows. */
static int
tmpfs_make (int dirfd, const struct sp_ref *ref, const struct sp_pipeline *p, sp_error_t *err)
{
  struct sp_tmpfs_opts opts = { .n = 0 };
  char source[SP_QNAME_MAX + 16];

  if (sp_opts_mount_each (&p->opts, sp_tmpfs_opts_add, &opts) != 0)
    return sp_error_make (err, E2BIG, "tmpfs options too long");
  snprintf (source, sizeof (source), "shmpipe-%s", p->name);
  return sp_tmpfs_mount (dirfd, ref->file, source, &opts, err);
}

/* The socket directory: a small tmpfs of its own, not a directory on the
   pipeline's tmpfs (its size cap and "used" keep meaning shared memory),
   nor of the host's /run (a member cannot fill that through it).  Sockets
   and lock files take no room; the cap only bounds what a member may write
   there (a socket directory at /tmp also gets temp files). */
static int
sockets_make (int dirfd, const struct sp_ref *ref, const struct sp_pipeline *p, sp_error_t *err)
{
  struct sp_tmpfs_opts opts = { .n = 0 };
  char source[SP_QNAME_MAX + 24], mode[16], uid[16], gid[16];

  snprintf (source, sizeof (source), "shmpipe-sockets-%s", p->name);
  snprintf (mode, sizeof (mode), "%o", (unsigned) p->opts.mode);
  snprintf (uid, sizeof (uid), "%u", p->opts.uid);
  snprintf (gid, sizeof (gid), "%u", p->opts.gid);
  sp_tmpfs_opts_add (&opts, "size", "16m"); /* SP_QUOTA_SOCKDIR_BYTES */
  sp_tmpfs_opts_add (&opts, "nr_inodes", "4096");
  sp_tmpfs_opts_add (&opts, "mode", mode);
  sp_tmpfs_opts_add (&opts, "uid", uid);
  sp_tmpfs_opts_add (&opts, "gid", gid);
  if (sp_tmpfs_mount (dirfd, ref->file, source, &opts, err) < 0)
    return sp_error_prefix (err, "socket directory");
  return 0;
}

static int
sockets_release (int dirfd, const char *file, sp_error_t *err)
{
  if (sp_tmpfs_unmount (dirfd, file, err) < 0)
    return sp_error_prefix (err, "socket directory");
  return 0;
}

static int
ipc_make (int dirfd, const struct sp_ref *ref, const struct sp_pipeline *p, sp_error_t *err)
{
  return sp_ipcns_pin (dirfd, ref->file, p->opts.size, err);
}

static int
ipc_state (int dirfd, const char *file)
{
  return sp_ipcns_pinned (dirfd, file) ? SP_RES_PRESENT : SP_RES_ABSENT;
}

static bool
always (const struct sp_pipeline *p)
{
  (void) p;
  return true;
}

static bool
wants_ipc (const struct sp_pipeline *p)
{
  return p->opts.ipc;
}

static bool
wants_sockets_opts (const struct sp_pipeline_opts *o)
{
  return o->sockets[0] != '\0';
}

static bool
wants_sockets (const struct sp_pipeline *p)
{
  return wants_sockets_opts (&p->opts);
}

/* SP_TMPFS_* are SP_RES_* values. */
const struct sp_resource sp_resources[SP_RES_COUNT] = {
  [SP_RES_TMPFS] = {
      .what = "tmpfs",
      .place = "mountpoint",
      .subdir = "mnt",
      .dir_fd = offsetof (struct sp_store, mnt_fd),
      .wanted = always,
      .make = tmpfs_make,
      .repair = tmpfs_make,
      .release = sp_tmpfs_unmount,
      .state = sp_tmpfs_state,
      /* The tmpfs went away under us (reboot of a persistent root, a manual
         umount): its content is lost, the pipeline and its options are not.
         Only the tmpfs is made again: members keep their IPC namespace. */
      .repaired = "remounted its missing tmpfs (content was lost)",
      .orphaned = "removed a tmpfs left without a record",
  },
  [SP_RES_IPC] = {
      .what = "IPC namespace",
      .place = "IPC namespace file",
      .subdir = "ipc",
      .dir_fd = offsetof (struct sp_store, ipc_fd),
      .wanted = wants_ipc,
      .make = ipc_make,
      .repair = ipc_make,
      .release = sp_ipcns_release,
      .state = ipc_state,
      .repaired = "pinned a new IPC namespace in place of its missing one",
      .orphaned = "released an IPC namespace left without a record",
  },
  [SP_RES_SOCKETS] = {
      .what = "socket directory",
      .place = "socket directory's mountpoint",
      .subdir = "sockets",
      .dir_fd = offsetof (struct sp_store, sockets_fd),
      .wanted = wants_sockets,
      .make = sockets_make,
      .repair = sockets_make,
      .release = sockets_release,
      .state = sp_tmpfs_state,
      /* New members get a fresh one; sockets bound in the old one (the live
         members' view) are gone with it. */
      .repaired = "remounted its missing socket directory",
      .orphaned = "removed a socket directory left without a record",
  },
};

int
sp_res_dirfd (const struct sp_store *s, const struct sp_resource *r)
{
  return *(const int *) ((const char *) s + r->dir_fd);
}

int
sp_res_path (const struct sp_store *s, const struct sp_resource *r, const struct sp_ref *ref,
             char *buf, size_t len)
{
  int n = snprintf (buf, len, "%s/%s/%s", s->root, r->subdir, ref->file);
  return (n < 0 || (size_t) n >= len) ? -1 : 0;
}

int
sp_res_release_all (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  for (size_t i = 0; i < SP_RES_COUNT; i++)
    if (sp_resources[i].release (sp_res_dirfd (s, &sp_resources[i]), ref->file, err) < 0)
      return -1;
  return 0;
}

int
sp_res_make_all (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
                 sp_error_t *err)
{
  if (sp_res_release_all (s, ref, err) < 0)
    return -1;
  for (size_t i = 0; i < SP_RES_COUNT; i++)
    {
      const struct sp_resource *r = &sp_resources[i];
      if (r->wanted (p) && r->make (sp_res_dirfd (s, r), ref, p, err) < 0)
        {
          sp_error_t ignored = NULL;
          sp_res_release_all (s, ref, &ignored);
          sp_error_release (&ignored);
          return -1;
        }
    }
  return 0;
}

bool
sp_res_any (struct sp_store *s, const struct sp_ref *ref)
{
  for (size_t i = 0; i < SP_RES_COUNT; i++)
    if (sp_resources[i].state (sp_res_dirfd (s, &sp_resources[i]), ref->file) != SP_RES_ABSENT)
      return true;
  return false;
}

void
sp_res_drop_unused_lock (struct sp_store *s, const struct sp_ref *ref)
{
  if (!sp_record_exists (s, ref) && !sp_res_any (s, ref))
    sp_lock_unlink (s, ref);
}

int
sp_res_destroy (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  cleanup_totals struct sp_totals totals = SP_TOTALS_INIT;

  if (sp_totals_begin (s, ref, &totals, err) < 0 || sp_record_remove (s, ref, err) < 0)
    return -1;
  sp_fault_point ("destroy:unrecorded");
  /* After the record: a crash in between leaves a definition beside a
     mounted tmpfs, which restore and gc take for an interrupted remove
     (definitions.c), never a pipeline that vanishes at the next reboot. */
  if (sp_def_remove (s, ref, err) < 0)
    return -1;
  if (sp_res_release_all (s, ref, err) < 0)
    return -1;
  sp_lock_unlink (s, ref);
  return 0;
}
