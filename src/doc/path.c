/* Field paths: spec.components[0].properties.image, metadata.annotations["a.b/c"]. */
#include "doc/doc_private.h"

#include <stdlib.h>
#include <string.h>

typedef struct path_step {
	bool is_index;
	size_t index;
	idp_buf key;
} path_step;

/* Reads the next step of path at *p. Returns 1 with a step, 0 at the end,
 * IDP_EINPUT on a malformed path. */
static int next_step(const char *path, const char **p, path_step *step, idp_err *err)
{
	const char *s = *p;
	step->is_index = false;
	idp_buf_clear(&step->key);
	if (*s == '\0')
		return 0;
	if (*s == '.') {
		if (s == path)
			return idp_err_set(err, IDP_EINPUT, "path \"%s\": starts with '.'", path);
		s++;
		if (*s == '\0' || *s == '.' || *s == '[')
			return idp_err_set(err, IDP_EINPUT, "path \"%s\": empty key after '.'", path);
	} else if (*s != '[' && s != path) {
		return idp_err_set(err, IDP_EINPUT, "path \"%s\": expected '.' or '[' at offset %zu", path,
				   (size_t)(s - path));
	}
	if (*s == '[') {
		s++;
		if (*s == '"' || *s == '\'') {
			char q = *s++;
			while (*s && *s != q) {
				if (*s == '\\' && q == '"' && s[1])
					s++;
				idp_buf_putc(&step->key, *s++);
			}
			if (*s != q || s[1] != ']')
				return idp_err_set(err, IDP_EINPUT, "path \"%s\": unterminated quoted key", path);
			s += 2;
		} else {
			if (*s < '0' || *s > '9')
				return idp_err_set(err, IDP_EINPUT, "path \"%s\": expected an index or a quoted key after '['",
						   path);
			size_t v = 0;
			while (*s >= '0' && *s <= '9') {
				if (v > (SIZE_MAX - 9) / 10)
					return idp_err_set(err, IDP_EINPUT, "path \"%s\": index too large", path);
				v = v * 10 + (size_t)(*s++ - '0');
			}
			if (*s != ']')
				return idp_err_set(err, IDP_EINPUT, "path \"%s\": expected ']'", path);
			s++;
			step->is_index = true;
			step->index = v;
		}
	} else {
		while (*s && *s != '.' && *s != '[') {
			if (*s == ']' || *s == '"')
				return idp_err_set(err, IDP_EINPUT, "path \"%s\": unexpected '%c'", path, *s);
			idp_buf_putc(&step->key, *s++);
		}
	}
	*p = s;
	return 1;
}

int idp_doc_path_get(const idp_doc_node *root, const char *path, idp_doc_node **out, idp_err *err)
{
	path_step step = {false, 0, IDP_BUF_INIT};
	const char *p = path;
	const idp_doc_node *cur = root;
	int rc;
	while ((rc = next_step(path, &p, &step, err)) == 1) {
		const idp_doc_node *next = NULL;
		if (step.is_index) {
			if (cur->kind == IDP_DOC_SEQ && step.index < cur->as.seq.len)
				next = cur->as.seq.items[step.index];
		} else {
			next = idp_doc_map_get(cur, idp_buf_cstr(&step.key));
		}
		if (!next) {
			idp_buf_free(&step.key);
			return IDP_ENOTFOUND;
		}
		cur = next;
	}
	idp_buf_free(&step.key);
	if (rc < 0)
		return rc;
	*out = (idp_doc_node *)cur;
	return 0;
}

int idp_doc_path_set(idp_arena *a, idp_doc_node *root, const char *path, idp_doc_node *value,
		     idp_err *err)
{
	path_step step = {false, 0, IDP_BUF_INIT};
	const char *p = path;
	idp_doc_node *cur = root;
	int rc = next_step(path, &p, &step, err);
	if (rc == 0)
		rc = idp_err_set(err, IDP_EINPUT, "path is empty");
	while (rc == 1) {
		bool is_index = step.is_index;
		size_t index = step.index;
		char *key = idp_xstrdup(idp_buf_cstr(&step.key));
		rc = next_step(path, &p, &step, err);
		if (rc < 0) {
			free(key);
			break;
		}
		bool last = rc == 0;
		idp_doc_node *next = NULL;
		if (is_index) {
			if (cur->kind != IDP_DOC_SEQ) {
				rc = idp_err_at(err, cur->pos, path, "cannot index a %s", idp_doc_kind_name(cur->kind));
			} else if (index > cur->as.seq.len) {
				rc = idp_err_at(err, cur->pos, path, "index %zu is out of range (list has %zu items)",
						index, cur->as.seq.len);
			} else if (last) {
				if (index == cur->as.seq.len)
					idp_doc_seq_push(a, cur, value);
				else
					cur->as.seq.items[index] = value;
			} else {
				if (index == cur->as.seq.len)
					idp_doc_seq_push(a, cur, step.is_index ? idp_doc_new_seq(a) : idp_doc_new_map(a));
				next = cur->as.seq.items[index];
			}
		} else {
			if (cur->kind != IDP_DOC_MAP) {
				rc = idp_err_at(err, cur->pos, path, "cannot set key \"%s\" in a %s", key,
						idp_doc_kind_name(cur->kind));
			} else if (last) {
				idp_doc_map_set(a, cur, key, value);
			} else {
				next = idp_doc_map_get(cur, key);
				if (!next) {
					next = step.is_index ? idp_doc_new_seq(a) : idp_doc_new_map(a);
					idp_doc_map_set(a, cur, key, next);
				}
			}
		}
		free(key);
		if (rc < 0 || last)
			break;
		cur = next;
	}
	idp_buf_free(&step.key);
	return rc < 0 ? rc : 0;
}

static bool is_simple_key(const char *key)
{
	if (!*key)
		return false;
	for (const char *s = key; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '$'))
			return false;
	}
	return true;
}

void idp_doc_path_push_key(idp_buf *path, const char *key)
{
	if (is_simple_key(key)) {
		if (path->len)
			idp_buf_putc(path, '.');
		idp_buf_puts(path, key);
		return;
	}
	idp_buf_puts(path, "[\"");
	for (const char *s = key; *s; s++) {
		if (*s == '"' || *s == '\\')
			idp_buf_putc(path, '\\');
		idp_buf_putc(path, *s);
	}
	idp_buf_puts(path, "\"]");
}

void idp_doc_path_push_index(idp_buf *path, size_t index)
{
	idp_buf_printf(path, "[%zu]", index);
}
