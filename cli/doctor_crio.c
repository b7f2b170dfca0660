/* doctor's check of which hooks trust the CRI's annotations: CRI-O runs
   shmpipe-hook --cri from a hooks dir of its own, and the directories that
   Podman reads never carry --cri (doctor_files.c checks those, and
   containerd's base spec). */
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cri.h"
#include "fileutil.h"
#include "json.h"

#define CRIO_DEFAULT_HOOKS_DIR "/usr/share/containers/oci/hooks.d"
#define CONF_MAX (1024 * 1024)
#define MAX_DIRS 16
#define MAX_FILES 64

/* A hooks_dir list: at most MAX_DIRS directories, and where it was set. */
struct hooks_dirs
{
  char dirs[MAX_DIRS][512];
  size_t n;
  char from[512]; /* the file that set it; "" for CRI-O's default */
};

/* The quoted strings of `hooks_dir = [...]` in TEXT (a CRI-O TOML config),
   if it sets hooks_dir; they replace what an earlier file set. */
static void
parse_hooks_dir (const char *text, const char *file, struct hooks_dirs *out)
{
  const char *p = text;

  while ((p = strstr (p, "hooks_dir")) != NULL)
    {
      const char *line = p, *q;
      struct hooks_dirs got = { .n = 0 };

      /* The key at the start of a line, not in a comment or another key. */
      while (line > text && (line[-1] == ' ' || line[-1] == '\t'))
        line--;
      p += strlen ("hooks_dir");
      if ((line > text && line[-1] != '\n') || (*p != ' ' && *p != '\t' && *p != '='))
        continue;
      q = p + strspn (p, " \t");
      if (*q++ != '=')
        continue;
      q += strspn (q, " \t");
      if (*q++ != '[')
        continue;
      while (*q != '\0' && *q != ']')
        {
          if (*q == '#')
            q += strcspn (q, "\n");
          else if (*q == '"')
            {
              size_t n = strcspn (q + 1, "\"\n");
              if (q[1 + n] != '"')
                break;
              if (got.n < MAX_DIRS)
                snprintf (got.dirs[got.n++], sizeof (got.dirs[0]), "%.*s", (int) n, q + 1);
              q += n + 2;
            }
          else
            q++;
        }
      snprintf (got.from, sizeof (got.from), "%s", file);
      *out = got;
      p = q;
    }
}

