#include "docker_api.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "cleanup.h"
#include "fileutil.h"
#include "json.h"

/* dockerd's answers: a list of every container is the largest. */
#define DOCKER_REPLY_MAX (32 * 1024 * 1024)
#define DOCKER_CONFIG_MAX (4 * 1024 * 1024)
/* Inspect waits for a container's start or stop to finish. */
#define DOCKER_TIMEOUT_S 60L

struct reply
{
  char *buf;
  size_t len;
  bool too_large;
};

static size_t
on_data (char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct reply *r = ud;
  size_t n = size * nmemb;
  char *nb;

  if (r->len + n > DOCKER_REPLY_MAX)
    {
      r->too_large = true;
      return 0;
    }
  nb = realloc (r->buf, r->len + n + 1);
  if (nb == NULL)
    return 0;
  memcpy (nb + r->len, ptr, n);
  r->len += n;
  nb[r->len] = '\0';
  r->buf = nb;
  return n;
}

/* libcurl is loaded only while dockerd is asked, and unloaded after: linked
   in, it and the TLS, LDAP, SSH and HTTP/2 libraries it pulls would double
   the plugin's idle memory for a check made once per start. */
struct curl_api
{
  void *handle;
  CURLcode (*global_init) (long flags);
  void (*global_cleanup) (void);
  CURL *(*easy_init) (void);
  CURLcode (*easy_setopt) (CURL *c, CURLoption opt, ...);
  CURLcode (*easy_perform) (CURL *c);
  CURLcode (*easy_getinfo) (CURL *c, CURLINFO info, ...);
  void (*easy_cleanup) (CURL *c);
  const char *(*easy_strerror) (CURLcode code);
};

static void
curl_unload (struct curl_api *api)
{
  if (api->handle == NULL)
    return;
  api->global_cleanup ();
  dlclose (api->handle);
  api->handle = NULL;
}

