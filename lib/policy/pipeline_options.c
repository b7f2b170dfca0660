#include "pipeline_options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "suggest.h"

#define ROW(n, k, field, f, mnt, a, h)                                                             \
  {                                                                                                \
    .name = n, .kind = k, .offset = offsetof (struct sp_pipeline_opts, field), .flags = f,         \
    .mount_key = mnt, .arg = a, .help = h                                                          \
  }

/* The order is the order of help texts, records and inspect's JSON. */
const struct sp_opt_def sp_opt_defs[] = {
  ROW ("size", SP_OPT_SIZE, size, SP_OPT_F_CONTAINER | SP_OPT_F_CHANGEABLE, "size", "SIZE",
       "tmpfs size: bytes, or with a k, m, g or t suffix"),
  ROW ("mode", SP_OPT_MODE, mode, SP_OPT_F_CONTAINER, "mode", "MODE",
       "octal mode of the tmpfs root, e.g. 1777 or 0770"),
  ROW ("uid", SP_OPT_ID, uid, 0, "uid", "UID", "owner of the tmpfs root"),
  ROW ("gid", SP_OPT_ID, gid, 0, "gid", "GID", "group of the tmpfs root"),
  ROW ("huge", SP_OPT_HUGE, huge, 0, "huge", "POLICY",
       "huge pages: never, always, within_size or advise"),
  ROW ("lifetime", SP_OPT_LIFETIME, lifetime, SP_OPT_F_CONTAINER, NULL, "LIFETIME",
       "persistent (until removed) or ephemeral (gone with its last user)"),
  ROW ("inodes", SP_OPT_COUNT, inodes, SP_OPT_F_CHANGEABLE, "nr_inodes", "N",
       "inode cap: how many files it may hold"),
  ROW ("ipc", SP_OPT_BOOL, ipc, SP_OPT_F_CONTAINER | SP_OPT_F_OPTIONAL, NULL, NULL,
       "its own IPC namespace: SysV shm, semaphores, POSIX mqueues"),
  ROW ("allow-namespaces", SP_OPT_NSLIST, allow_namespaces, SP_OPT_F_CONTAINER | SP_OPT_F_OPTIONAL,
       NULL, "NS[,NS...]", "for NS/NAME: other Kubernetes namespaces whose pods may join it"),
  ROW ("sockets", SP_OPT_PATH, sockets, SP_OPT_F_CONTAINER | SP_OPT_F_OPTIONAL, NULL, "PATH",
       "a socket directory of its own, mounted at PATH (e.g. /tmp) in every member"),
  ROW ("create", SP_OPT_NEGBOOL, join_only, SP_OPT_F_CONTAINER | SP_OPT_F_REQUEST, NULL, "false",
       "false: join the pipeline only if it exists, never create it"),
};
const size_t sp_opt_count = ARRAY_SIZE (sp_opt_defs);

#define FIELD(o, d, type) ((type *) ((char *) (o) + (d)->offset))
#define CFIELD(o, d, type) ((const type *) ((const char *) (o) + (d)->offset))

const struct sp_opt_def *
sp_opt_find (const char *name)
{
  for (size_t i = 0; name != NULL && i < sp_opt_count; i++)
    if (strcmp (sp_opt_defs[i].name, name) == 0)
      return &sp_opt_defs[i];
  return NULL;
}

bool
sp_opts_allows_namespace (const struct sp_pipeline_opts *o, const char *ns)
{
  size_t n = strlen (ns);

  for (const char *p = o->allow_namespaces; *p; p += strcspn (p, ","), p += *p == ',')
    if (strcspn (p, ",") == n && strncmp (p, ns, n) == 0)
      return true;
  return false;
}

