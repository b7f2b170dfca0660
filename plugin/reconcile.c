#include "reconcile.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_members.h"
#include "log.h"

/* dockerd may start after the plugin (systemd orders nothing between
   them): ask every 2 s for a minute. */
#define RECONCILE_TRIES 30
#define RECONCILE_PAUSE_S 2

struct job
{
  struct sp_store *store;
  char *socket;
  bool again; /* the pass after the grace */
};

static atomic_bool running;

static void
report (void *ctx, const char *name, const char *what, bool failed)
{
  (void) ctx;
  if (failed)
    sp_log_warning ("docker members: %s: %s", name, what);
  else
    sp_log_info ("docker members: %s: %s", name, what);
}

static void *
reconcile_main (void *arg)
{
  struct job *job = arg;
  sp_error_t err = NULL;
  int r = 0;

  for (int i = 0; i < RECONCILE_TRIES; i++)
    {
      bool skipped = false;
      r = sp_store_reconcile_docker (job->store, job->socket, report, NULL, &skipped, &err);
      if (!skipped)
        break;
      if (i + 1 == RECONCILE_TRIES)
        {
          sp_log_warning ("docker members not checked: no dockerd answers at %s", job->socket);
          goto out;
        }
      sleep (RECONCILE_PAUSE_S);
    }
  if (r < 0)
    {
      sp_log_warning ("docker members not checked: %s", err->msg);
      sp_error_release (&err);
    }
  else
    sp_log_info ("docker members checked with dockerd at %s (%d change%s)", job->socket, r,
                 r == 1 ? "" : "s");
  /* Members recorded just before a restart are judged only once past the
     grace (docker_members.h): once more then. */
  if (r >= 0 && !job->again)
    {
      job->again = true;
      sleep (SP_DOCKER_MEMBER_GRACE_S + 1);
      return reconcile_main (job);
    }
out:
  free (job->socket);
  free (job);
  atomic_store (&running, false);
  return NULL;
}

int
sp_plugin_reconcile_start (struct sp_store *store, const char *socket, sp_error_t *err)
{
  struct job *job = calloc (1, sizeof (*job));
  pthread_attr_t attr;
  pthread_t t;
  int r;

  if (job == NULL || (job->socket = strdup (socket)) == NULL)
    {
      free (job);
      return sp_error_sys (err, ENOMEM, "docker members");
    }
  job->store = store;
  atomic_store (&running, true);
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  r = pthread_create (&t, &attr, reconcile_main, job);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      atomic_store (&running, false);
      free (job->socket);
      free (job);
      return sp_error_sys (err, r, "docker members: thread");
    }
  return 0;
}

bool
sp_plugin_reconcile_running (void)
{
  return atomic_load (&running);
}
