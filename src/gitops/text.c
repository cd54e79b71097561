/* Byte positions in YAML text, for the edits that keep every other byte. */
#include "gitops/gitops_private.h"

#include <string.h>

size_t gitops_mark_offset(const char *s, size_t len, yaml_mark_t m)
{
	size_t i = 0, line = 0;
	while (i < len && line < m.line) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			i++;
		if (s[i] == '\n' || s[i] == '\r')
			line++;
		i++;
	}
	for (size_t col = 0; i < len && col < m.column; col++) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
	}
	return i;
}

size_t gitops_line_after(const char *s, size_t len, size_t off)
{
	while (off < len && s[off] != '\n' && s[off] != '\r')
		off++;
	if (off < len && s[off] == '\r')
		off++;
	if (off < len && s[off] == '\n')
		off++;
	return off;
}

const char *gitops_eol(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	return nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

char *gitops_splice(idp_arena *a, const char *text, size_t len, size_t from, size_t to, const char *insert,
		    size_t *out_len)
{
	size_t n = strlen(insert);
	*out_len = len - (to - from) + n;
	char *out = idp_arena_alloc(a, *out_len + 1);
	memcpy(out, text, from);
	memcpy(out + from, insert, n);
	memcpy(out + from + n, text + to, len - to);
	out[*out_len] = '\0';
	return out;
}

bool gitops_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}
