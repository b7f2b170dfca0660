/* The command table's machinery: every command's options parsed one way
   (getopt_long over the row's options), every --help laid out one way, and
   `shmpipectl --help`'s list of commands. */
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "macro.h"
#include "pipeline_options.h"
#include "suggest.h"

/* Where an option's help starts, as in man pages' option lists, and where
   its lines wrap. */
#define HELP_COLUMN 25
#define HELP_WIDTH 79

/* LEFT, then TEXT from HELP_COLUMN on, wrapped at HELP_WIDTH; a "\n" in TEXT
   starts a new line there too. */
static void
print_entry (FILE *f, const char *left, const char *text)
{
  int n = fprintf (f, "  %s", left);

  /* Two spaces at least between LEFT and TEXT. */
  if (n + 2 > HELP_COLUMN)
    {
      fputc ('\n', f);
      n = 0;
    }
  fprintf (f, "%*s", HELP_COLUMN - n, "");
  n = HELP_COLUMN;
  for (const char *p = text; *p;)
    {
      size_t word = strcspn (p, " \n");

      if (n > HELP_COLUMN && n + 1 + (int) word > HELP_WIDTH)
        n = fprintf (f, "\n%*s", HELP_COLUMN, "") - 1;
      else if (n > HELP_COLUMN)
        n += fprintf (f, " ");
      n += fprintf (f, "%.*s", (int) word, p);
      p += word;
      if (*p == '\n')
        n = fprintf (f, "\n%*s", HELP_COLUMN, "") - 1;
      p += *p != '\0';
    }
  fputc ('\n', f);
}