static void
read_conf (const char *path, struct hooks_dirs *out, bool *any)
{
  cleanup_free char *text = NULL;
  sp_error_t err = NULL;
  size_t len;

  if (sp_read_file_at (AT_FDCWD, path, 0, CONF_MAX, &text, &len, &err) < 0)
    {
      sp_error_release (&err);
      return;
    }
  *any = true;
  parse_hooks_dir (text, path, out);
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* CRI-O's hooks_dir as CONF_DIR (/etc/crio) sets it: crio.conf, then the
   drop-ins of crio.conf.d in name order.  False when there is no config. */
static bool
crio_hooks_dirs (const char *conf_dir, struct hooks_dirs *out)
{
  char path[4096];
  char *names[MAX_FILES];
  size_t n = 0;
  bool any = false;
  DIR *dir;
  struct dirent *de;

  out->n = 1;
  snprintf (out->dirs[0], sizeof (out->dirs[0]), "%s", CRIO_DEFAULT_HOOKS_DIR);
  out->from[0] = '\0';
  snprintf (path, sizeof (path), "%s/crio.conf", conf_dir);
  read_conf (path, out, &any);
  snprintf (path, sizeof (path), "%s/crio.conf.d", conf_dir);
  dir = opendir (path);
  if (dir != NULL)
    {
      any = true;
      while ((de = readdir (dir)) != NULL && n < MAX_FILES)
        if (de->d_name[0] != '.' && strlen (de->d_name) > 5
            && strcmp (de->d_name + strlen (de->d_name) - 5, ".conf") == 0)
          names[n++] = strdup (de->d_name);
      closedir (dir);
    }
  qsort (names, n, sizeof (names[0]), cmp_names);
  for (size_t i = 0; i < n; i++)
    {
      if (names[i] != NULL)
        {
          snprintf (path, sizeof (path), "%s/crio.conf.d/%s", conf_dir, names[i]);
          read_conf (path, out, &any);
        }
      free (names[i]);
    }
  return any;
}

/* The hooks.d file CRI-O uses for NAME: the one in the last directory of
   DIRS that has it (a later directory's file replaces an earlier one's). */
static bool
effective_file (const struct hooks_dirs *dirs, const char *name, char *path, size_t len)
{
  for (size_t i = dirs->n; i-- > 0;)
    {
      snprintf (path, len, "%s/%s", dirs->dirs[i], name);
      if (access (path, F_OK) == 0)
        return true;
    }
  return false;
}

/* Whether FILE (a hooks.d file) runs shmpipe-hook; *CRI, *JOIN, *LEAVE say
   with --cri, at createRuntime/prestart, at poststop. */
static bool
shmpipe_hooks_file (const char *path, bool *cri, bool *join, bool *leave)
{
  cleanup_free char *buf = NULL;
  cleanup_yajl_val yajl_val tree = NULL;
  sp_error_t err = NULL;
  yajl_val hook, path_v, stages;
  size_t len;

  if (sp_read_file_at (AT_FDCWD, path, 0, CONF_MAX, &buf, &len, &err) < 0
      || sp_json_parse (buf, len, &tree, &err) < 0)
    {
      sp_error_release (&err);
      return false;
    }
  hook = sp_json_get (tree, "hook");
  path_v = sp_json_get (hook, "path");
  if (!YAJL_IS_STRING (path_v) || strstr (path_v->u.string, "shmpipe-hook") == NULL)
    return false;
  *cri = sp_cri_hook_entry (hook);
  stages = sp_json_get (tree, "stages");
  for (size_t i = 0; YAJL_IS_ARRAY (stages) && i < stages->u.array.len; i++)
    {
      *join |= sp_json_str_eq (stages->u.array.values[i], "createRuntime")
               || sp_json_str_eq (stages->u.array.values[i], "prestart");
      *leave |= sp_json_str_eq (stages->u.array.values[i], "poststop");
    }
  return true;
}

void
doctor_check_crio (struct doctor *d)
{
  static const char fix[] = "install install/crio/99-shmpipe.conf in /etc/crio/crio.conf.d and "
                            "install/hooks.d/crio/*.json in the directory it names, then restart "
                            "CRI-O (make install does both)";
  struct hooks_dirs dirs;
  char names[MAX_FILES][256];
  size_t n = 0, ours = 0, bad = 0;
  bool join = false, leave = false;

  if (!crio_hooks_dirs (d->crio_config, &dirs))
    {
      if (d->crio_explicit)
        doctor_fail (d, "crio", "give CRI-O's config directory (--crio-config DIR, /etc/crio)",
                     "%s: no crio.conf and no crio.conf.d", d->crio_config);
      else
        doctor_skip (d, "crio", "%s/crio.conf not found (CRI-O not set up)", d->crio_config);
      return;
    }
  /* Every file name CRI-O sees, once. */
  for (size_t i = 0; i < dirs.n; i++)
    {
      cleanup_dir DIR *dir = opendir (dirs.dirs[i]);
      struct dirent *de;

      while (dir != NULL && (de = readdir (dir)) != NULL && n < MAX_FILES)
        {
          size_t len = strlen (de->d_name);
          bool seen = false;
          if (len <= 5 || strcmp (de->d_name + len - 5, ".json") != 0)
            continue;
          for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp (names[k], de->d_name) == 0;
          if (!seen)
            snprintf (names[n++], sizeof (names[0]), "%s", de->d_name);
        }
    }
  for (size_t k = 0; k < n; k++)
    {
      char path[1024];
      bool cri = false, j = false, l = false;

      if (!effective_file (&dirs, names[k], path, sizeof (path))
          || !shmpipe_hooks_file (path, &cri, &j, &l))
        continue;
      ours++;
      join |= j;
      leave |= l;
      if (!cri)
        {
          bad++;
          doctor_fail (d, "crio", fix,
                       "CRI-O runs %s without --cri (hooks_dir %s%s): every pod that names a "
                       "pipeline is refused",
                       path, dirs.from[0] ? "from " : "is CRI-O's default",
                       dirs.from[0] ? dirs.from : "");
        }
    }
  if (ours == 0)
    {
      doctor_skip (d, "crio", "no hooks.d file in CRI-O's hooks_dir runs shmpipe-hook");
      return;
    }
  if (bad == 0 && join && leave)
    doctor_ok (d, "crio",
               "CRI-O runs shmpipe-hook --cri at createRuntime and poststop (hooks_dir %s%s)",
               dirs.from[0] ? "from " : "is CRI-O's default", dirs.from);
  else if (bad == 0)
    doctor_fail (d, "crio", fix, "CRI-O's shmpipe-hook --cri runs at %s only",
                 join ? "createRuntime" : "poststop");
}
