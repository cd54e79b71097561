/* idp_buf: a growable, always NUL-terminated byte buffer. */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void buf_reserve(idp_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap < SIZE_MAX / 2 ? cap * 2 : need;
	b->ptr = idp_xrealloc(b->ptr, cap);
	b->cap = cap;
}

void idp_buf_append(idp_buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void idp_buf_puts(idp_buf *b, const char *s)
{
	idp_buf_append(b, s, strlen(s));
}

void idp_buf_putc(idp_buf *b, char c)
{
	buf_reserve(b, 1);
	b->ptr[b->len++] = c;
	b->ptr[b->len] = '\0';
}

void idp_buf_vprintf(idp_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n <= 0) {
		buf_reserve(b, 0);
		b->ptr[b->len] = '\0';
		return;
	}
	buf_reserve(b, (size_t)n);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void idp_buf_printf(idp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	idp_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void idp_buf_clear(idp_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *idp_buf_detach(idp_buf *b)
{
	char *p = b->ptr ? b->ptr : idp_xstrdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void idp_buf_free(idp_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

const char *idp_buf_cstr(const idp_buf *b)
{
	return b->ptr ? b->ptr : "";
}
