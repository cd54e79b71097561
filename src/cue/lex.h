/*
 * The CUE lexer, private to the cue room: parse.c is its one user.
 *
 * It hands out one token at a time (the parser keeps one token of lookahead
 * and peeks at a second through lex_peek). It inserts the commas that the
 * CUE spec adds at the end of a line, remembers the `//` lines directly
 * above a token (doc comments), and scans strings in fragments: a string
 * with interpolations comes as LT_INTERP fragments, each ending where `\(`
 * opens an expression; the parser lexes that expression with lex_next and,
 * standing on its closing ')', calls lex_resume for the next fragment.
 *
 * The lexer only validates string contents (escapes); lex_decode turns a
 * fragment into its bytes once the whole string is known, because a
 * multi-line string's indentation is only known at its closing delimiter.
 *
 * Nothing here allocates: tokens are offsets into the source.
 */
#ifndef IDP_CUE_LEX_H
#define IDP_CUE_LEX_H

#include "base/base.h"

typedef enum lex_kind {
	LT_EOF,
	LT_IDENT,  /* foo #Foo _foo _#foo _ (and the type names) */
	LT_INT,    /* 42 0x2A 0o17 0b101 1_000 */
	LT_FLOAT,  /* 1.5 .5 1e3 */
	LT_STRING, /* a whole string, or the last fragment of an interpolated one */
	LT_INTERP, /* a string fragment that ends where `\(` opens an interpolation */
	LT_ATTR,   /* @name(...) */
	LT_BOTTOM, /* _|_ */
	/* keywords */
	LT_PACKAGE,
	LT_IMPORT,
	LT_FOR,
	LT_IN,
	LT_IF,
	LT_LET,
	LT_TRUE,
	LT_FALSE,
	LT_NULL,
	/* operators and punctuation */
	LT_AND,    /* & */
	LT_OR,     /* | */
	LT_LAND,   /* && */
	LT_LOR,    /* || */
	LT_EQL,    /* == */
	LT_NEQ,    /* != */
	LT_LSS,    /* < */
	LT_LEQ,    /* <= */
	LT_GTR,    /* > */
	LT_GEQ,    /* >= */
	LT_MAT,    /* =~ */
	LT_NMAT,   /* !~ */
	LT_ADD,    /* + */
	LT_SUB,    /* - */
	LT_MUL,    /* * */
	LT_QUO,    /* / */
	LT_NOT,    /* ! */
	LT_OPTION, /* ? */
	LT_BIND,   /* = */
	LT_PERIOD, /* . */
	LT_ELLIPSIS,
	LT_COMMA,
	LT_COLON,
	LT_SEMICOLON,
	LT_LPAREN,
	LT_RPAREN,
	LT_LBRACK,
	LT_RBRACK,
	LT_LBRACE,
	LT_RBRACE,
} lex_kind;

/* How a string is quoted; the same for all fragments of one string. */
typedef struct lex_quote {
	char ch;         /* '"' or '\'' (bytes) */
	bool multiline;  /* """ or ''' */
	uint32_t hashes; /* raw strings #"..."#: how many '#' */
	idp_pos open;    /* the opening delimiter, for "unterminated string" */
} lex_quote;

typedef struct lex_token {
	lex_kind kind;
	idp_pos pos;      /* first character (a string's opening delimiter or '#') */
	size_t off, end;  /* the token's bytes; strings: this fragment's raw content */
	bool auto_comma;  /* an LT_COMMA inserted at a newline or the end of the file */
	/* strings */
	lex_quote quote;
	idp_pos cpos;     /* position of src[off] */
	/* The last fragment of a multi-line string: the whitespace before the
	 * closing delimiter, which every content line must start with. Its
	 * content (off..end) stops before the newline that precedes that line. */
	size_t ws_off, ws_len;
	/* The `//` lines directly above the token (doc_end > doc_off), when the
	 * token is the first on its line and no blank line comes between. */
	size_t doc_off, doc_end;
} lex_token;

typedef struct lexer {
	const char *file; /* for positions */
	const char *src;
	size_t len;
	size_t off;          /* next byte */
	uint32_t line, col;  /* position of src[off]; columns count characters */
	uint32_t line_col;   /* the column every line starts at (1 unless src is indented text of another file) */
	bool insert_comma;   /* a newline or the end of file now ends a declaration */
	bool line_has_token; /* a token was seen on the current line (comments after it are not doc) */
	/* the group of own-line `//` comments seen since the last token */
	bool grp;
	size_t grp_off, grp_end;
	uint32_t grp_last_line;
	idp_err *err;
} lexer;

/* Prepares lx to scan src[0..len) (borrowed, must outlive lx); file names
 * positions (borrowed), which count from origin: {file, 1, 1} for a file of
 * its own, the first character's place for text cut out of another file
 * (every line starting at origin.col). A leading byte order mark is
 * skipped. */
void lex_init(lexer *lx, idp_pos origin, const char *src, size_t len, idp_err *err);

/* Scans the next token into *t. Returns 0, or IDP_EINPUT with lx->err set
 * (the position of the offending character). After the end, returns LT_EOF
 * again. */
int lex_next(lexer *lx, lex_token *t);

/* The kind of the token after the current one, without consuming it
 * (LT_EOF if it would be an error). */
lex_kind lex_peek(lexer *lx);

/* Continues the string quoted as q after the ')' that closed one of its
 * interpolations (the last token lex_next returned): scans the next
 * fragment into *t (LT_STRING or LT_INTERP). */
int lex_resume(lexer *lx, const lex_quote *q, lex_token *t);

/* Checks that every non-empty line of fragment t of a multi-line string
 * starts with the whitespace before its closing delimiter (carried by the
 * string's last fragment, last); fails at the first line that does not.
 * line_start: t begins a line (the first fragment does). */
int lex_check_indent(lexer *lx, const lex_token *t, bool line_start, const lex_token *last);

/* Decodes a string fragment into out, which must hold t->end - t->off + 1
 * bytes (decoding never grows), removes ws_len bytes of indentation at each
 * line start of a multi-line string (line_start: the fragment itself begins
 * a line), NUL-terminates and returns the length. The fragment must have
 * been scanned by this lexer (escapes are valid). */
size_t lex_decode(const lexer *lx, const lex_token *t, size_t ws_len, bool line_start, char *out);

/* Position of src[off], counted from a known position at from_off <= off. */
idp_pos lex_pos_at(const lexer *lx, idp_pos from, size_t from_off, size_t off);

/* The spelling of a keyword or punctuation kind ("for", "&&", "{"); a
 * short noun for the others ("identifier"). */
const char *lex_kind_text(lex_kind k);

#endif
