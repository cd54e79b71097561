/*
 * cmd: the `idp` command line. Thin: each verb parses its flags, calls the
 * rooms, prints, and maps errors to exit codes. Only this room may exit().
 */
#ifndef IDP_CMD_H
#define IDP_CMD_H

#include "base/base.h"
#include "doc/doc.h"
#include "gitops/gitops.h"

#include <time.h>

/* Exit codes, documented in `idp --help`. */
enum { IDP_EXIT_OK = 0, IDP_EXIT_RUNTIME = 1, IDP_EXIT_INPUT = 2 };

/* The exit code for an IDP_E* value. */
int idp_cmd_exit_code(int rc);
/* Prints err to stderr as one line, like a compiler. */
void idp_cmd_print_err(const idp_err *err);

/* The inputs named by -f: files, directories (walked recursively for
 * .yaml/.yml/.json, in sorted order), "-" for standard input, and
 * "embedded:NAME" (or "embedded:" for all) for files built into idp. */
typedef struct idp_cmd_input {
	char *name;        /* as shown in messages; owned */
	const char *data;  /* embedded data (static), or NULL to read name */
	size_t len;
} idp_cmd_input;

typedef struct idp_cmd_inputs {
	idp_cmd_input *items; /* owned */
	size_t len, cap;
} idp_cmd_inputs;

/* Expands one -f argument into inputs. */
int idp_cmd_inputs_add(idp_cmd_inputs *in, const char *arg, idp_err *err);
void idp_cmd_inputs_free(idp_cmd_inputs *in);
/* Loads one input into a (see idp_doc_load). */
int idp_cmd_input_load(idp_arena *a, const idp_cmd_input *input, idp_doc_stream *out, idp_err *err);

/* For --repeat: prints "<what>: N <unit> in S s: R <unit>/s, U us each"
 * on stderr, timed from t0 (CLOCK_MONOTONIC). */
void idp_cmd_report_rate(const char *what, const char *unit, long n, const struct timespec *t0);

/* Appends docs as YAML, or as JSON (one object as itself, several as a
 * v1 List, as kubectl prints them). */
int idp_cmd_emit_docs(idp_arena *a, idp_doc_node **docs, size_t n, bool json, idp_buf *out, idp_err *err);

/* Writes objs into dir, one file per object (idp_render_file_names) and a
 * kustomization.yaml, replacing dir as a whole with one rename. dir must
 * be missing, empty, or written by this function before. */
int idp_cmd_write_objects_dir(idp_arena *a, const char *dir, idp_doc_node *const *objs, size_t n, idp_err *err);
/* The same files in memory (name -> YAML), for a GitOps commit. */
int idp_cmd_objects_files(idp_arena *a, idp_doc_node *const *objs, size_t n, idp_gitops_files *out, idp_err *err);
/* What `idp catalog export` writes, as objects. */
int idp_cmd_catalog_objects(idp_arena *a, idp_doc_node ***objs, size_t *n, idp_err *err);

/* The render room as the gitops room's renderer (manifests/<app>/ of a commit). */
const idp_gitops_renderer *idp_cmd_gitops_renderer(void);

/* Verbs: each gets argv after the verb name (argv[0] is the verb). */
int idp_cmd_validate(int argc, char **argv);
int idp_cmd_fmt(int argc, char **argv);
int idp_cmd_cue(int argc, char **argv);
int idp_cmd_render(int argc, char **argv);
int idp_cmd_def(int argc, char **argv);
int idp_cmd_compose(int argc, char **argv);
int idp_cmd_gateway(int argc, char **argv);
int idp_cmd_catalog(int argc, char **argv);
int idp_cmd_gitops(int argc, char **argv);
int idp_cmd_history(int argc, char **argv);
int idp_cmd_release(int argc, char **argv);
int idp_cmd_diff(int argc, char **argv);
int idp_cmd_rollback(int argc, char **argv);
int idp_cmd_up(int argc, char **argv);
int idp_cmd_status(int argc, char **argv);
int idp_cmd_pause(int argc, char **argv);
int idp_cmd_resume(int argc, char **argv);
int idp_cmd_down(int argc, char **argv);
int idp_cmd_daemon(int argc, char **argv);
int idp_cmd_serve(int argc, char **argv);
int idp_cmd_token(int argc, char **argv);
int idp_cmd_apply(int argc, char **argv);
int idp_cmd_sync(int argc, char **argv);
int idp_cmd_logs(int argc, char **argv);
int idp_cmd_get(int argc, char **argv);
int idp_cmd_describe(int argc, char **argv);
/* idp diff APP (no revisions): desired against live, from the daemon. */
int idp_cmd_diff_live(int argc, char **argv);

#endif
