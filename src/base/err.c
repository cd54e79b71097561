/* The error value: a code, a one-line message and, for input errors, where. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_vprintf(&b, fmt, ap);
	return idp_buf_detach(&b);
}

int idp_err_vset(idp_err *err, int code, const char *fmt, va_list ap)
{
	/* The first error is the root cause; later ones are consequences. */
	if (!err || err->code != IDP_OK)
		return code;
	err->code = code;
	err->msg = vformat(fmt, ap);
	return code;
}

int idp_err_set(idp_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	idp_err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int idp_err_vat(idp_err *err, idp_pos pos, const char *path, const char *fmt, va_list ap)
{
	if (!err || err->code != IDP_OK)
		return IDP_EINPUT;
	idp_err_vset(err, IDP_EINPUT, fmt, ap);
	err->file = pos.file ? idp_xstrdup(pos.file) : NULL;
	err->line = pos.line;
	err->col = pos.col;
	err->path = path && *path ? idp_xstrdup(path) : NULL;
	return IDP_EINPUT;
}

int idp_err_at(idp_err *err, idp_pos pos, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	idp_err_vat(err, pos, path, fmt, ap);
	va_end(ap);
	return IDP_EINPUT;
}

void idp_err_wrap(idp_err *err, const char *fmt, ...)
{
	if (!err || err->code == IDP_OK)
		return;
	idp_buf b = IDP_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	idp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	idp_buf_puts(&b, ": ");
	idp_buf_puts(&b, err->msg ? err->msg : "");
	free(err->msg);
	err->msg = idp_buf_detach(&b);
}

bool idp_err_is_set(const idp_err *err)
{
	return err && err->code != IDP_OK;
}

void idp_err_clear(idp_err *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err->file);
	free(err->path);
	*err = (idp_err)IDP_ERR_INIT;
}

void idp_err_move(idp_err *dst, idp_err *src)
{
	idp_err_clear(dst);
	*dst = *src;
	*src = (idp_err)IDP_ERR_INIT;
}

void idp_err_format(const idp_err *err, idp_buf *out)
{
	if (err->file) {
		idp_buf_puts(out, err->file);
		if (err->line) {
			idp_buf_printf(out, ":%u", (unsigned)err->line);
			if (err->col)
				idp_buf_printf(out, ":%u", (unsigned)err->col);
		}
		idp_buf_puts(out, ": ");
	}
	if (err->path) {
		idp_buf_puts(out, err->path);
		idp_buf_puts(out, ": ");
	}
	idp_buf_puts(out, err->msg ? err->msg : "unknown error");
}

void idp_errs_push(idp_errs *list, idp_err *err)
{
	if (list->len == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 8;
		list->items = idp_xrealloc(list->items, list->cap * sizeof(*list->items));
	}
	list->items[list->len++] = *err;
	*err = (idp_err)IDP_ERR_INIT;
}

void idp_errs_free(idp_errs *list)
{
	for (size_t i = 0; i < list->len; i++)
		idp_err_clear(&list->items[i]);
	free(list->items);
	*list = (idp_errs)IDP_ERRS_INIT;
}
