/*
 * base: the few helpers every room shares — an arena allocator, a growable
 * byte buffer, the error value, and small string utilities.
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *  - Allocation failure aborts the process (Redis style); no function here
 *    returns NULL for lack of memory, so callers need no OOM paths.
 *  - Functions that can fail return int: 0 on success, a negative
 *    IDP_E* value on failure, and fill a caller-provided idp_err.
 *  - Ownership is stated on each function.
 */
#ifndef IDP_BASE_H
#define IDP_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define IDP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IDP_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------- memory */

/* Like malloc/calloc/realloc/strdup, but abort on exhaustion. Free with free(). */
void *idp_xmalloc(size_t n);
void *idp_xcalloc(size_t count, size_t size);
void *idp_xrealloc(void *p, size_t n);
char *idp_xstrdup(const char *s);
char *idp_xstrndup(const char *s, size_t n);

/* An arena hands out memory that is freed all at once by idp_arena_free().
 * Nothing allocated from it may be freed individually. Not thread-safe. */
typedef struct idp_arena idp_arena;

/* Returns a new arena owned by the caller (free with idp_arena_free). */
idp_arena *idp_arena_new(void);
/* Frees the arena and everything allocated from it. NULL is a no-op. */
void idp_arena_free(idp_arena *a);
/* Forgets everything allocated from a but keeps its first chunk, for a
 * scratch arena reused in a loop (a request, a tick). */
void idp_arena_reset(idp_arena *a);
/* Memory owned by the arena, aligned for any type, uninitialised. */
void *idp_arena_alloc(idp_arena *a, size_t n);
/* Same, zero-filled. */
void *idp_arena_zalloc(idp_arena *a, size_t n);
/* Room for one more element: returns items (len used of *cap, each elem
 * bytes) when it has room, else a copy twice as large (at least 8) in a,
 * updating *cap. Usage: v->items = idp_arena_grow(a, v->items, v->n,
 * &v->cap, sizeof(*v->items)); v->items[v->n++] = x; */
void *idp_arena_grow(idp_arena *a, void *items, size_t len, size_t *cap, size_t elem);
/* Copy of s[0..n) plus a terminating NUL, owned by the arena. */
char *idp_arena_strndup(idp_arena *a, const char *s, size_t n);
char *idp_arena_strdup(idp_arena *a, const char *s);
char *idp_arena_printf(idp_arena *a, const char *fmt, ...) IDP_PRINTF(2, 3);
/* Bytes handed out so far (for tests and caps). */
size_t idp_arena_used(const idp_arena *a);

/* ---------------------------------------------------------------- buffer */

/* A growable byte buffer, always NUL-terminated after len bytes.
 * Embed it by value; IDP_BUF_INIT is the empty buffer; idp_buf_free releases
 * its memory (the struct itself is the caller's). */
typedef struct idp_buf {
	char *ptr;
	size_t len;
	size_t cap;
} idp_buf;

#define IDP_BUF_INIT {NULL, 0, 0}

void idp_buf_append(idp_buf *b, const void *data, size_t n);
void idp_buf_puts(idp_buf *b, const char *s);
void idp_buf_putc(idp_buf *b, char c);
void idp_buf_printf(idp_buf *b, const char *fmt, ...) IDP_PRINTF(2, 3);
void idp_buf_vprintf(idp_buf *b, const char *fmt, va_list ap);
/* Empties the buffer but keeps its memory. */
void idp_buf_clear(idp_buf *b);
/* Returns the contents, owned by the caller (free()), and resets b. Never NULL. */
char *idp_buf_detach(idp_buf *b);
void idp_buf_free(idp_buf *b);
/* The contents as a C string ("" when empty); borrowed from b. */
const char *idp_buf_cstr(const idp_buf *b);

/* ---------------------------------------------------------------- errors */

enum {
	IDP_OK = 0,
	IDP_EINPUT = -1,   /* the input is wrong: the user must change it (exit 2) */
	IDP_ERUNTIME = -2, /* the system failed: I/O, a daemon, a library (exit 1) */
	IDP_ENOTFOUND = -3, /* an expected miss, e.g. a path lookup with no value */
	IDP_EINCOMPLETE = -4 /* input that lacks a value it needs (exit 2, like IDP_EINPUT) */
};

/* A position in a source file; line and col are 1-based, 0 means unknown. */
typedef struct idp_pos {
	const char *file; /* borrowed: lives as long as the document that holds it */
	uint32_t line;
	uint32_t col;
} idp_pos;

/* String equality that rejects on the first byte before calling strcmp:
 * labels and keys looked up in lists mostly differ there. */
static inline bool idp_str_eq(const char *a, const char *b)
{
	return a[0] == b[0] && strcmp(a, b) == 0;
}

/* The position of a value no file wrote: the program made it by a rule
 * (a default, a generated name). rule says which, for `idp render
 * --explain`, e.g. "Crossplane: the composite is named after its claim";
 * it must outlive the value (a literal). Line 0 marks it; errors at such
 * a position print the rule where a file name would be. */
static inline idp_pos idp_pos_made(const char *rule)
{
	return (idp_pos){rule, 0, 0};
}

/* An error value. Zero-initialise it (IDP_ERR_INIT); the first idp_err_set*
 * fills it, later ones are ignored so the root cause is kept. All strings are
 * owned by the error; idp_err_clear releases them and resets it. */
typedef struct idp_err {
	int code;      /* IDP_OK or an IDP_E* value */
	char *msg;     /* the message, one line, lower case, no trailing period */
	char *file;    /* input file, or NULL */
	uint32_t line; /* 1-based, 0 = unknown */
	uint32_t col;
	char *path;    /* field path such as spec.components[1].type, or NULL */
} idp_err;