/* Adds the namespaces of VALUE ("a,b") to O's allow list, each once. */
static int
parse_nslist (const char *value, struct sp_pipeline_opts *o, sp_error_t *err)
{
  char *list = o->allow_namespaces;
  size_t count = 0;
  char shown[40];

  for (const char *p = list; *p; p += strcspn (p, ","), p += *p == ',')
    count++;
  for (const char *p = value != NULL ? value : ""; *p;)
    {
      size_t n = strcspn (p, ","), off;
      char ns[SP_NS_MAX + 1];

      if (n == 0 || n > SP_NS_MAX)
        return sp_error_make (err, EINVAL, "empty or over-long namespace in \"%s\"",
                              sp_printable (value, 32, shown, sizeof (shown)));
      memcpy (ns, p, n);
      ns[n] = '\0';
      p += n + (p[n] == ',');
      if (!sp_namespace_valid (ns))
        return sp_error_make (err, EINVAL,
                              "invalid namespace \"%s\" (want a Kubernetes namespace: "
                              "1-63 of [a-z0-9-])",
                              sp_printable (ns, 32, shown, sizeof (shown)));
      if (sp_opts_allows_namespace (o, ns))
        continue;
      if (++count > SP_ALLOW_NS_COUNT)
        return sp_error_make (err, EINVAL, "more than %d namespaces", SP_ALLOW_NS_COUNT);
      off = strlen (list);
      snprintf (list + off, SP_ALLOW_NS_MAX - off, "%s%s", off ? "," : "", ns);
    }
  return 0;
}

int
sp_opt_parse (const struct sp_opt_def *d, const char *value, struct sp_pipeline_opts *o,
              sp_error_t *err)
{
  switch (d->kind)
    {
    case SP_OPT_SIZE:
      return sp_parse_size (value, FIELD (o, d, uint64_t), err);
    case SP_OPT_MODE:
      return sp_parse_mode (value, FIELD (o, d, mode_t), err);
    case SP_OPT_ID:
      return sp_parse_id (value, d->name, FIELD (o, d, uint32_t), err);
    case SP_OPT_COUNT:
      return sp_parse_count (value, d->name, FIELD (o, d, uint64_t), err);
    case SP_OPT_HUGE:
      return sp_parse_huge (value, FIELD (o, d, enum sp_huge), err);
    case SP_OPT_LIFETIME:
      return sp_parse_lifetime (value, FIELD (o, d, enum sp_lifetime), err);
    case SP_OPT_BOOL:
      if (value == NULL || *value == '\0')
        {
          *FIELD (o, d, bool) = true;
          return 0;
        }
      return sp_parse_bool (value, d->name, FIELD (o, d, bool), err);
    case SP_OPT_NEGBOOL:
      {
        bool v;
        if (sp_parse_bool (value, d->name, &v, err) < 0)
          return -1;
        *FIELD (o, d, bool) = !v;
        return 0;
      }
    case SP_OPT_NSLIST:
      return parse_nslist (value, o, err);
    case SP_OPT_PATH:
      return sp_parse_container_path (value, d->name, FIELD (o, d, char), SP_OPT_PATH_MAX, err);
    }
  return sp_error_make (err, EINVAL, "option %s: unknown kind", d->name);
}

int
sp_opt_unknown (const char *what, const char *prefix, const char *name, sp_error_t *err)
{
  const char *near = sp_nearest (name, sp_opt_defs, sp_opt_count, sizeof (sp_opt_defs[0]));
  char shown[40], known[256];

  sp_printable (name, 32, shown, sizeof (shown));
  if (near != NULL)
    return sp_error_make (err, EINVAL, "unknown %s \"%s%s\" (did you mean \"%s%s\"?)", what, prefix,
                          shown, prefix, near);
  sp_opts_names (0, known, sizeof (known));
  return sp_error_make (err, EINVAL, "unknown %s \"%s%s\" (known: %s)", what, prefix, shown, known);
}

int
sp_opts_set (struct sp_pipeline_opts *o, const char *name, const char *value, sp_opt_mask *given,
             sp_error_t *err)
{
  const struct sp_opt_def *d = sp_opt_find (name);

  if (d == NULL)
    return sp_opt_unknown ("option", "", name, err);
  if (sp_opt_parse (d, value, o, err) < 0)
    return -1;
  if (given != NULL)
    *given |= sp_opt_bit (d);
  return 0;
}

