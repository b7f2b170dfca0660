/* /etc/shmpipe/config.json: site defaults and limits shared by every binary. */
#ifndef SHMPIPE_CONFIG_H
#define SHMPIPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "options.h"

#define SP_DEFAULT_ROOT "/run/shmpipe"
#define SP_DEFAULT_CONFIG "/etc/shmpipe/config.json"
#define SP_CONFIG_MAX_BYTES (64 * 1024)
#define SP_DEFAULT_DOCKER_SOCKET "/run/docker.sock"

enum sp_log_level
{
  SP_LOG_ERROR = 0,
  SP_LOG_WARNING,
  SP_LOG_INFO,
  SP_LOG_DEBUG,
};

struct sp_config
{
  char *path; /* the file read, NULL when none was (built-in defaults) */
  char *root;
  uint64_t default_size;
  uint64_t max_size;
  mode_t default_mode;
  uint64_t max_inodes;
  bool auto_create;
  enum sp_lifetime auto_lifetime;
  enum sp_log_level log_level;
  /* Day-2 operations (issue 15, part A). */
  char *docker_socket; /* dockerd's API for gc; NULL: the default, "": off */
};

/* Built-in defaults: root /run/shmpipe, 64 MiB default, max half of RAM,
   mode 1777, 65536 inodes, auto-create on, auto-created pipelines ephemeral. */
void sp_config_defaults (struct sp_config *cfg);

/* Parses config JSON over CFG (which holds defaults).  Unknown keys, wrong
   types and inconsistent limits are errors.  */
int sp_config_parse (const char *buf, size_t len, struct sp_config *cfg, sp_error_t *err);

/* Loads PATH (NULL: $SHMPIPE_CONFIG, else the default path).  A missing file
   means defaults, unless the path was given explicitly.  */
int sp_config_load (const char *path, bool explicit_path, struct sp_config *cfg, sp_error_t *err);

void sp_config_free (struct sp_config *cfg);

const char *sp_log_level_name (enum sp_log_level l);

#endif
