/* A scanner that blanks named members out of JSON text before parsing. */
#include <string.h>

#include "policyd/json_strip.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const char *b, size_t i, size_t len)
{
	while (i < len && is_space(b[i]))
		i++;
	return i;
}

/* Index just past the string starting at b[i] == '"', or 0. */
static size_t skip_string(const char *b, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (b[i] == '\\')
			i++;
		else if (b[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Index just past the value starting at b[i], or 0 when it does not end. */
static size_t skip_value(const char *b, size_t i, size_t len)
{
	size_t depth = 0;

	if (i >= len)
		return 0;
	if (b[i] == '"')
		return skip_string(b, i, len);
	if (b[i] != '[' && b[i] != '{') {
		while (i < len && !is_space(b[i]) && b[i] != ',' && b[i] != '}' &&
		       b[i] != ']')
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (b[i] == '"') {
			i = skip_string(b, i, len);
			if (!i)
				return 0;
			i--;
		} else if (b[i] == '[' || b[i] == '{') {
			depth++;
		} else if ((b[i] == ']' || b[i] == '}') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

size_t json_strip_members(char *buf, size_t len, const char *key)
{
	size_t klen = strlen(key), r = 0, w = 0;

	while (r < len) {
		size_t end, colon, value;
		int match;

		if (buf[r] != '"') {
			buf[w++] = buf[r++];
			continue;
		}
		end = skip_string(buf, r, len);
		if (!end)
			break;
		match = end - r == klen + 2 && memcmp(buf + r + 1, key, klen) == 0;
		memmove(buf + w, buf + r, end - r);
		w += end - r;
		r = end;
		if (!match)
			continue;
		/* A string followed by ':' can only be a member's name. */
		colon = skip_space(buf, r, len);
		if (colon >= len || buf[colon] != ':')
			continue;
		value = skip_value(buf, skip_space(buf, colon + 1, len), len);
		if (!value)
			break;
		/* ":null" would be longer than ":[]" and the like: those stay,
		 * so the text only ever shrinks and w never passes r. */
		if (value - colon >= 5) {
			memcpy(buf + w, ":null", 5);
			w += 5;
		} else {
			memmove(buf + w, buf + r, value - r);
			w += value - r;
		}
		r = value;
	}
	/* Whatever could not be followed stays as it was. */
	if (r < len && w != r)
		memmove(buf + w, buf + r, len - r);
	return w + (len - r);
}
