/* /etc/shmpipe/config.json: site defaults and limits shared by every binary. */
#ifndef SHMPIPE_CONFIG_H
#define SHMPIPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "log.h"
#include "options.h"
#include "pipeline_options.h"

#define SP_DEFAULT_ROOT "/run/shmpipe"
#define SP_DEFAULT_CONFIG "/etc/shmpipe/config.json"
#define SP_CONFIG_MAX_BYTES (64 * 1024)
#define SP_DEFAULT_CDI_SPEC_DIR "/etc/cdi"
#define SP_DEFAULT_CDI_HOOK "/usr/local/libexec/shmpipe/shmpipe-hook"
#define SP_DEFAULT_DOCKER_SOCKET "/run/docker.sock"

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
  /* CDI: whether create, rm, the plugin and gc keep the spec current; the
     directory it goes to; the hook its devices run.  */
  bool cdi;
  char *cdi_spec_dir;
  char *cdi_hook;
  /* Quotas and what containers may ask for: every create counts against
     max_pipelines and max_total_size; a container's io.shmpipe.*
     annotations are held to the container_* keys. */
  uint64_t max_pipelines;
  uint64_t max_total_size;
  sp_opt_mask container_options; /* the rows a container may set */
  uint64_t container_max_size;
  bool container_persistent;
  /* Day-2 operations (issue 15, part A). */
  char *docker_socket; /* dockerd's API for gc; NULL: the default, "": off */
};

/* Built-in defaults: root /run/shmpipe, 64 MiB default, max half of RAM,
   mode 1777, 65536 inodes, auto-create on, auto-created pipelines ephemeral;
   no CDI spec kept (cdi_spec_dir and cdi_hook NULL stand for the defaults);
   at most 4096 pipelines whose sizes sum to at most RAM; containers may set
   every container row but lifetime=persistent, with a size of at most 1 GiB
   (or max_size when smaller). */
void sp_config_defaults (struct sp_config *cfg);

/* Parses config JSON over CFG (which holds defaults).  Unknown keys, wrong
   types and inconsistent limits are errors.  */
int sp_config_parse (const char *buf, size_t len, struct sp_config *cfg, sp_error_t *err);

/* Loads PATH (NULL: $SHMPIPE_CONFIG, else the default path).  A missing file
   means defaults, unless the path was given explicitly.  */
int sp_config_load (const char *path, bool explicit_path, struct sp_config *cfg, sp_error_t *err);

void sp_config_free (struct sp_config *cfg);

/* The file errors tell users to edit: CFG's path, or a phrase saying none
   was read. */
const char *sp_config_file (const struct sp_config *cfg);

/* Checks the options a container's annotations gave (GIVEN) and the
   options O its pipeline would be made with against the container_* keys;
   the error names the annotation, the key and the file. */
int sp_config_check_container (const struct sp_config *cfg, const struct sp_pipeline_opts *o,
                               sp_opt_mask given, sp_error_t *err);

#endif
