#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "proc.h"

void
sp_format_time (int64_t t, char *buf, size_t len)
{
  struct tm tm;
  time_t tt = (time_t) t;

  if (gmtime_r (&tt, &tm) == NULL || strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf (buf, len, "1970-01-01T00:00:00Z");
}

int
sp_parse_time (const char *s, int64_t *out)
{
  struct tm tm;
  const char *end;

  memset (&tm, 0, sizeof (tm));
  end = strptime (s, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == NULL || *end != '\0')
    return -1;
  *out = (int64_t) timegm (&tm);
  return 0;
}

static void
member_free (struct sp_member *m)
{
  free (m->id);
  free (m->pod_namespace);
  free (m->pod);
  free (m->container);
}

void
sp_pipeline_free (struct sp_pipeline *p)
{
  for (size_t i = 0; i < p->n_members; i++)
    member_free (&p->members[i]);
  free (p->members);
  p->members = NULL;
  p->n_members = 0;
}

ssize_t
sp_pipeline_find_member (const struct sp_pipeline *p, const char *id)
{
  for (size_t i = 0; i < p->n_members; i++)
    if (strcmp (p->members[i].id, id) == 0)
      return (ssize_t) i;
  return -1;
}

static int
add_member (struct sp_pipeline *p, const char *id, int64_t pid, uint64_t start_time, int64_t joined,
            size_t max, sp_error_t *err)
{
  struct sp_member *m;

  if (!sp_member_id_valid (id))
    return sp_error_make (err, EINVAL, "invalid member id");
  if (p->n_members >= max)
    return sp_error_make (err, EUSERS, "already has %zu members, the most a pipeline may have",
                          p->n_members);
  m = realloc (p->members, (p->n_members + 1) * sizeof (*m));
  if (m == NULL)
    return sp_error_sys (err, ENOMEM, "member %s", id);
  p->members = m;
  m = &p->members[p->n_members];
  memset (m, 0, sizeof (*m));
  m->id = strdup (id);
  if (m->id == NULL)
    return sp_error_sys (err, ENOMEM, "member %s", id);
  m->pid = pid;
  m->start_time = start_time;
  m->joined = joined;
  p->n_members++;
  return 0;
}

int
sp_pipeline_add_member (struct sp_pipeline *p, const char *id, int64_t pid, uint64_t start_time,
                        int64_t joined, sp_error_t *err)
{
  return add_member (p, id, pid, start_time, joined, SP_MEMBERS_MAX, err);
}

void
sp_pipeline_remove_member (struct sp_pipeline *p, size_t idx)
{
  if (idx >= p->n_members)
    return;
  member_free (&p->members[idx]);
  memmove (&p->members[idx], &p->members[idx + 1],
           (p->n_members - idx - 1) * sizeof (p->members[0]));
  p->n_members--;
}

/* A pod, namespace or container name as the CRI gave it: short, printable,
   no quote or separator that could garble ls's columns. */
static bool
pod_field_valid (const char *s)
{
  size_t len = strlen (s);

  if (len == 0 || len > SP_POD_NAME_MAX)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
          || *s == '-' || *s == '.' || *s == '_'))
      return false;
  return true;
}

static int
set_field (char **dst, const char *what, const char *v, sp_error_t *err)
{
  if (v == NULL)
    return 0;
  if (!pod_field_valid (v))
    return sp_error_make (err, EINVAL, "invalid %s (want 1-%d of [A-Za-z0-9._-])", what,
                          SP_POD_NAME_MAX);
  free (*dst);
  *dst = strdup (v);
  return *dst == NULL ? sp_error_sys (err, ENOMEM, "%s", what) : 0;
}

int
sp_member_set_pod (struct sp_member *m, const char *ns, const char *pod, const char *container,
                   sp_error_t *err)
{
  if (ns != NULL && !sp_namespace_valid (ns))
    return sp_error_make (err, EINVAL, "invalid pod namespace");
  if (set_field (&m->pod_namespace, "pod namespace", ns, err) < 0
      || set_field (&m->pod, "pod name", pod, err) < 0
      || set_field (&m->container, "container name", container, err) < 0)
    return -1;
  return 0;
}

