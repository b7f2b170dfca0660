/* shmpipectl's commands: each parses its own options and returns an exit code. */
#ifndef SHMPIPE_CLI_COMMANDS_H
#define SHMPIPE_CLI_COMMANDS_H

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

struct sp_command
{
  const char *name;
  int (*fn) (struct sp_ctx *ctx, int argc, char **argv);
};

int sp_cmd_create (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_options (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_ls (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_inspect (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_rm (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_gc (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_restore (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_join (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_leave (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_cdi (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_resize (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_doctor (struct sp_ctx *ctx, int argc, char **argv);
int sp_cmd_metrics (struct sp_ctx *ctx, int argc, char **argv);

/* Prints "shmpipectl: MSG" and returns 1. */
int sp_cli_fail (sp_error_t *err);
/* A gc or restore report (sp_gc_report_fn; COMMAND is the command's name):
   a change on stdout, a failure on stderr. */
void sp_cli_report (void *command, const char *name, const char *what, bool failed);
/* Prints a usage error for COMMAND and returns 2. */
int sp_cli_usage (const char *command, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
