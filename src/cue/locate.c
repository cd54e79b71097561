/* From a position back to the field that wrote it (idp render --explain):
 * which declaration of a definition holds the expression a value came from. */
#include "cue/eval.h"

#include <stdlib.h>
#include <string.h>

typedef struct locate {
	idp_pos want;
	idp_buf path;     /* the field path being walked */
	char *found;      /* the innermost field path holding want (malloc'd) */
	size_t found_depth;
} locate;

static void walk_node(locate *l, const cue_node *n, size_t depth);

static bool at_want(const locate *l, idp_pos pos)
{
	return pos.line == l->want.line && pos.col == l->want.col;
}

static void note_match(locate *l, size_t depth)
{
	if (l->found && l->found_depth > depth)
		return;
	free(l->found);
	l->found = idp_xstrdup(l->path.len ? l->path.ptr : "");
	l->found_depth = depth;
}

static void push_label(locate *l, const cue_decl *d)
{
	switch (d->label_kind) {
	case CUE_LABEL_IDENT:
	case CUE_LABEL_STRING: idp_doc_path_push_key(&l->path, d->name); break;
	case CUE_LABEL_PATTERN: idp_buf_puts(&l->path, "[_]"); break;
	default: idp_doc_path_push_key(&l->path, "(dynamic)"); break;
	}
}

static void walk_decls(locate *l, const cue_node *strct, size_t depth)
{
	for (size_t i = 0; i < strct->as.strct.n; i++) {
		const cue_decl *d = &strct->as.strct.decls[i];
		size_t mark = l->path.len;
		if (d->kind == CUE_DECL_FIELD)
			push_label(l, d);
		else if (d->kind == CUE_DECL_LET)
			idp_doc_path_push_key(&l->path, d->name);
		if (at_want(l, d->pos))
			note_match(l, depth);
		for (size_t k = 0; k < d->n_clauses; k++)
			walk_node(l, d->clauses[k].expr, depth + 1);
		if (d->label_expr)
			walk_node(l, d->label_expr, depth + 1);
		if (d->value)
			walk_node(l, d->value, depth + 1);
		l->path.len = mark;
		if (l->path.ptr)
			l->path.ptr[mark] = '\0';
	}
}

static void walk_node(locate *l, const cue_node *n, size_t depth)
{
	if (!n)
		return;
	if (at_want(l, n->pos))
		note_match(l, depth);
	switch (n->kind) {
	case CUE_N_INTERP:
		for (size_t i = 0; i < n->as.interp.n; i++)
			walk_node(l, n->as.interp.parts[i], depth + 1);
		break;
	case CUE_N_STRUCT: walk_decls(l, n, depth + 1); break;
	case CUE_N_LIST:
		for (size_t i = 0; i < n->as.list.n; i++) {
			size_t mark = l->path.len;
			idp_doc_path_push_index(&l->path, i);
			walk_node(l, n->as.list.elems[i], depth + 1);
			l->path.len = mark;
			l->path.ptr[mark] = '\0';
		}
		walk_node(l, n->as.list.tail, depth + 1);
		break;
	case CUE_N_UNARY: walk_node(l, n->as.unary.x, depth + 1); break;
	case CUE_N_BINARY:
		walk_node(l, n->as.binary.x, depth + 1);
		walk_node(l, n->as.binary.y, depth + 1);
		break;
	case CUE_N_SELECTOR: walk_node(l, n->as.sel.x, depth + 1); break;
	case CUE_N_INDEX:
		walk_node(l, n->as.index.x, depth + 1);
		walk_node(l, n->as.index.index, depth + 1);
		break;
	case CUE_N_CALL:
		walk_node(l, n->as.call.fn, depth + 1);
		for (size_t i = 0; i < n->as.call.n; i++)
			walk_node(l, n->as.call.args[i], depth + 1);
		break;
	case CUE_N_LISTCOMP:
		for (size_t k = 0; k < n->as.comp.n_clauses; k++)
			walk_node(l, n->as.comp.clauses[k].expr, depth + 1);
		walk_node(l, n->as.comp.body, depth + 1);
		break;
	default: break;
	}
}

char *idp_cue_field_at(const idp_cue_program *p, idp_pos pos)
{
	if (!pos.file || !p->file.name || strcmp(pos.file, p->file.name) != 0)
		return NULL;
	locate l = {.want = pos, .path = IDP_BUF_INIT};
	walk_node(&l, p->file.root, 0);
	idp_buf_free(&l.path);
	return l.found;
}
