/* The options a pipeline is made of, as one table: each row drives the CLI's
   flag, the plugin's -o key, the io.shmpipe.* annotation, the record key,
   inspect's JSON, the tmpfs mount option and the help line.  A new option is
   a row here, a field in struct sp_pipeline_opts, and its own behaviour. */
#ifndef SHMPIPE_PIPELINE_OPTIONS_H
#define SHMPIPE_PIPELINE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "error.h"
#include "names.h"
#include "options.h"

/* allow-namespaces: at most 8 namespaces, comma-separated. */
#define SP_ALLOW_NS_COUNT 8
#define SP_ALLOW_NS_MAX (SP_ALLOW_NS_COUNT * (SP_NS_MAX + 1))
/* The longest container path a row takes, with its NUL. */
#define SP_OPT_PATH_MAX 128
/* The longest text of any option's value (sp_opt_format's buffer): the
   allow list is the longest row. */
#define SP_OPT_VALUE_MAX (SP_ALLOW_NS_MAX + 1)

/* What a pipeline is made of; what create takes and inspect shows. */
struct sp_pipeline_opts
{
  uint64_t size;
  mode_t mode;
  uint32_t uid;
  uint32_t gid;
  enum sp_huge huge;
  enum sp_lifetime lifetime;
  uint64_t inodes;
  bool ipc; /* pin an IPC namespace of its own (SysV shm/sem, POSIX mqueues) */
  /* For NS/NAME: other Kubernetes namespaces whose pods may join it
     ("team-b,team-c"; empty: only NS's own pods). */
  char allow_namespaces[SP_ALLOW_NS_MAX];
  /* Where members see the pipeline's socket directory ("" for none). */
  char sockets[SP_OPT_PATH_MAX];
  /* A request's, never the pipeline's (create=false): join it, never make it. */
  bool join_only;
};

/* How a value is written, parsed, and stored in a record. */
enum sp_opt_kind
{
  SP_OPT_SIZE,     /* "64m"; record: bytes */
  SP_OPT_MODE,     /* octal "1777"; record: "1777" */
  SP_OPT_ID,       /* uid or gid; record: number */
  SP_OPT_COUNT,    /* positive count; record: number */
  SP_OPT_HUGE,     /* never, always, within_size, advise */
  SP_OPT_LIFETIME, /* persistent, ephemeral */
  SP_OPT_BOOL,     /* true/false (a bare CLI flag); record: JSON bool */
  SP_OPT_NSLIST,   /* Kubernetes namespaces, comma-separated; each parse adds to the list */
  SP_OPT_PATH,     /* an absolute, normalized container path; "" is none */
  SP_OPT_NEGBOOL,  /* true/false; the field holds its negation, so zero is true */
};

enum
{
  /* A container's io.shmpipe.NAME annotation may set it, for a pipeline the
     hook or the runtime wrapper creates. */
  SP_OPT_F_CONTAINER = 1u << 0,
  /* A live pipeline may change it (tmpfs remount). */
  SP_OPT_F_CHANGEABLE = 1u << 1,
  /* Added after the first record format: a record without it loads with the
     zero value, which must mean "as before the option existed". */
  SP_OPT_F_OPTIONAL = 1u << 2,
  /* How a request joins, not what a pipeline is: never in a record (the
     previous release must read what this one writes), in inspect, in a
     comparison of two pipelines' options, nor a flag of shmpipectl create. */
  SP_OPT_F_REQUEST = 1u << 3,
};

struct sp_opt_def
{
  const char *name; /* --NAME, -o NAME=, io.shmpipe.NAME, record and inspect key */
  enum sp_opt_kind kind;
  size_t offset; /* of the field in struct sp_pipeline_opts */
  unsigned flags;
  const char *mount_key; /* the tmpfs option it becomes, or NULL */
  const char *arg;       /* the value's name in help, NULL for a bare flag */
  const char *help;      /* one line; the default is said by the caller's table */
  /* The record format (SP_STATE_VERSION) that introduced the row; 0 for the
     first.  A row added later is SP_OPT_F_OPTIONAL with a format of its own:
     records that leave it at its zero value keep the older format. */
  unsigned format;
};

