#include "cri.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

/* KEY's string value, NULL when absent; a non-string is an error. */
static int
get (yajl_val a, const char *key, const char **out, sp_error_t *err)
{
  *out = NULL;
  if (!YAJL_IS_OBJECT (a))
    return 0;
  for (size_t i = 0; i < a->u.object.len; i++)
    if (strcmp (a->u.object.keys[i], key) == 0)
      {
        yajl_val v = a->u.object.values[i];
        if (!YAJL_IS_STRING (v))
          return sp_error_make (err, EINVAL, "annotation %s must be a string", key);
        /* A key given twice: the runtime keeps one, a forger hopes we read the other. */
        if (*out != NULL)
          return sp_error_make (err, EINVAL, "annotation %s is given twice", key);
        *out = YAJL_GET_STRING (v);
      }
  return 0;
}

/* One fact from containerd's key and CRI-O's: either, or both if equal. */
static int
get_agreed (yajl_val a, const char *k1, const char *k2, const char **out, sp_error_t *err)
{
  const char *v1, *v2;
  char s1[40], s2[40];

  if (get (a, k1, &v1, err) < 0 || get (a, k2, &v2, err) < 0)
    return -1;
  if (v1 != NULL && v2 != NULL && strcmp (v1, v2) != 0)
    return sp_error_make (err, EPERM,
                          "annotations %s=\"%s\" and %s=\"%s\" disagree: refused (one of them "
                          "is not the CRI's)",
                          k1, sp_printable (v1, 32, s1, sizeof (s1)), k2,
                          sp_printable (v2, 32, s2, sizeof (s2)));
  *out = v1 != NULL ? v1 : v2;
  return 0;
}

int
sp_cri_identify (yajl_val annotations, struct sp_cri_container *c, sp_error_t *err)
{
  const char *type;
  char shown[40];

  memset (c, 0, sizeof (*c));
  if (get_agreed (annotations, SP_CRI_CONTAINERD_TYPE, SP_CRI_CRIO_TYPE, &type, err) < 0
      || get_agreed (annotations, SP_CRI_CONTAINERD_NAMESPACE, SP_CRI_CRIO_NAMESPACE, &c->ns, err)
             < 0
      || get_agreed (annotations, SP_CRI_CONTAINERD_POD, SP_CRI_CRIO_POD, &c->pod, err) < 0
      || get_agreed (annotations, SP_CRI_CONTAINERD_CONTAINER, SP_CRI_CRIO_CONTAINER, &c->container,
                     err)
             < 0)
    return -1;
  if (type != NULL && strcmp (type, "sandbox") == 0)
    c->is_sandbox = true;
  else if (type != NULL && strcmp (type, "container") != 0)
    return sp_error_make (err, EINVAL, "annotation %s: unknown container type \"%s\"",
                          SP_CRI_CONTAINERD_TYPE, sp_printable (type, 32, shown, sizeof (shown)));
  if (c->ns == NULL)
    {
      if (type != NULL && !c->is_sandbox)
        return sp_error_make (err, EINVAL,
                              "a pod's container without its namespace (annotation %s)",
                              SP_CRI_CONTAINERD_NAMESPACE);
      return 0;
    }
  if (!sp_namespace_valid (c->ns))
    return sp_error_make (err, EINVAL, "invalid pod namespace \"%s\"",
                          sp_printable (c->ns, 32, shown, sizeof (shown)));
  c->is_pod = true;
  return 0;
}

int
sp_cri_pipeline_name (const struct sp_cri_container *c, const char *requested, char *out,
                      size_t len, sp_error_t *err)
{
  bool qualified = strchr (requested, '/') != NULL;
  int n;

  if (!c->is_pod && qualified)
    return sp_error_make (err, EPERM,
                          "a qualified name (NAMESPACE/NAME) is for Kubernetes pods only; "
                          "this container is no pod");
  if (!c->is_pod || qualified)
    n = snprintf (out, len, "%s", requested);
  else
    n = snprintf (out, len, "%s/%s", c->ns, requested);
  if (n < 0 || (size_t) n >= len)
    return sp_error_make (err, ENAMETOOLONG, "pipeline name too long");
  return sp_qname_check (out, err);
}