void
sp_opt_format (const struct sp_opt_def *d, const struct sp_pipeline_opts *o, char *buf, size_t len)
{
  switch (d->kind)
    {
    case SP_OPT_SIZE:
    case SP_OPT_COUNT:
      snprintf (buf, len, "%llu", (unsigned long long) *CFIELD (o, d, uint64_t));
      return;
    case SP_OPT_MODE:
      snprintf (buf, len, "%04o", (unsigned) *CFIELD (o, d, mode_t));
      return;
    case SP_OPT_ID:
      snprintf (buf, len, "%u", *CFIELD (o, d, uint32_t));
      return;
    case SP_OPT_HUGE:
      snprintf (buf, len, "%s", sp_huge_name (*CFIELD (o, d, enum sp_huge)));
      return;
    case SP_OPT_LIFETIME:
      snprintf (buf, len, "%s", sp_lifetime_name (*CFIELD (o, d, enum sp_lifetime)));
      return;
    case SP_OPT_BOOL:
      snprintf (buf, len, "%s", *CFIELD (o, d, bool) ? "true" : "false");
      return;
    case SP_OPT_NEGBOOL:
      snprintf (buf, len, "%s", *CFIELD (o, d, bool) ? "false" : "true");
      return;
    case SP_OPT_NSLIST:
    case SP_OPT_PATH:
      snprintf (buf, len, "%s", CFIELD (o, d, char));
      return;
    }
  snprintf (buf, len, "?");
}

const char *
sp_opts_differ (const struct sp_pipeline_opts *a, const struct sp_pipeline_opts *b)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      char va[SP_OPT_VALUE_MAX], vb[SP_OPT_VALUE_MAX];
      if (sp_opt_defs[i].flags & SP_OPT_F_REQUEST)
        continue;
      sp_opt_format (&sp_opt_defs[i], a, va, sizeof (va));
      sp_opt_format (&sp_opt_defs[i], b, vb, sizeof (vb));
      if (strcmp (va, vb) != 0)
        return sp_opt_defs[i].name;
    }
  return NULL;
}

/* Copies D's field; the kinds' storage sizes are all the field's own. */
static void
copy_field (const struct sp_opt_def *d, struct sp_pipeline_opts *dst,
            const struct sp_pipeline_opts *src)
{
  switch (d->kind)
    {
    case SP_OPT_SIZE:
    case SP_OPT_COUNT:
      *FIELD (dst, d, uint64_t) = *CFIELD (src, d, uint64_t);
      break;
    case SP_OPT_MODE:
      *FIELD (dst, d, mode_t) = *CFIELD (src, d, mode_t);
      break;
    case SP_OPT_ID:
      *FIELD (dst, d, uint32_t) = *CFIELD (src, d, uint32_t);
      break;
    case SP_OPT_HUGE:
      *FIELD (dst, d, enum sp_huge) = *CFIELD (src, d, enum sp_huge);
      break;
    case SP_OPT_LIFETIME:
      *FIELD (dst, d, enum sp_lifetime) = *CFIELD (src, d, enum sp_lifetime);
      break;
    case SP_OPT_BOOL:
    case SP_OPT_NEGBOOL:
      *FIELD (dst, d, bool) = *CFIELD (src, d, bool);
      break;
    case SP_OPT_NSLIST:
      memcpy (FIELD (dst, d, char), CFIELD (src, d, char), SP_ALLOW_NS_MAX);
      break;
    case SP_OPT_PATH:
      memcpy (FIELD (dst, d, char), CFIELD (src, d, char), SP_OPT_PATH_MAX);
      break;
    }
}

void
sp_opts_overlay (struct sp_pipeline_opts *dst, const struct sp_pipeline_opts *requested,
                 sp_opt_mask given)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    if (given & ((sp_opt_mask) 1 << i))
      copy_field (&sp_opt_defs[i], dst, requested);
}

/* Whether D's field in O holds its zero value: what a record without
   the key loads as. */