/* Bit I stands for row I: which options a request gave. */
typedef uint32_t sp_opt_mask;

extern const struct sp_opt_def sp_opt_defs[];
extern const size_t sp_opt_count;

const struct sp_opt_def *sp_opt_find (const char *name);
#define sp_opt_bit(d) ((sp_opt_mask) 1 << ((d) -sp_opt_defs))

/* Parses VALUE into D's field of O.  An empty VALUE of a bool means true. */
int sp_opt_parse (const struct sp_opt_def *d, const char *value, struct sp_pipeline_opts *o,
                  sp_error_t *err);

/* The error for an unknown option NAME as its users spell it, WHAT "PREFIXNAME":
   `unknown option "sizee" (did you mean "size"?)`, or the known names when
   none is near.  Returns -1. */
int sp_opt_unknown (const char *what, const char *prefix, const char *name, sp_error_t *err);

/* Sets option NAME from its text (an unknown NAME: sp_opt_unknown).  Marks
   the row in *GIVEN when not NULL. */
int sp_opts_set (struct sp_pipeline_opts *o, const char *name, const char *value,
                 sp_opt_mask *given, sp_error_t *err);

/* D's value in O as its parser reads it ("64m" is written as bytes). */
void sp_opt_format (const struct sp_opt_def *d, const struct sp_pipeline_opts *o, char *buf,
                    size_t len);

/* Whether namespace NS is in O's allow-namespaces. */
bool sp_opts_allows_namespace (const struct sp_pipeline_opts *o, const char *ns);

/* The first option in which A and B differ, or NULL. */
const char *sp_opts_differ (const struct sp_pipeline_opts *a, const struct sp_pipeline_opts *b);

/* The options GIVEN in REQUESTED laid over DST (the defaults). */
void sp_opts_overlay (struct sp_pipeline_opts *dst, const struct sp_pipeline_opts *requested,
                      sp_opt_mask given);

/* One key per row, for the record and for inspect. */
void sp_opts_gen (yajl_gen g, const struct sp_pipeline_opts *o);
/* The rows for a record: an optional row at its zero value is left out, so
   that older releases, which do not know its key, read the record. */
void sp_opts_gen_record (yajl_gen g, const struct sp_pipeline_opts *o);
/* The record format O needs: the highest format of the rows it sets. */
unsigned sp_opts_record_format (const struct sp_pipeline_opts *o);
/* Reads the rows back from a record object; WHAT prefixes errors. */
int sp_opts_parse_record (yajl_val obj, const char *what, struct sp_pipeline_opts *o,
                          sp_error_t *err);
/* Whether KEY is one sp_opts_gen writes. */
bool sp_opts_is_record_key (const char *key);

/* Calls FN for each tmpfs option O maps to (huge=never is left out: it is
   the kernel's default, and passing it needs THP support).  Stops at the
   first non-zero return of FN and returns it. */
typedef int (*sp_mount_opt_fn) (void *ctx, const char *key, const char *value);
int sp_opts_mount_each (const struct sp_pipeline_opts *o, sp_mount_opt_fn fn, void *ctx);

/* The table for people: shmpipectl's flags, the plugin's -o keys, or the
   Markdown table of docs/pipeline-options.md (a unit test checks that file
   against it). */
/* What io.shmpipe.NAME annotations start with (lib/oci.h uses it too). */
#define SP_OPTS_ANNOTATION_PREFIX "io.shmpipe."

enum sp_opts_style
{
  SP_OPTS_CLI,
  SP_OPTS_PLUGIN,
  SP_OPTS_MARKDOWN,
};
void sp_opts_print_table (FILE *f, enum sp_opts_style style);

/* "size, mode, ..." of the rows that have all of FLAGS. */
void sp_opts_names (unsigned flags, char *buf, size_t len);
/* Whether config's container_options may list D: a row containers may set
   that is the pipeline's (a request row, create=false, asks for less and is
   always allowed); and those rows' names, as sp_opts_names. */
bool sp_opt_grantable (const struct sp_opt_def *d);
void sp_opts_grantable_names (char *buf, size_t len);

#endif
