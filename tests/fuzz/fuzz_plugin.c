/* libFuzzer target: the plugin's handlers, request body in, reply out.  Runs
   as root in a private mount namespace with a throwaway store, which every
   input leaves empty again.  The first byte picks the endpoint. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "handlers.h"
#include "json.h"
#include "log.h"
#include "store.h"

static struct sp_config cfg;
static struct sp_store store;

static const char *const endpoints[] = {
  "/Plugin.Activate",
  "/VolumeDriver.Create",
  "/VolumeDriver.Remove",
  "/VolumeDriver.Mount",
  "/VolumeDriver.Unmount",
  "/VolumeDriver.Path",
  "/VolumeDriver.Get",
  "/VolumeDriver.List",
  "/VolumeDriver.Capabilities",
  "/VolumeDriver.Nope",
  "",
  "/../etc/passwd",
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char root[] = "/tmp/shmpipe-fuzz-plugin.XXXXXX";
  sp_error_t err = NULL;

  (void) argc, (void) argv;
  /* Mounts made here vanish with the process. */
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
      || mkdtemp (root) == NULL || mount ("fuzz", root, "tmpfs", 0, "size=64m,mode=0755") < 0)
    {
      perror ("fuzz_plugin: needs root for a private mount namespace");
      exit (1);
    }
  /* Every rejected request logs a warning: at some 10k inputs a second
     that is most of the time spent. */
  sp_log_set_level (SP_LOG_ERROR);
  sp_config_defaults (&cfg);
  cfg.max_size = 1 << 20;
  cfg.default_size = 64 << 10;
  cfg.max_inodes = 64;
  if (sp_store_open (&store, &cfg, root, &err) < 0)
    {
      fprintf (stderr, "fuzz_plugin: %s\n", err->msg);
      exit (1);
    }
  return 0;
}

static void
empty_store (void)
{
  char **names = NULL;
  size_t n = 0;
  sp_error_t err = NULL;

  if (sp_store_list (&store, &names, &n, &err) < 0)
    abort ();
  for (size_t i = 0; i < n; i++)
    if (sp_store_remove (&store, names[i], true, &err) < 0)
      abort ();
  sp_store_free_names (names, n);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sp_plugin_reply reply = { 0 };
  yajl_val v = NULL;
  sp_error_t err = NULL;
  char *body;

  if (size < 1)
    return 0;
  body = sp_fuzz_cstr (data + 1, size - 1);
  sp_plugin_handle (&store, endpoints[data[0] % (sizeof (endpoints) / sizeof (endpoints[0]))], body,
                    size - 1, &reply);
  /* Every reply is JSON, with a status Docker understands. */
  if (reply.body == NULL || sp_json_parse (reply.body, reply.len, &v, &err) < 0)
    abort ();
  if (reply.status != 200 && reply.status != 404 && reply.status != 405 && reply.status != 413)
    abort ();
  yajl_tree_free (v);
  sp_plugin_reply_free (&reply);
  free (body);
  empty_store ();
  return 0;
}
