/* A pipeline's record: its tmpfs options and members, and its JSON state file. */
#ifndef SHMPIPE_STATE_H
#define SHMPIPE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>

#include "error.h"
#include "names.h"
#include "pipeline_options.h"

#define SP_STATE_VERSION 1
#define SP_STATE_MAX_BYTES (1024 * 1024)
/* Members a join may add.  A member takes at most about 290 bytes of record
   (an id of SP_MEMBER_ID_MAX bytes and the widest pid, start time and
   date), so the largest record stays far below SP_STATE_MAX_BYTES, which
   every reader enforces (tests/unit/test_config_state.c proves it).  A
   host runs a few hundred containers; 1024 in one pipeline is plenty. */
#define SP_MEMBERS_MAX 1024
/* Members a record may list when read: earlier releases let joins go up to
   4096 (as long as the record fit), and what they wrote must still load. */
#define SP_MEMBERS_LOAD_MAX 4096

struct sp_member
{
  char *id;            /* container id, "docker:MOUNTID", ... */
  int64_t pid;         /* 0 when unknown */
  uint64_t start_time; /* /proc/PID/stat starttime: tells a reused pid apart */
  int64_t joined;      /* unix seconds */
  /* A Kubernetes pod's container, from the CRI's annotations; NULL for
     other members (records before namespaces have none). */
  char *pod_namespace;
  char *pod;
  char *container;
};

/* The longest pod or container name kept: Kubernetes' 253-byte DNS subdomain. */
#define SP_POD_NAME_MAX 253

struct sp_pipeline
{
  char name[SP_QNAME_MAX + 1];
  struct sp_pipeline_opts opts;
  int64_t created;
  struct sp_member *members;
  size_t n_members;
};

int sp_state_parse (const char *buf, size_t len, struct sp_pipeline *p, sp_error_t *err);
int sp_state_generate (const struct sp_pipeline *p, char **out, size_t *len, sp_error_t *err);
void sp_pipeline_free (struct sp_pipeline *p);

/* Index of the member with ID, or -1. */
ssize_t sp_pipeline_find_member (const struct sp_pipeline *p, const char *id);
int sp_pipeline_add_member (struct sp_pipeline *p, const char *id, int64_t pid, uint64_t start_time,
                            int64_t joined, sp_error_t *err);
void sp_pipeline_remove_member (struct sp_pipeline *p, size_t idx);
/* Records which pod and container member M is (each may be NULL). */
int sp_member_set_pod (struct sp_member *m, const char *ns, const char *pod, const char *container,
                       sp_error_t *err);

/* "a, b, c, d and 3 more": the members for a message. */
void sp_pipeline_format_members (const struct sp_pipeline *p, char *buf, size_t len);

/* Whether M's process is gone (a member without a pid never is): gc drops
   such members. */
bool sp_member_is_gone (const struct sp_member *m);
/* Whether P is due for removal: ephemeral with no member left. */
bool sp_pipeline_is_spent (const struct sp_pipeline *p);

/* The object `shmpipectl inspect` prints (also `ls --json` entries);
   IPC_NAMESPACE is NULL for a pipeline without one. */
void sp_pipeline_gen_info (yajl_gen g, const struct sp_pipeline *p, const char *mountpoint,
                           const char *ipc_namespace, uint64_t used);

/* RFC 3339 in UTC ("2026-11-27T07:18:30Z"); BUF needs 21 bytes. */
void sp_format_time (int64_t t, char *buf, size_t len);
int sp_parse_time (const char *s, int64_t *out);

#define cleanup_pipeline __attribute__ ((cleanup (sp_pipeline_free)))

#endif
