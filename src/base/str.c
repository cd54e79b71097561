/* Small string helpers: prefixes, typo suggestions, UTF-8 validation. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

bool idp_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool idp_str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Optimal string alignment distance: Levenshtein plus adjacent
 * transpositions ("prot" is one edit from "port"), capped at cap + 1. */
size_t idp_str_distance(const char *a, const char *b, size_t cap)
{
	size_t n = strlen(a), m = strlen(b);
	if ((n > m ? n - m : m - n) > cap)
		return cap + 1;
	size_t *prev2 = idp_xmalloc((m + 1) * sizeof(size_t));
	size_t *prev = idp_xmalloc((m + 1) * sizeof(size_t));
	size_t *row = idp_xmalloc((m + 1) * sizeof(size_t));
	for (size_t j = 0; j <= m; j++)
		prev[j] = j;
	size_t d = cap + 1;
	for (size_t i = 1; i <= n; i++) {
		row[0] = i;
		size_t best = i;
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			row[j] = v;
			if (v < best)
				best = v;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = row;
		row = t;
		if (best > cap)
			goto done;
	}
	d = prev[m] > cap ? cap + 1 : prev[m];
done:
	free(prev2);
	free(prev);
	free(row);
	return d;
}

const char *idp_str_closest(const char *word, const char *const *candidates, size_t n)
{
	/* A typo is at most a third of the word wrong, and never more than 3 edits. */
	size_t len = strlen(word);
	size_t cap = len / 3;
	if (cap > 3)
		cap = 3;
	if (cap == 0)
		cap = 1;
	const char *best = NULL;
	size_t best_d = cap + 1;
	for (size_t i = 0; i < n; i++) {
		size_t d = idp_str_distance(word, candidates[i], cap);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

bool idp_utf8_valid(const char *s, size_t n, size_t *bad_offset)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t need;
		unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* past U+10FFFF */
		} else {
			goto bad;
		}
		if (need >= n - i)
			goto bad; /* truncated sequence */
		if (p[i + 1] < lo || p[i + 1] > hi)
			goto bad;
		for (size_t k = 2; k <= need; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				goto bad;
		i += need + 1;
	}
	return true;
bad:
	if (bad_offset)
		*bad_offset = i;
	return false;
}