static bool
is_zero (const struct sp_opt_def *d, const struct sp_pipeline_opts *o)
{
  switch (d->kind)
    {
    case SP_OPT_BOOL:
    case SP_OPT_NEGBOOL:
      return !*CFIELD (o, d, bool);
    case SP_OPT_NSLIST:
    case SP_OPT_PATH:
      return *CFIELD (o, d, char) == '\0';
    default:
      return false; /* required rows are always written */
    }
}

/* Whether a record of O leaves row D out. */
static bool
record_omits (const struct sp_opt_def *d, const struct sp_pipeline_opts *o)
{
  return (d->flags & SP_OPT_F_OPTIONAL) && is_zero (d, o);
}

unsigned
sp_opts_record_format (const struct sp_pipeline_opts *o)
{
  unsigned format = 1;

  for (size_t i = 0; i < sp_opt_count; i++)
    if (!record_omits (&sp_opt_defs[i], o) && sp_opt_defs[i].format > format)
      format = sp_opt_defs[i].format;
  return format;
}

static void
gen_rows (yajl_gen g, const struct sp_pipeline_opts *o, bool record)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char v[SP_OPT_VALUE_MAX];

      /* A request row (create=false) asks, it is never a pipeline's state. */
      if ((d->flags & SP_OPT_F_REQUEST) || (record && record_omits (d, o)))
        continue;
      switch (d->kind)
        {
        case SP_OPT_SIZE:
        case SP_OPT_COUNT:
          sp_gen_kv_int (g, d->name, (long long) *CFIELD (o, d, uint64_t));
          break;
        case SP_OPT_ID:
          sp_gen_kv_int (g, d->name, *CFIELD (o, d, uint32_t));
          break;
        case SP_OPT_BOOL:
          sp_gen_kv_bool (g, d->name, *CFIELD (o, d, bool));
          break;
        default:
          sp_opt_format (d, o, v, sizeof (v));
          sp_gen_kv_str (g, d->name, v);
          break;
        }
    }
}

void
sp_opts_gen (yajl_gen g, const struct sp_pipeline_opts *o)
{
  gen_rows (g, o, false);
}

void
sp_opts_gen_record (yajl_gen g, const struct sp_pipeline_opts *o)
{
  gen_rows (g, o, true);
}

bool
sp_opts_is_record_key (const char *key)
{
  const struct sp_opt_def *d = sp_opt_find (key);
  return d != NULL && !(d->flags & SP_OPT_F_REQUEST);
}

/* A number-valued row: range-checked here, since the record holds it as a
   JSON number rather than as text for the row's parser. */
static int
parse_record_number (const struct sp_opt_def *d, long long v, const char *what,
                     struct sp_pipeline_opts *o, sp_error_t *err)
{
  switch (d->kind)
    {
    case SP_OPT_SIZE:
      if (v < (long long) SP_SIZE_MIN || (unsigned long long) v > SP_SIZE_LIMIT)
        return sp_error_make (err, EINVAL, "%s: size out of range", what);
      *FIELD (o, d, uint64_t) = (uint64_t) v;
      return 0;
    case SP_OPT_COUNT:
      if (v <= 0 || v > (1LL << 40))
        return sp_error_make (err, EINVAL, "%s: %s out of range", what, d->name);
      *FIELD (o, d, uint64_t) = (uint64_t) v;
      return 0;
    case SP_OPT_ID:
      if (v < 0 || v >= UINT32_MAX)
        return sp_error_make (err, EINVAL, "%s: uid or gid out of range (\"%s\" is %lld)", what,
                              d->name, v);
      *FIELD (o, d, uint32_t) = (uint32_t) v;
      return 0;
    default:
      return sp_error_make (err, EINVAL, "%s: \"%s\" must be a string", what, d->name);
    }
}

