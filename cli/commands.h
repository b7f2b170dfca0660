/* shmpipectl's commands as one table: each row says its options, its usage
   line and its help; cli/command.c parses the options of every command and
   prints every help from it, and each command's run function gets what
   was parsed.  A new command is a file defining its struct sp_command, its
   name in the extern list below and a row in cli/main.c's table.  A new
   option of a command is a row in its opts; its run function reads it with
   sp_cli_has or sp_cli_value (or walks sp_cli_args for a repeatable one). */
#ifndef SHMPIPE_CLI_COMMANDS_H
#define SHMPIPE_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "error.h"
#include "store.h"

struct sp_ctx
{
  const struct sp_config *cfg;
  const char *root; /* --root, or NULL */
  /* Why the config did not load (doctor runs on the defaults then), or NULL. */
  const char *config_error;
};

/* One option of a command: --NAME [ARG], and -SHORT when SHORT is not 0.
   VAL is what the command's run function finds in sp_cli_args. */
struct sp_cli_opt
{
  const char *name;
  const char *arg; /* the value's name in help, NULL for a flag */
  int val;
  char short_name;
  const char *help; /* for --help; "\n" starts a continuation line */
};

/* The options given, in order (one entry per occurrence), and the operands. */
#define SP_CLI_ARGS_MAX 64
struct sp_cli_args
{
  size_t n;
  struct
  {
    int val;
    const char *arg; /* NULL for a flag */
  } opts[SP_CLI_ARGS_MAX];
  int argc; /* operands: what is left after the options */
  char **argv;
};

/* Whether option VAL was given; the value it was last given (NULL: none). */
bool sp_cli_has (const struct sp_cli_args *a, int val);
const char *sp_cli_value (const struct sp_cli_args *a, int val);

/* The VAL of row I of the pipeline options table (sp_opt_defs). */
#define SP_CLI_OPT_ROW(i) (256 + (int) (i))

struct sp_command
{
  const char *name;
  const char *alias;             /* another name ("list" for ls), or NULL */
  const char *synopsis;          /* the usage line after "shmpipectl NAME " ("" for none) */
  const char *summary;           /* its line(s) in `shmpipectl --help` */
  const char *help;              /* --help: what it does, after the usage line */
  const struct sp_cli_opt *opts; /* ended by a row with a NULL name; NULL for none */
  /* The pipeline options that have all of PIPELINE_FLAGS are options too
     (--size SIZE ...), when PIPELINE_OPTS. */
  bool pipeline_opts;
  unsigned pipeline_flags;
  int operands;               /* how many NAMEs it takes: 0 or 1 */
  const char *operands_error; /* the usage error when they are wrong, or NULL */
  const char *help_tail;      /* --help: after the options (defaults, failures), or NULL */
  const char *exit_status;    /* --help's exit status, or NULL for the usual one */
  bool runs_without_config;   /* doctor: a config that fails to load is a finding */
  int (*run) (struct sp_ctx *ctx, const struct sp_cli_args *a);
};

extern const struct sp_command sp_cmd_create, sp_cmd_options, sp_cmd_ls, sp_cmd_inspect, sp_cmd_rm,
    sp_cmd_gc, sp_cmd_join, sp_cmd_leave, sp_cmd_cdi, sp_cmd_resize, sp_cmd_doctor, sp_cmd_metrics,
    sp_cmd_restore;

/* Parses CMD's options and operands from ARGV (ARGV[0] the command's name).
   0: run it with A; 1: --help was printed (exit 0); 2: a usage error was
   printed (exit 2). */
int sp_cli_parse (const struct sp_command *cmd, int argc, char **argv, struct sp_cli_args *a);
void sp_cli_print_help (const struct sp_command *cmd, FILE *f);
/* "  create NAME [OPTIONS]  create a pipeline ..." for `shmpipectl --help`. */
void sp_cli_print_commands (const struct sp_command *const *cmds, size_t n, FILE *f);

/* Prints "shmpipectl: MSG" and returns 1. */
int sp_cli_fail (sp_error_t *err);
/* A gc or restore report (sp_gc_report_fn; COMMAND is the command's name):
   a change on stdout, a failure on stderr. */
void sp_cli_report (void *command, const char *name, const char *what, bool failed);
/* Prints a usage error for COMMAND and returns 2. */
int sp_cli_usage (const char *command, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
