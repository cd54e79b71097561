/*
 * The test fixture: temporary directories, free loopback ports, running a
 * program to completion with its output captured, and starting the real
 * daemons a test needs (redis-server, PostgreSQL, mosquitto, ...) on an
 * ephemeral port. Every test that needs a daemon starts it through here.
 *
 * Plain POSIX (plus Linux's PR_SET_PDEATHSIG when available); nothing here
 * depends on the idp library. Functions report failure by returning NULL or
 * a negative number and print the reason on stderr, so a test only has to
 * assert on the return value.
 */
#ifndef IDP_TESTS_FIXTURE_H
#define IDP_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

/* A running daemon started by idp_fixture_daemon_start; opaque. */
typedef struct idp_fixture_daemon idp_fixture_daemon;

/* Creates a fresh, empty directory (mkdtemp of "idp-test-XXXXXX" under
 * $TMPDIR, or /tmp when unset) and returns its absolute path, owned by the
 * caller (free() it, after idp_fixture_rmtree if the directory should go).
 * Returns NULL on failure. */
char *idp_fixture_tmpdir(void);

/* Removes dir and everything under it without following symbolic links (a
 * link is removed, never its target). Does nothing for NULL, "" or "/".
 * dir is borrowed. */
void idp_fixture_rmtree(const char *dir);

/* Writes len bytes of data to dir/name, creating the missing directories of
 * name ("sub/x.yaml" creates dir/sub). Returns the full path, owned by the
 * caller (free()), or NULL on failure. dir, name and data are borrowed. */
char *idp_fixture_write_file(const char *dir, const char *name, const void *data, size_t len);

/* Reads the whole file at path. Returns its contents NUL-terminated, owned
 * by the caller (free()), and stores the length (without the NUL) in *len
 * when len is not NULL; NULL if the file cannot be read. */
char *idp_fixture_read_file(const char *path, size_t *len);

/* Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to port
 * 0, getsockname, close), or -1 on failure. Nothing is owned. */
int idp_fixture_free_port(void);

/* Starts argv[0] (looked up on PATH) with arguments argv (NULL-terminated;
 * borrowed, only used during the call) as a daemon for a test: its working
 * directory is workdir (so relative paths in argv are relative to workdir),
 * stdin is /dev/null, stdout and stderr go to workdir/NAME.out and
 * workdir/NAME.err, it leads its own process group, and on Linux it is
 * killed if the test process dies. Then waits until 127.0.0.1:port accepts a
 * TCP connection. If the child exits first, or timeout_s seconds pass (the
 * group is then killed), prints the tail of its output on stderr and returns
 * NULL. Otherwise returns the daemon, owned by the caller: release it with
 * idp_fixture_daemon_stop. name and workdir are copied. */
idp_fixture_daemon *idp_fixture_daemon_start(const char *name, char *const argv[],
		const char *workdir, int port, double timeout_s);

/* Stops the daemon: SIGTERM to its process group, waits up to 5 s for the
 * leader to exit, then SIGKILLs whatever is left of the group, reaps the
 * leader and frees d. NULL is a no-op. */
void idp_fixture_daemon_stop(idp_fixture_daemon *d);

/* The port the daemon was started with (d is borrowed). */
int idp_fixture_daemon_port(const idp_fixture_daemon *d);

/* True when prog can be executed: an executable regular file at prog if it
 * contains a '/', else in one of the directories of $PATH. prog is borrowed. */
bool idp_fixture_have_program(const char *prog);

/* Runs argv[0] (looked up on PATH; argv NULL-terminated and borrowed) to
 * completion in its own process group, with stdin_data as its standard input
 * (NULL means /dev/null) and stdout/stderr captured in full through temporary
 * files (no pipe deadlock whatever the sizes). Returns the exit status, or
 * 128+N if it was killed by signal N (127 if it could not be executed), and
 * stores the captured output in *out and *err_out when they are not NULL:
 * NUL-terminated strings, never NULL on success, owned by the caller (free()).
 * Gives up after 120 s (see idp_fixture_run_timeout). Returns -1 if the
 * fixture itself failed (then *out and *err_out are set to NULL). */
int idp_fixture_run(char *const argv[], const char *stdin_data, char **out, char **err_out);

/* The same with an explicit limit: after timeout_s seconds the process group
 * is killed with SIGKILL (the result is then 128+9) and a line saying so is
 * appended to *err_out. Ownership as for idp_fixture_run. */
int idp_fixture_run_timeout(char *const argv[], const char *stdin_data, char **out,
		char **err_out, double timeout_s);

#endif