#define IDP_ERR_INIT {0, NULL, NULL, 0, 0, NULL}

/* Sets err (if still unset) and returns code, so callers can write
 * `return idp_err_set(err, IDP_EINPUT, "...")`. err may be NULL. */
int idp_err_set(idp_err *err, int code, const char *fmt, ...) IDP_PRINTF(3, 4);
int idp_err_vset(idp_err *err, int code, const char *fmt, va_list ap);
/* Same, for input errors at a position and optional field path (may be NULL). */
int idp_err_at(idp_err *err, idp_pos pos, const char *path, const char *fmt, ...) IDP_PRINTF(4, 5);
int idp_err_vat(idp_err *err, idp_pos pos, const char *path, const char *fmt, va_list ap);
/* Prefixes the message with "what: " (for context added on the way up). */
void idp_err_wrap(idp_err *err, const char *fmt, ...) IDP_PRINTF(2, 3);
bool idp_err_is_set(const idp_err *err);
void idp_err_clear(idp_err *err);
/* Moves src into dst (dst must be unset or is cleared first); src is reset. */
void idp_err_move(idp_err *dst, idp_err *src);
/* Formats like a compiler: "file:line:col: path: message" (parts that are
 * unknown are left out). Appends to out. */
void idp_err_format(const idp_err *err, idp_buf *out);

/* A list of errors, for checks that report every problem, not just the first. */
typedef struct idp_errs {
	idp_err *items; /* owned */
	size_t len;
	size_t cap;
} idp_errs;

#define IDP_ERRS_INIT {NULL, 0, 0}

/* Moves err into the list (err is reset). */
void idp_errs_push(idp_errs *list, idp_err *err);
void idp_errs_free(idp_errs *list);

/* ---------------------------------------------------------------- strings */

bool idp_str_has_prefix(const char *s, const char *prefix);
bool idp_str_has_suffix(const char *s, const char *suffix);
/* Levenshtein distance between two strings, capped at cap+1 (cheap rejection). */
size_t idp_str_distance(const char *a, const char *b, size_t cap);
/* Among candidates[0..n), the one closest to word (a typo suggestion), or
 * NULL if none is close enough to be a plausible typo. Borrowed from candidates. */
const char *idp_str_closest(const char *word, const char *const *candidates, size_t n);

/* Validates s as UTF-8 (no overlongs, surrogates or values past U+10FFFF).
 * Returns true when valid; otherwise false and, if bad_offset is not NULL,
 * the offset of the first bad byte. */
bool idp_utf8_valid(const char *s, size_t n, size_t *bad_offset);

/* Kubernetes name rules (k8s.io/apimachinery validation). Each returns NULL
 * when valid or a static message saying what is wrong. */
const char *idp_name_check_dns1123_label(const char *s);
const char *idp_name_check_dns1123_subdomain(const char *s);
const char *idp_name_check_dns1035_label(const char *s);
/* A path segment name (RBAC objects): not "." or "..", no '/' or '%'. */
const char *idp_name_check_path_segment(const char *s);
/* A qualified name as used by label and annotation keys: [prefix/]name. */
const char *idp_name_check_qualified(const char *s);
/* A label value: empty, or up to 63 of [A-Za-z0-9_.-] starting and ending alphanumeric. */
const char *idp_name_check_label_value(const char *s);

/* ---------------------------------------------------------------- regular expressions */

/* pattern compiled with regcomp(flags), cached per thread (freed when the
 * thread ends); NULL when it does not compile. Borrowed: valid until the
 * next call on this thread. Include <regex.h> to use it. */
struct re_pattern_buffer;
const struct re_pattern_buffer *idp_regex_get(const char *pattern, int flags);
/* Whether s matches pattern (POSIX extended, no subexpressions); *bad
 * when the pattern does not compile. */
bool idp_regex_match(const char *pattern, const char *s, bool *bad);

/* ---------------------------------------------------------------- files */

/* Reads a whole file into *out (owned by the caller, NUL-terminated) unless
 * it is larger than max bytes. path "-" reads standard input. */
int idp_file_read(const char *path, size_t max, idp_buf *out, idp_err *err);
/* Writes data to path atomically: a temporary file in the same directory,
 * fsync, then rename. On failure the original file is untouched. */
int idp_file_write_atomic(const char *path, const void *data, size_t n, idp_err *err);

/* The entries of directory dir, hidden ones (".x") left out, in byte order,
 * so that walks are deterministic. *names and each name are owned by the
 * caller: release them with idp_dir_list_free. */
int idp_dir_list(const char *dir, char ***names, size_t *n, idp_err *err);
void idp_dir_list_free(char **names, size_t n);

/* ---------------------------------------------------------------- logs */

/* One line on stderr: "<UTC time> idp <who>: <message>" (the daemon's log
 * when it runs detached). */
void idp_logf(const char *who, const char *fmt, ...) IDP_PRINTF(2, 3);

/* ---------------------------------------------------------------- embedded files */

/* Files compiled into the binary (examples, later the catalog): name is the
 * path relative to the source tree, e.g. "examples/simple-app.yaml". The
 * data is static, NUL-terminated and never freed. */
typedef struct idp_embedded_file {
	const char *name;
	const char *data;
	size_t len;
} idp_embedded_file;

/* All embedded files, sorted by name; *n receives the count. */
const idp_embedded_file *idp_embedded_list(size_t *n);
/* The embedded file with this name, or NULL. */
const idp_embedded_file *idp_embedded_find(const char *name);

#endif