static int
curl_load (struct curl_api *api, sp_error_t *err)
{
  memset (api, 0, sizeof (*api));
  api->handle = dlopen ("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (api->handle == NULL)
    return sp_error_make (err, ENOENT, "dockerd: cannot load libcurl.so.4 (package libcurl4): %s",
                          dlerror ());
#define SYM(field, name)                                                                           \
  if ((*(void **) &api->field = dlsym (api->handle, name)) == NULL)                                \
    {                                                                                              \
      dlclose (api->handle);                                                                       \
      api->handle = NULL;                                                                          \
      return sp_error_make (err, ENOENT, "dockerd: libcurl.so.4 lacks %s", name);                  \
    }
  SYM (global_init, "curl_global_init");
  SYM (global_cleanup, "curl_global_cleanup");
  SYM (easy_init, "curl_easy_init");
  SYM (easy_setopt, "curl_easy_setopt");
  SYM (easy_perform, "curl_easy_perform");
  SYM (easy_getinfo, "curl_easy_getinfo");
  SYM (easy_cleanup, "curl_easy_cleanup");
  SYM (easy_strerror, "curl_easy_strerror");
#undef SYM
  /* Plain HTTP on a unix socket: no TLS library to set up. */
  if (api->global_init (CURL_GLOBAL_NOTHING) != CURLE_OK)
    {
      dlclose (api->handle);
      api->handle = NULL;
      return sp_error_make (err, EIO, "dockerd: libcurl would not start");
    }
  return 0;
}

/* The libcurl of the current sp_docker_* call. */
static __thread struct curl_api *curl;

/* GET PATH from dockerd: *STATUS is the HTTP status, *OUT the parsed body
   (NULL when it is not JSON). */
static int
docker_get (const char *socket, const char *path, long *status, yajl_val *out, sp_error_t *err)
{
  CURL *c = curl->easy_init ();
  struct reply r = { 0 };
  char url[512];
  CURLcode rc;
  int ret = 0;

  *out = NULL;
  if (c == NULL)
    return sp_error_make (err, ENOMEM, "dockerd: cannot start an HTTP client");
  snprintf (url, sizeof (url), "http://docker%s", path);
  curl->easy_setopt (c, CURLOPT_UNIX_SOCKET_PATH, socket);
  curl->easy_setopt (c, CURLOPT_URL, url);
  curl->easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http");
  curl->easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl->easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl->easy_setopt (c, CURLOPT_TIMEOUT, DOCKER_TIMEOUT_S);
  curl->easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl->easy_setopt (c, CURLOPT_WRITEDATA, &r);
  rc = curl->easy_perform (c);
  if (rc == CURLE_COULDNT_CONNECT)
    ret = sp_error_make (err, ECONNREFUSED, "no dockerd answers at %s", socket);
  else if (r.too_large)
    ret = sp_error_make (err, EFBIG, "dockerd %s: GET %s: reply larger than %d bytes", socket, path,
                         DOCKER_REPLY_MAX);
  else if (rc != CURLE_OK)
    ret = sp_error_make (err, EIO, "dockerd %s: GET %s: %s", socket, path,
                         curl->easy_strerror (rc));
  else
    {
      curl->easy_getinfo (c, CURLINFO_RESPONSE_CODE, status);
      if (r.buf != NULL && sp_json_parse (r.buf, r.len, out, err) < 0)
        {
          if (*status == 200)
            ret = sp_error_prefix (err, "dockerd %s: GET %s", socket, path);
          else
            sp_error_release (err);
        }
      if (ret == 0 && *status == 200 && *out == NULL)
        ret = sp_error_make (err, EIO, "dockerd %s: GET %s: empty reply", socket, path);
    }
  free (r.buf);
  curl->easy_cleanup (c);
  return ret;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
sp_strset_free (struct sp_strset *set)
{
  for (size_t i = 0; i < set->n; i++)
    free (set->v[i]);
  free (set->v);
  set->v = NULL;
  set->n = 0;
}

bool
sp_strset_has (const struct sp_strset *set, const char *s)
{
  return set->n > 0 && bsearch (&s, set->v, set->n, sizeof (char *), cmp_str) != NULL;
}

static int
strset_add (struct sp_strset *set, const char *s, sp_error_t *err)
{
  char **nv = realloc (set->v, (set->n + 1) * sizeof (char *));
  if (nv == NULL)
    return sp_error_sys (err, ENOMEM, "dockerd");
  set->v = nv;
  set->v[set->n] = strdup (s);
  if (set->v[set->n] == NULL)
    return sp_error_sys (err, ENOMEM, "dockerd");
  set->n++;
  return 0;
}

static void
strset_sort (struct sp_strset *set)
{
  if (set->n > 1)
    qsort (set->v, set->n, sizeof (char *), cmp_str);
}

/* Container IDs are 64 lower-case hex digits. */
static bool
is_container_id (const char *s)
{
  size_t i;
  for (i = 0; s[i] != '\0'; i++)
    if (!isxdigit ((unsigned char) s[i]) || isupper ((unsigned char) s[i]))
      return false;
  return i == 64;
}

/* The mount IDs in ROOT/containers/ID/config.v2.json ("MountPoints":
   {destination: {"ID": ...}}).  Every volume of a plugin that the API lists
   in the container's MOUNTS must have one there: a file that says less
   than the API (another Docker's layout) is an error, never "no mounts",
   so that no live member is ever dropped on its word. */
static int
add_mount_ids (const char *socket, const char *root, const char *id, yajl_val mounts,
               struct sp_strset *ids, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  cleanup_yajl_val yajl_val tree = NULL;
  char path[4096];
  yajl_val mps;
  size_t len;

  if (snprintf (path, sizeof (path), "%s/containers/%s/config.v2.json", root, id)
      >= (int) sizeof (path))
    return sp_error_make (err, ENAMETOOLONG, "dockerd %s: DockerRootDir too long", socket);
  if (sp_read_file_at (AT_FDCWD, path, O_NOFOLLOW, DOCKER_CONFIG_MAX, &buf, &len, err) < 0
      || sp_json_parse (buf, len, &tree, err) < 0)
    return sp_error_prefix (err, "dockerd %s: container %.12s", socket, id);
  mps = sp_json_get (tree, "MountPoints");
  if (mps != NULL && !YAJL_IS_NULL (mps) && !YAJL_IS_OBJECT (mps))
    return sp_error_make (err, EINVAL, "dockerd %s: %s: \"MountPoints\" is not an object", socket,
                          path);
  for (size_t i = 0; YAJL_IS_ARRAY (mounts) && i < mounts->u.array.len; i++)
    {
      yajl_val m = mounts->u.array.values[i];
      yajl_val dest = sp_json_get (m, "Destination"), driver = sp_json_get (m, "Driver");
      yajl_val mid;

      if (!sp_json_str_eq (sp_json_get (m, "Type"), "volume") || !YAJL_IS_STRING (driver)
          || sp_json_str_eq (driver, "local"))
        continue;
      mid = YAJL_IS_STRING (dest) ? sp_json_get (sp_json_get (mps, YAJL_GET_STRING (dest)), "ID")
                                  : NULL;
      if (!YAJL_IS_STRING (mid) || YAJL_GET_STRING (mid)[0] == '\0')
        return sp_error_make (err, EIO,
                              "dockerd %s: container %.12s: %s has no mount ID for its volume at "
                              "%.64s",
                              socket, id, path,
                              YAJL_IS_STRING (dest) ? YAJL_GET_STRING (dest) : "?");
    }
  if (mps == NULL || YAJL_IS_NULL (mps))
    return 0;
  for (size_t i = 0; i < mps->u.object.len; i++)
    {
      yajl_val mid = sp_json_get (mps->u.object.values[i], "ID");
      if (YAJL_IS_STRING (mid) && YAJL_GET_STRING (mid)[0] != '\0'
          && strset_add (ids, YAJL_GET_STRING (mid), err) < 0)
        return -1;
    }
  return 0;
}

/* Whether container ID holds its mounts: running, paused or restarting
   (a restarting container keeps its mounts between runs). */
static int
container_live (const char *socket, const char *id, bool *live, yajl_val *info, sp_error_t *err)
{
  char path[128];
  yajl_val st;
  long status = 0;

  *live = false;
  snprintf (path, sizeof (path), "/containers/%s/json", id);
  if (docker_get (socket, path, &status, info, err) < 0)
    return -1;
  if (status == 404)
    return 0; /* removed since the listing */
  if (status != 200)
    return sp_error_make (err, EIO, "dockerd %s: GET %s: HTTP %ld", socket, path, status);
  st = sp_json_get (*info, "State");
  *live = YAJL_IS_TRUE (sp_json_get (st, "Running")) || YAJL_IS_TRUE (sp_json_get (st, "Paused"))
          || YAJL_IS_TRUE (sp_json_get (st, "Restarting"));
  return 0;
}

static int
live_mount_ids (const char *socket, struct sp_strset *ids, sp_error_t *err)
{
  cleanup_yajl_val yajl_val info = NULL;
  cleanup_yajl_val yajl_val list = NULL;
  const char *root = NULL;
  long status = 0;

  ids->v = NULL;
  ids->n = 0;
  if (docker_get (socket, "/info", &status, &info, err) < 0)
    return -1;
  if (status != 200 || sp_json_get_string (info, "dockerd /info", "DockerRootDir", &root, err) != 0
      || root[0] != '/')
    {
      sp_error_release (err);
      return sp_error_make (err, EIO, "dockerd %s: GET /info: no DockerRootDir", socket);
    }
  if (docker_get (socket, "/containers/json?all=1", &status, &list, err) < 0)
    return -1;
  if (status != 200 || !YAJL_IS_ARRAY (list))
    return sp_error_make (err, EIO, "dockerd %s: GET /containers/json: HTTP %ld", socket, status);
  for (size_t i = 0; i < list->u.array.len; i++)
    {
      yajl_val idv = sp_json_get (list->u.array.values[i], "Id");
      cleanup_yajl_val yajl_val cinfo = NULL;
      bool live;

      if (!YAJL_IS_STRING (idv) || !is_container_id (YAJL_GET_STRING (idv)))
        {
          sp_strset_free (ids);
          return sp_error_make (err, EIO, "dockerd %s: a container without a valid Id", socket);
        }
      if (container_live (socket, YAJL_GET_STRING (idv), &live, &cinfo, err) < 0
          || (live
              && add_mount_ids (socket, root, YAJL_GET_STRING (idv), sp_json_get (cinfo, "Mounts"),
                                ids, err)
                     < 0))
        {
          sp_strset_free (ids);
          return -1;
        }
    }
  strset_sort (ids);
  return 0;
}

static int
volumes (const char *socket, struct sp_strset *vols, sp_error_t *err)
{
  cleanup_yajl_val yajl_val reply = NULL;
  yajl_val list;
  long status = 0;

  vols->v = NULL;
  vols->n = 0;
  if (docker_get (socket, "/volumes", &status, &reply, err) < 0)
    return -1;
  list = sp_json_get (reply, "Volumes");
  if (status != 200 || (list != NULL && !YAJL_IS_NULL (list) && !YAJL_IS_ARRAY (list)))
    return sp_error_make (err, EIO, "dockerd %s: GET /volumes: HTTP %ld", socket, status);
  for (size_t i = 0; list != NULL && YAJL_IS_ARRAY (list) && i < list->u.array.len; i++)
    {
      yajl_val name = sp_json_get (list->u.array.values[i], "Name");
      yajl_val mp = sp_json_get (list->u.array.values[i], "Mountpoint");
      cleanup_free char *entry = NULL;

      if (!YAJL_IS_STRING (name) || !YAJL_IS_STRING (mp))
        continue;
      if (asprintf (&entry, "%s\t%s", YAJL_GET_STRING (name), YAJL_GET_STRING (mp)) < 0)
        {
          entry = NULL;
          sp_strset_free (vols);
          return sp_error_sys (err, ENOMEM, "dockerd");
        }
      if (strset_add (vols, entry, err) < 0)
        {
          sp_strset_free (vols);
          return -1;
        }
    }
  strset_sort (vols);
  return 0;
}

int
sp_docker_live_mount_ids (const char *socket, struct sp_strset *ids, sp_error_t *err)
{
  struct curl_api api;
  int r;

  ids->v = NULL;
  ids->n = 0;
  if (curl_load (&api, err) < 0)
    return -1;
  curl = &api;
  r = live_mount_ids (socket, ids, err);
  curl = NULL;
  curl_unload (&api);
  return r;
}

int
sp_docker_volumes (const char *socket, struct sp_strset *vols, sp_error_t *err)
{
  struct curl_api api;
  int r;

  vols->v = NULL;
  vols->n = 0;
  if (curl_load (&api, err) < 0)
    return -1;
  curl = &api;
  r = volumes (socket, vols, err);
  curl = NULL;
  curl_unload (&api);
  return r;
}