static void
print_opt (FILE *f, char short_name, const char *name, const char *arg, const char *help)
{
  char left[96];

  if (short_name != 0)
    snprintf (left, sizeof (left), "-%c, --%s%s%s", short_name, name, arg ? " " : "",
              arg ? arg : "");
  else
    snprintf (left, sizeof (left), "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
  print_entry (f, left, help);
}

/* Whether pipeline option D is one of CMD's options.  A request row
   (create=false) says how a container joins, not what a pipeline is: no
   command takes it. */
static bool
takes_row (const struct sp_command *cmd, const struct sp_opt_def *d)
{
  return cmd->pipeline_opts && (d->flags & cmd->pipeline_flags) == cmd->pipeline_flags
         && !(d->flags & SP_OPT_F_REQUEST);
}

void
sp_cli_print_help (const struct sp_command *cmd, FILE *f)
{
  fprintf (f, "Usage: shmpipectl %s%s%s\n\n%s", cmd->name, cmd->synopsis[0] ? " " : "",
           cmd->synopsis, cmd->help);
  fputs ("\nOptions:\n", f);
  for (size_t i = 0; cmd->pipeline_opts && i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char help[256];

      if (!takes_row (cmd, d))
        continue;
      /* create: which rows a container's annotations may set too. */
      snprintf (help, sizeof (help), "%s%s", d->help,
                cmd->pipeline_flags == 0 && (d->flags & SP_OPT_F_CONTAINER) ? " [annotation]" : "");
      print_opt (f, 0, d->name, d->arg, help);
    }
  for (const struct sp_cli_opt *o = cmd->opts; o != NULL && o->name != NULL; o++)
    print_opt (f, o->short_name, o->name, o->arg, o->help);
  print_opt (f, 'h', "help", NULL, "print this help and exit");
  if (cmd->help_tail != NULL)
    fprintf (f, "\n%s", cmd->help_tail);
  fprintf (f, "\nExit status: %s",
           cmd->exit_status != NULL ? cmd->exit_status
                                    : "0 on success, 1 on an error (one line on stderr naming\n"
                                      "the pipeline and the cause), 2 on a usage error.\n");
}

void
sp_cli_print_commands (const struct sp_command *const *cmds, size_t n, FILE *f)
{
  for (size_t i = 0; i < n; i++)
    {
      char left[128];
      snprintf (left, sizeof (left), "%s%s%s", cmds[i]->name, cmds[i]->synopsis[0] ? " " : "",
                cmds[i]->synopsis);
      print_entry (f, left, cmds[i]->summary);
    }
}

/* The getopt_long table of CMD: its rows, the pipeline rows it takes, and
   --help; SHORTS gets the short options. */
static size_t
build_options (const struct sp_command *cmd, struct option *out, size_t max, char *shorts,
               size_t shorts_len)
{
  size_t n = 0, s = 0;

  /* ':' first: a missing value is told from an unknown option. */
  shorts[s++] = ':';
  shorts[s++] = 'h';
  for (size_t i = 0; cmd->pipeline_opts && i < sp_opt_count && n < max - 2; i++)
    if (takes_row (cmd, &sp_opt_defs[i]))
      out[n++] = (struct option){ sp_opt_defs[i].name,
                                  sp_opt_defs[i].arg ? required_argument : no_argument, NULL,
                                  SP_CLI_OPT_ROW (i) };
  for (const struct sp_cli_opt *o = cmd->opts; o != NULL && o->name != NULL && n < max - 2; o++)
    {
      out[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->val };
      if (o->short_name != 0 && s + 3 < shorts_len)
        {
          shorts[s++] = o->short_name;
          if (o->arg != NULL)
            shorts[s++] = ':';
        }
    }
  out[n++] = (struct option){ "help", no_argument, NULL, 'h' };
  out[n] = (struct option){ NULL, 0, NULL, 0 };
  shorts[s] = '\0';
  return n;
}

/* The usage error for ARG, an option getopt refused (C ':' when its value
   is missing). */
static int
bad_option (const struct sp_command *cmd, const struct option *opts, size_t n, int c,
            const char *arg)
{
  cleanup_error sp_error_t err = NULL;
  const struct option *known = NULL;
  const char *near;
  char name[64];

  if (strncmp (arg, "--", 2) != 0)
    return sp_cli_usage (cmd->name, c == ':' ? "option %.64s needs a value" : "bad option %.64s",
                         arg);
  snprintf (name, sizeof (name), "%.*s", (int) strcspn (arg + 2, "="), arg + 2);
  for (size_t i = 0; i < n && known == NULL; i++)
    if (strcmp (opts[i].name, name) == 0)
      known = &opts[i];
  if (known != NULL && (c == ':' || known->has_arg == required_argument))
    return sp_cli_usage (cmd->name, "option --%s needs a value", name);
  if (known != NULL)
    return sp_cli_usage (cmd->name, "option --%s takes no value", name);
  /* create names the nearest pipeline option, or lists them all. */
  if (cmd->pipeline_opts && sp_opt_find (name) != NULL
      && (sp_opt_find (name)->flags & SP_OPT_F_REQUEST))
    return sp_cli_usage (cmd->name,
                         "%s is a container's request (annotation " SP_OPTS_ANNOTATION_PREFIX
                         "%s), not an option of a pipeline",
                         name, name);
  if (cmd->pipeline_opts && cmd->pipeline_flags == 0)
    {
      sp_opt_unknown ("option", "--", name, &err);
      return sp_cli_usage (cmd->name, "%s", err->msg);
    }
  near = sp_nearest (name, opts, n, sizeof (opts[0]));
  if (near != NULL)
    return sp_cli_usage (cmd->name, "unknown option \"--%s\" (did you mean \"--%s\"?)", name, near);
  return sp_cli_usage (cmd->name, "bad option %.64s", arg);
}

bool
sp_cli_has (const struct sp_cli_args *a, int val)
{
  for (size_t i = 0; i < a->n; i++)
    if (a->opts[i].val == val)
      return true;
  return false;
}

const char *
sp_cli_value (const struct sp_cli_args *a, int val)
{
  const char *v = NULL;

  for (size_t i = 0; i < a->n; i++)
    if (a->opts[i].val == val)
      v = a->opts[i].arg;
  return v;
}

int
sp_cli_parse (const struct sp_command *cmd, int argc, char **argv, struct sp_cli_args *a)
{
  struct option opts[SP_CLI_ARGS_MAX];
  char shorts[SP_CLI_ARGS_MAX];
  size_t n = build_options (cmd, opts, ARRAY_SIZE (opts), shorts, sizeof (shorts));
  int c;

  memset (a, 0, sizeof (*a));
  optind = 0; /* a fresh start of GNU getopt: ARGV[0] is the command */
  opterr = 0;
  while ((c = getopt_long (argc, argv, shorts, opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          sp_cli_print_help (cmd, stdout);
          return 1;
        }
      if (c == '?' || c == ':')
        {
          const char *arg = argv[optind - 1];
          char shown[3] = { '-', (char) optopt, '\0' };

          /* A short option's text may be a cluster ("-xf"): name the one. */
          if (strncmp (arg, "--", 2) != 0 && optopt > 0 && optopt < 256)
            arg = shown;
          return bad_option (cmd, opts, n, c, arg);
        }
      if (a->n == SP_CLI_ARGS_MAX)
        return sp_cli_usage (cmd->name, "more than %d options", SP_CLI_ARGS_MAX);
      a->opts[a->n].val = c;
      a->opts[a->n].arg = optarg;
      a->n++;
    }
  a->argc = argc - optind;
  a->argv = argv + optind;
  if (cmd->operands == 1 && a->argc != 1)
    return sp_cli_usage (cmd->name, "%s",
                         cmd->operands_error ? cmd->operands_error : "want exactly one NAME");
  if (cmd->operands == 0 && a->argc != 0)
    {
      if (cmd->operands_error != NULL)
        return sp_cli_usage (cmd->name, "%s", cmd->operands_error);
      return sp_cli_usage (cmd->name, "unexpected argument \"%.64s\"", a->argv[0]);
    }
  return 0;
}