bool
sp_member_is_gone (const struct sp_member *m)
{
  /* Members without a pid (Docker's mounts) are never judged by one. */
  return m->pid > 0 && !sp_proc_alive ((pid_t) m->pid, m->start_time);
}

bool
sp_pipeline_is_spent (const struct sp_pipeline *p)
{
  return p->n_members == 0 && p->opts.lifetime == SP_LIFETIME_EPHEMERAL;
}

void
sp_pipeline_format_members (const struct sp_pipeline *p, char *buf, size_t len)
{
  size_t off = 0, shown = 0;

  buf[0] = '\0';
  for (; shown < p->n_members && shown < 4; shown++)
    {
      int n = snprintf (buf + off, len - off, "%s%s", shown ? ", " : "", p->members[shown].id);
      if (n < 0 || (size_t) n >= len - off)
        break;
      off += (size_t) n;
    }
  if (shown < p->n_members && off < len)
    snprintf (buf + off, len - off, " and %zu more", p->n_members - shown);
}

static int
need (int r, const char *key, sp_error_t *err)
{
  if (r == 1)
    return sp_error_make (err, EINVAL, "state: missing \"%s\"", key);
  return r;
}

static int
parse_member (yajl_val v, struct sp_pipeline *p, sp_error_t *err)
{
  const char *id = NULL, *joined = NULL, *pod[3] = { NULL, NULL, NULL };
  long long pid = 0, start = 0;
  int64_t joined_t;

  if (!YAJL_IS_OBJECT (v))
    return sp_error_make (err, EINVAL, "state: a member is not an object");
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      const char *k = v->u.object.keys[i];
      if (strcmp (k, "id") && strcmp (k, "pid") && strcmp (k, "start_time") && strcmp (k, "joined")
          && strcmp (k, "pod_namespace") && strcmp (k, "pod") && strcmp (k, "container"))
        return sp_error_make (err, EINVAL, "state: member: unknown key \"%.64s\"", k);
    }
  if (need (sp_json_get_string (v, "state: member", "id", &id, err), "id", err) < 0
      || need (sp_json_get_int (v, "state: member", "pid", &pid, err), "pid", err) < 0
      || need (sp_json_get_int (v, "state: member", "start_time", &start, err), "start_time", err)
             < 0
      || need (sp_json_get_string (v, "state: member", "joined", &joined, err), "joined", err) < 0
      /* Optional: members recorded before pods were. */
      || sp_json_get_string (v, "state: member", "pod_namespace", &pod[0], err) < 0
      || sp_json_get_string (v, "state: member", "pod", &pod[1], err) < 0
      || sp_json_get_string (v, "state: member", "container", &pod[2], err) < 0)
    return -1;
  if (pid < 0 || pid > 4194304 || start < 0 || sp_parse_time (joined, &joined_t) < 0)
    return sp_error_make (err, EINVAL, "state: member \"%.64s\": bad pid, start_time or joined",
                          id);
  if (sp_pipeline_find_member (p, id) >= 0)
    return sp_error_make (err, EINVAL, "state: member \"%.64s\" listed twice", id);
  if (add_member (p, id, pid, (uint64_t) start, joined_t, SP_MEMBERS_LOAD_MAX, err) < 0)
    return -1;
  if (sp_member_set_pod (&p->members[p->n_members - 1], pod[0], pod[1], pod[2], err) < 0)
    return sp_error_prefix (err, "state: member \"%.64s\"", id);
  return 0;
}

static bool
is_state_key (const char *key)
{
  return strcmp (key, "version") == 0 || strcmp (key, "name") == 0 || strcmp (key, "created") == 0
         || strcmp (key, "members") == 0 || sp_opts_is_record_key (key);
}

