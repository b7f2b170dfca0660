/* shmpipectl doctor: what each check needs and how it reports. */
#ifndef SHMPIPE_CLI_DOCTOR_H
#define SHMPIPE_CLI_DOCTOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "commands.h"

#define DOCTOR_MAX_PATHS 8

struct doctor
{
  const struct sp_ctx *ctx;
  /* Paths the checks read; "explicit" ones must exist, default ones that
     are missing mean the integration is not in use on this host. */
  const char *hooks_dirs[DOCTOR_MAX_PATHS];
  size_t n_hooks_dirs;
  bool hooks_explicit;
  const char *containerd_config;
  bool containerd_explicit;
  const char *plugin_socket;
  bool plugin_explicit;
  const char *daemon_json;
  bool daemon_explicit;
  const char *crio_config; /* CRI-O's config directory (/etc/crio) */
  bool crio_explicit;
  pid_t engine_pids[DOCTOR_MAX_PATHS];
  size_t n_engine_pids;
  pid_t pid;            /* --pid, 0 when not given */
  const char *pipeline; /* --pipeline, with --pid */
  unsigned passed, failed, skipped;
};

/* One finding: "ok", "FAIL" (with FIX) or "skip", for CHECK. */
void doctor_ok (struct doctor *d, const char *check, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void doctor_fail (struct doctor *d, const char *check, const char *fix, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
void doctor_skip (struct doctor *d, const char *check, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* doctor_files.c: what the engines read. */
void doctor_check_config (struct doctor *d);
void doctor_check_hooks_d (struct doctor *d);
void doctor_check_containerd (struct doctor *d);
void doctor_check_plugin_socket (struct doctor *d);
void doctor_check_daemon_json (struct doctor *d);

/* doctor_dump.c: `containerd --config CONFIG config dump` (the config with
   its imports merged) into OUT; -1 when there is no containerd in PATH or it
   fails, is too slow or prints too much. */
int doctor_containerd_dump (const char *config, char **out, size_t *len);

/* doctor_crio.c: CRI-O's own hooks dir runs shmpipe-hook --cri. */
void doctor_check_crio (struct doctor *d);

/* doctor_mounts.c: what the engines and a process see. */
void doctor_check_store_visible (struct doctor *d);
void doctor_check_pid (struct doctor *d);

/* Whether PATH is a regular file, executable, named NAME (its last
   component); on false, WHY says what is wrong. */
bool doctor_is_tool (const char *path, const char *name, char *why, size_t len);

#endif
