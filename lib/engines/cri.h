/* What a Kubernetes CRI (containerd, CRI-O) says about a container in its
   OCI annotations: whether it is a pod's sandbox or app container, and the
   pod's namespace, name and container name.  Pipelines are named per
   namespace from these, so only keys the CRI itself sets are read, and a
   request whose keys disagree (one a pod forged) is refused. */
#ifndef SHMPIPE_CRI_H
#define SHMPIPE_CRI_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "error.h"

/* containerd's */
#define SP_CRI_CONTAINERD_TYPE "io.kubernetes.cri.container-type"
#define SP_CRI_CONTAINERD_NAMESPACE "io.kubernetes.cri.sandbox-namespace"
#define SP_CRI_CONTAINERD_POD "io.kubernetes.cri.sandbox-name"
#define SP_CRI_CONTAINERD_CONTAINER "io.kubernetes.cri.container-name"
/* CRI-O's */
#define SP_CRI_CRIO_TYPE "io.kubernetes.cri-o.ContainerType"
#define SP_CRI_CRIO_NAMESPACE "io.kubernetes.pod.namespace"
#define SP_CRI_CRIO_POD "io.kubernetes.pod.name"
#define SP_CRI_CRIO_CONTAINER "io.kubernetes.container.name"

struct sp_cri_container
{
  bool is_pod;     /* the CRI named a pod namespace */
  bool is_sandbox; /* the pod's sandbox (pause) container: never a member */
  /* Point into the annotations; NULL when absent. */
  const char *ns;
  const char *pod;
  const char *container;
};

/* Reads ANNOTATIONS (an object, or NULL: not a pod).  Fails when containerd's
   and CRI-O's keys for one thing disagree, a type is neither "sandbox" nor
   "container", a namespace is no valid Kubernetes namespace, or an app
   container's pod has no namespace.  */
int sp_cri_identify (yajl_val annotations, struct sp_cri_container *c, sp_error_t *err);

/* The pipeline's full name for REQUESTED (as the container gave it): a pod's
   NAME is NS/NAME in its own namespace; OTHER/NAME stays as it is.  For a
   container that is no pod, a plain name stays and a qualified one is
   refused: namespaces are Kubernetes'.  OUT has SP_QNAME_MAX + 1 bytes. */
int sp_cri_pipeline_name (const struct sp_cri_container *c, const char *requested, char *out,
                          size_t len, sp_error_t *err);

#endif