int
sp_state_parse (const char *buf, size_t len, struct sp_pipeline *p, sp_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  const char *name, *created;
  long long version;
  yajl_val members;

  memset (p, 0, sizeof (*p));
  if (len > SP_STATE_MAX_BYTES)
    return sp_error_make (err, EFBIG, "state: larger than %d bytes", SP_STATE_MAX_BYTES);
  if (sp_json_parse (buf, len, &root, err) < 0)
    return sp_error_prefix (err, "state");
  if (!YAJL_IS_OBJECT (root))
    return sp_error_make (err, EINVAL, "state: not a JSON object");
  for (size_t i = 0; i < root->u.object.len; i++)
    if (!is_state_key (root->u.object.keys[i]))
      return sp_error_make (err, EINVAL, "state: unknown key \"%.64s\"", root->u.object.keys[i]);
  if (need (sp_json_get_int (root, "state", "version", &version, err), "version", err) < 0
      || need (sp_json_get_string (root, "state", "name", &name, err), "name", err) < 0
      || need (sp_json_get_string (root, "state", "created", &created, err), "created", err) < 0)
    return -1;
  if (version != SP_STATE_VERSION)
    return sp_error_make (err, EINVAL, "state: unsupported version %lld", version);
  if (!sp_qname_valid (name, strlen (name)))
    return sp_error_make (err, EINVAL, "state: invalid name");
  strcpy (p->name, name);
  if (sp_opts_parse_record (root, "state", &p->opts, err) < 0)
    return -1;
  if (sp_parse_time (created, &p->created) < 0)
    return sp_error_make (err, EINVAL, "state: bad \"created\" time");
  members = sp_json_get (root, "members");
  if (members == NULL || !YAJL_IS_ARRAY (members))
    return sp_error_make (err, EINVAL, "state: \"members\" must be an array");
  if (members->u.array.len > SP_MEMBERS_LOAD_MAX)
    return sp_error_make (err, EINVAL, "state: too many members");
  for (size_t i = 0; i < members->u.array.len; i++)
    if (parse_member (members->u.array.values[i], p, err) < 0)
      {
        sp_pipeline_free (p);
        return -1;
      }
  return 0;
}

static void
gen_member (yajl_gen g, const struct sp_member *m, bool with_start)
{
  char t[32];

  sp_format_time (m->joined, t, sizeof (t));
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "id", m->id);
  sp_gen_kv_int (g, "pid", m->pid);
  if (with_start)
    sp_gen_kv_int (g, "start_time", (long long) m->start_time);
  sp_gen_kv_str (g, "joined", t);
  if (m->pod_namespace != NULL)
    sp_gen_kv_str (g, "pod_namespace", m->pod_namespace);
  if (m->pod != NULL)
    sp_gen_kv_str (g, "pod", m->pod);
  if (m->container != NULL)
    sp_gen_kv_str (g, "container", m->container);
  yajl_gen_map_close (g);
}

/* Fields shared by the state file and the inspect object. */
static void
gen_common (yajl_gen g, const struct sp_pipeline *p)
{
  char t[32];

  sp_opts_gen (g, &p->opts);
  sp_format_time (p->created, t, sizeof (t));
  sp_gen_kv_str (g, "created", t);
}

int
sp_state_generate (const struct sp_pipeline *p, char **out, size_t *len, sp_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = sp_gen_new (true);

  yajl_gen_map_open (g);
  sp_gen_kv_int (g, "version", SP_STATE_VERSION);
  sp_gen_kv_str (g, "name", p->name);
  gen_common (g, p);
  sp_gen_str (g, "members");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < p->n_members; i++)
    gen_member (g, &p->members[i], true);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  size_t n;
  if (sp_gen_finish (g, out, &n, err) < 0)
    return -1;
  if (len != NULL)
    *len = n;
  /* Never write what no reader would take back. */
  if (n > SP_STATE_MAX_BYTES)
    {
      free (*out);
      *out = NULL;
      return sp_error_make (err, EFBIG,
                            "the record would be larger than %d bytes, the most a "
                            "reader takes",
                            SP_STATE_MAX_BYTES);
    }
  return 0;
}

void
sp_pipeline_gen_info (yajl_gen g, const struct sp_pipeline *p, const char *mountpoint,
                      const char *ipc_namespace, uint64_t used)
{
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "name", p->name);
  sp_gen_kv_str (g, "mountpoint", mountpoint);
  sp_gen_str (g, "ipc_namespace");
  if (ipc_namespace != NULL)
    sp_gen_str (g, ipc_namespace);
  else
    yajl_gen_null (g);
  sp_gen_kv_int (g, "used", (long long) used);
  gen_common (g, p);
  sp_gen_str (g, "members");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < p->n_members; i++)
    gen_member (g, &p->members[i], false);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
}
