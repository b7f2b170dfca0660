/* /etc/shmpipe/config.json: site defaults and limits shared by every binary. */
#ifndef SHMPIPE_CONFIG_H
#define SHMPIPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

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
/* container_socket_prefixes: at most this many; by default /tmp, /run and
   /var/run, where applications look for sockets and nothing of the image
   lives that a socket directory over it could replace. */
#define SP_SOCKET_PREFIXES_MAX 8
/* A config list of container paths (container_socket_prefixes). */
struct sp_path_list
{
  char path[SP_SOCKET_PREFIXES_MAX][SP_OPT_PATH_MAX];
  size_t n;
};
#define SP_DEFAULT_SOCKET_PREFIXES                                                                 \
  {                                                                                                \
    "/tmp", "/run", "/var/run"                                                                     \
  }

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
  /* Where a container's io.shmpipe.sockets may put a socket directory:
     below one of these (by whole components). */
  struct sp_path_list socket_prefixes;
  /* Day-2 operations (issue 15, part A). */
  char *docker_socket; /* dockerd's API for gc; NULL: the default, "": off */
};

/* Built-in defaults: root /run/shmpipe, 64 MiB default, max half of RAM,
   mode 1777, 65536 inodes, auto-create on, auto-created pipelines ephemeral;
   no CDI spec kept (cdi_spec_dir and cdi_hook NULL stand for the defaults);
   at most 4096 pipelines whose sizes sum to at most RAM; containers may set
   every container row but lifetime=persistent, with a size of at most 1 GiB
   (or max_size when smaller), and a socket directory only below /tmp, /run
   or /var/run. */
void sp_config_defaults (struct sp_config *cfg);

/* Parses config JSON over CFG (which holds defaults).  Unknown keys, wrong
   types and inconsistent limits are errors.  */
int sp_config_parse (const char *buf, size_t len, struct sp_config *cfg, sp_error_t *err);

/* Loads PATH (NULL: $SHMPIPE_CONFIG, else the default path).  A missing file
   means defaults, unless the path was given explicitly.  */
int sp_config_load (const char *path, bool explicit_path, struct sp_config *cfg, sp_error_t *err);

void sp_config_free (struct sp_config *cfg);
/* A config freed at the end of its scope (start it as { 0 }). */
#define cleanup_config __attribute__ ((cleanup (sp_config_free)))

/* The file errors tell users to edit: CFG's path, or a phrase saying none
   was read. */
const char *sp_config_file (const struct sp_config *cfg);

/* Checks the options a container's annotations gave (GIVEN) and the
   options O its pipeline would be made with against the container_* keys;
   the error names the annotation, the key and the file. */
int sp_config_check_container (const struct sp_config *cfg, const struct sp_pipeline_opts *o,
                               sp_opt_mask given, sp_error_t *err);

/* The keys of config.json, as one table (config_keys.c): each row
   drives the parser, the "did you mean" of an unknown key, the Markdown
   table of docs/config.md and the unit test that holds
   schemas/config.schema.json to it. */
enum sp_config_kind
{
  SP_CFG_SCHEMA,    /* "$schema": any string, read by editors, not by us */
  SP_CFG_PATH,      /* an absolute path without "..", at most MAX bytes; char *, NULL: DEF */
  SP_CFG_SOCKET,    /* an absolute path of at most MAX bytes, or "" for off; char * */
  SP_CFG_SIZE,      /* "64m" or bytes; uint64_t */
  SP_CFG_MODE,      /* octal string; mode_t */
  SP_CFG_COUNT,     /* an integer from 1 to MAX; uint64_t */
  SP_CFG_BOOL,      /* bool */
  SP_CFG_LIFETIME,  /* enum sp_lifetime */
  SP_CFG_LOG_LEVEL, /* enum sp_log_level */
  SP_CFG_OPTIONS,   /* option names a container may set; sp_opt_mask */
  SP_CFG_PATHS,     /* up to MAX normalized container paths; struct sp_path_list */
};

struct sp_config_key
{
  const char *name; /* first: sp_nearest reads the rows as names */
  enum sp_config_kind kind;
  size_t offset;    /* of the field in struct sp_config (unused for SP_CFG_SCHEMA) */
  uint64_t max;     /* COUNT: the largest value; PATH, SOCKET: the longest */
  const char *def;  /* the default as JSON text, or NULL when it is computed */
  const char *note; /* for people: a computed default, or what follows DEF */
  const char *help; /* one line for docs/config.md */
};

extern const struct sp_config_key sp_config_keys[];
extern const size_t sp_config_key_count;

const struct sp_config_key *sp_config_key_find (const char *name);
/* Parses V, the value of key K, into CFG. */
int sp_config_key_parse (const struct sp_config_key *k, yajl_val v, struct sp_config *cfg,
                         sp_error_t *err);
/* The Markdown table of docs/config.md (a unit test checks that file). */
void sp_config_print_table (FILE *f);

#endif