int
sp_opts_parse_record (yajl_val obj, const char *what, struct sp_pipeline_opts *o, sp_error_t *err)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      const char *s;
      long long v;
      int r;

      if (d->flags & SP_OPT_F_REQUEST)
        continue;
      switch (d->kind)
        {
        case SP_OPT_SIZE:
        case SP_OPT_COUNT:
        case SP_OPT_ID:
          r = sp_json_get_int (obj, what, d->name, &v, err);
          if (r == 0 && parse_record_number (d, v, what, o, err) < 0)
            return -1;
          break;
        case SP_OPT_BOOL:
          r = sp_json_get_bool (obj, what, d->name, FIELD (o, d, bool), err);
          break;
        default:
          r = sp_json_get_string (obj, what, d->name, &s, err);
          if (r == 0 && sp_opt_parse (d, s, o, err) < 0)
            return sp_error_prefix (err, "%s", what);
          break;
        }
      if (r < 0)
        return -1;
      if (r == 1 && !(d->flags & SP_OPT_F_OPTIONAL))
        return sp_error_make (err, EINVAL, "%s: missing \"%s\"", what, d->name);
    }
  return 0;
}

int
sp_opts_mount_each (const struct sp_pipeline_opts *o, sp_mount_opt_fn fn, void *ctx)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char v[SP_OPT_VALUE_MAX];
      int r;

      if (d->mount_key == NULL)
        continue;
      if (d->kind == SP_OPT_HUGE && *CFIELD (o, d, enum sp_huge) == SP_HUGE_NEVER)
        continue;
      sp_opt_format (d, o, v, sizeof (v));
      if (d->kind == SP_OPT_MODE)
        snprintf (v, sizeof (v), "%o", (unsigned) *CFIELD (o, d, mode_t));
      r = fn (ctx, d->mount_key, v);
      if (r != 0)
        return r;
    }
  return 0;
}

bool
sp_opt_grantable (const struct sp_opt_def *d)
{
  return (d->flags & SP_OPT_F_CONTAINER) && !(d->flags & SP_OPT_F_REQUEST);
}

/* "size, mode, ...": the rows that have all of FLAGS and, when GRANTABLE,
   that container_options may list. */
static void
names_of (unsigned flags, bool grantable, char *buf, size_t len)
{
  size_t off = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < sp_opt_count && off < len; i++)
    if ((sp_opt_defs[i].flags & flags) == flags
        && (!grantable || sp_opt_grantable (&sp_opt_defs[i])))
      {
        int n = snprintf (buf + off, len - off, "%s%s", off ? ", " : "", sp_opt_defs[i].name);
        if (n < 0)
          break;
        off += (size_t) n;
      }
}

void
sp_opts_names (unsigned flags, char *buf, size_t len)
{
  names_of (flags, false, buf, len);
}

void
sp_opts_grantable_names (char *buf, size_t len)
{
  names_of (0, true, buf, len);
}

void
sp_opts_print_table (FILE *f, enum sp_opts_style style)
{
  if (style == SP_OPTS_MARKDOWN)
    fputs ("| option | `shmpipectl create` | plugin `-o` | container annotation | meaning |\n"
           "| --- | --- | --- | --- | --- |\n",
           f);
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      bool container = d->flags & SP_OPT_F_CONTAINER;
      bool request = d->flags & SP_OPT_F_REQUEST;
      const char *arg = d->arg ? d->arg : "true";
      char flag[64], key[64];

      snprintf (flag, sizeof (flag), "--%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
      snprintf (key, sizeof (key), "%s=%s", d->name, arg);
      switch (style)
        {
        case SP_OPTS_MARKDOWN:
          fprintf (f, "| `%s` | %s%s%s | `%s` | %s%s%s%s | %s |\n", d->name, request ? "" : "`",
                   request ? "no" : flag, request ? "" : "`", key,
                   container ? "`" SP_OPTS_ANNOTATION_PREFIX : "", container ? d->name : "no",
                   container ? "`" : "", "", d->help);
          break;
        case SP_OPTS_CLI:
          if (request)
            break;
          fprintf (f, "  %-20s %s%s\n", flag, d->help, container ? " [annotation]" : "");
          break;
        case SP_OPTS_PLUGIN:
          fprintf (f, "  %-19s %s\n", key, d->help);
          break;
        }
    }
}
