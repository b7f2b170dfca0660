#include "cdi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fileutil.h"
#include "json.h"
#include "log.h"
#include "state.h"

/* Not a valid pipeline name (those start with a letter or digit): it cannot
   collide with a pipeline's NAME.lock, and it is never unlinked.  */
#define CDI_LOCK_FILE ".cdi.lock"

struct cdi_hook_ctx
{
  const char *hook;
  const char *root;
  const char *config; /* absolute, or NULL: the hook's default */
};

static void
gen_hook (yajl_gen g, const struct cdi_hook_ctx *h, const char *name, const char *stage)
{
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "hookName", stage);
  sp_gen_kv_str (g, "path", h->hook);
  sp_gen_str (g, "args");
  yajl_gen_array_open (g);
  sp_gen_str (g, "shmpipe-hook");
  sp_gen_str (g, "--root");
  sp_gen_str (g, h->root);
  if (h->config != NULL)
    {
      sp_gen_str (g, "--config");
      sp_gen_str (g, h->config);
    }
  sp_gen_str (g, "--pipeline");
  sp_gen_str (g, name);
  sp_gen_str (g, stage);
  yajl_gen_array_close (g);
  sp_gen_kv_int (g, "timeout", SP_CDI_HOOK_TIMEOUT);
  yajl_gen_map_close (g);
}

static void
gen_device (yajl_gen g, const struct cdi_hook_ctx *h, const char *name)
{
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "name", name);
  sp_gen_str (g, "containerEdits");
  yajl_gen_map_open (g);
  sp_gen_str (g, "hooks");
  yajl_gen_array_open (g);
  gen_hook (g, h, name, "createRuntime");
  gen_hook (g, h, name, "poststop");
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
}

const char *
sp_cdi_left_out (const char *name)
{
  size_t len = strlen (name);
  char last = len > 0 ? name[len - 1] : '\0';

  if (strchr (name, '/') != NULL)
    return "a Kubernetes namespace's pipeline is for its pods (through the CRI)";
  if (!((last >= 'A' && last <= 'Z') || (last >= 'a' && last <= 'z')
        || (last >= '0' && last <= '9')))
    return "a CDI device name ends with a letter or digit";
  return NULL;
}

/* A spec naming a hook that is not there makes every engine fail the
   container with an exec error of its own: refuse to write it.  */
static int
check_hook (const char *hook, sp_error_t *err)
{
  struct stat st;

  if (stat (hook, &st) < 0)
    return sp_error_sys (err, errno, "cdi_hook %s", hook);
  if (!S_ISREG (st.st_mode) || access (hook, X_OK) < 0)
    return sp_error_make (err, EACCES, "cdi_hook %s: not an executable file", hook);
  return 0;
}

int
sp_cdi_generate (struct sp_store *s, char **out, size_t *len, sp_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = NULL;
  cleanup_free char *config = NULL;
  struct cdi_hook_ctx h;
  char **names = NULL;
  size_t n = 0;
  int r = 0;

  h.hook = s->cfg->cdi_hook != NULL ? s->cfg->cdi_hook : SP_DEFAULT_CDI_HOOK;
  h.root = s->root;
  if (check_hook (h.hook, err) < 0)
    return -1;
  /* The hook runs with the engine's working directory: the config it is
     told to read must not depend on ours.  */
  if (s->cfg->path != NULL)
    {
      config = realpath (s->cfg->path, NULL);
      if (config == NULL)
        return sp_error_sys (err, errno, "config %s", s->cfg->path);
    }
  h.config = config;

  if (sp_store_list (s, &names, &n, err) < 0)
    return -1;
  g = sp_gen_new (true);
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "cdiVersion", SP_CDI_VERSION);
  sp_gen_kv_str (g, "kind", SP_CDI_KIND);
  sp_gen_str (g, "devices");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n && r == 0; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      sp_error_t get_err = NULL;

      if (sp_store_get (s, names[i], &p, &get_err) < 0)
        {
          /* Removed since the listing: it has no device. */
          if (sp_error_status (get_err) == ENOENT)
            {
              sp_error_release (&get_err);
              continue;
            }
          *err = get_err;
          r = -1;
          break;
        }
      /* One device that an engine refuses would take the whole spec down. */
      if (p.opts.lifetime == SP_LIFETIME_PERSISTENT && sp_cdi_left_out (names[i]) == NULL)
        gen_device (g, &h, names[i]);
    }
  sp_store_free_names (names, n);
  if (r < 0)
    return -1;
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return sp_gen_finish (g, out, len, err);
}

static int
lock_cdi (struct sp_store *s, sp_error_t *err)
{
  cleanup_close int fd
      = openat (s->locks_fd, CDI_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd < 0)
    return sp_error_sys (err, errno, "CDI spec: open lock");
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return sp_error_sys (err, errno, "CDI spec: lock");
  return sp_steal_fd (&fd);
}

int
sp_cdi_write (struct sp_store *s, const char *dir, char *path, size_t path_len, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_close int dfd = -1;
  cleanup_free char *spec = NULL;
  cleanup_free char *old = NULL;
  size_t len = 0, old_len = 0;
  sp_error_t read_err = NULL;

  if (dir == NULL)
    dir = s->cfg->cdi_spec_dir != NULL ? s->cfg->cdi_spec_dir : SP_DEFAULT_CDI_SPEC_DIR;
  if (dir[0] != '/')
    return sp_error_make (err, EINVAL, "CDI spec directory %s: must be an absolute path", dir);
  if (path != NULL)
    snprintf (path, path_len, "%s/%s", dir, SP_CDI_SPEC_FILE);

  lock = lock_cdi (s, err);
  if (lock < 0)
    return -1;
  if (sp_cdi_generate (s, &spec, &len, err) < 0)
    return sp_error_prefix (err, "CDI spec");
  if (sp_mkdir_p (dir, 0755, err) < 0)
    return sp_error_prefix (err, "CDI spec");
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sp_error_sys (err, errno, "CDI spec directory %s", dir);
  /* Unchanged: leave the file (and its mtime) alone, so engines that watch
     the directory do not reload for nothing.  */
  if (sp_read_file_at (dfd, SP_CDI_SPEC_FILE, O_NOFOLLOW, len, &old, &old_len, &read_err) == 0
      && old_len == len && memcmp (old, spec, len) == 0)
    return 0;
  sp_error_release (&read_err);
  if (sp_write_file_atomic (dfd, SP_CDI_SPEC_FILE, spec, len, 0644, err) < 0)
    return sp_error_prefix (err, "CDI spec %s", dir);
  return 0;
}

int
sp_cdi_refresh (struct sp_store *s, sp_error_t *err)
{
  if (!s->cfg->cdi)
    return 0;
  return sp_cdi_write (s, NULL, NULL, 0, err);
}

void
sp_cdi_refresh_or_warn (struct sp_store *s)
{
  cleanup_error sp_error_t err = NULL;

  if (sp_cdi_refresh (s, &err) < 0)
    sp_log_warning ("%s (the pipelines are as they are; run 'shmpipectl cdi' once that is fixed)",
                    err->msg);
}
