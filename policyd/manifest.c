/* Manifests to JSON: libyaml's event stream folded into jansson values with
 * the YAML 1.2 core schema, a directory of manifest files, and its watch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "policyd/manifest.h"

/* Deeper than any Kubernetes object; the bound keeps recursion (and a
 * hostile "[[[[..." file) off the end of the stack. */
#define MANIFEST_MAX_DEPTH 64
#define MANIFEST_MAX_FILE (16u << 20)

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

struct yaml_reader {
	yaml_parser_t parser;
	const char *buf;	/* the input, to place reader errors on a line */
	size_t len;
	const char *name;
	struct dp_err *err;
};

static size_t mark_line(const yaml_mark_t *mark)
{
	return mark->line + 1;
}

static int fail_at(struct yaml_reader *r, const yaml_mark_t *mark,
		   const char *why)
{
	return dp_errorf(r->err, -EINVAL, "%s:%zu: %s", r->name,
			 mark_line(mark), why);
}

/* Reader errors (bad encoding) carry a byte offset, not a mark. */
static size_t line_of_offset(const struct yaml_reader *r, size_t offset)
{
	size_t line = 1;

	for (size_t i = 0; i < offset && i < r->len; i++)
		line += r->buf[i] == '\n';
	return line;
}

/* libyaml's own words for a syntax error, on the line it points at. */
static int fail_parser(struct yaml_reader *r)
{
	const yaml_parser_t *p = &r->parser;
	const char *problem = p->problem ? p->problem : "unknown error";
	size_t line = mark_line(&p->problem_mark);

	if (p->error == YAML_MEMORY_ERROR)
		return dp_errorf(r->err, -ENOMEM, "%s: out of memory", r->name);
	if (p->error == YAML_READER_ERROR)
		line = line_of_offset(r, p->problem_offset);
	if (p->context)
		return dp_errorf(r->err, -EINVAL, "%s:%zu: %s %s", r->name,
				 line, problem, p->context);
	return dp_errorf(r->err, -EINVAL, "%s:%zu: %s", r->name, line,
			 problem);
}

static int next_event(struct yaml_reader *r, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&r->parser, ev))
		return fail_parser(r);
	return 0;
}

/* --- scalars: the YAML 1.2 core schema ---------------------------------- */

static int is_digits(const char *s, int (*digit)(int))
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!digit((unsigned char)*s))
			return 0;
	return 1;
}

static int is_dec(int c) { return c >= '0' && c <= '9'; }
static int is_oct(int c) { return c >= '0' && c <= '7'; }
static int is_hex(int c)
{
	return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

static int is_null_word(const char *s)
{
	static const char *const words[] = { "", "~", "null", "Null", "NULL",
					     NULL };
	return is_one_of(s, words);
}

/* 1 for true, 0 for false, -1 for anything else. */
static int bool_word(const char *s)
{
	static const char *const yes[] = { "true", "True", "TRUE", NULL };
	static const char *const no[] = { "false", "False", "FALSE", NULL };

	if (is_one_of(s, yes))
		return 1;
	if (is_one_of(s, no))
		return 0;
	return -1;
}

/* 1 and *base when s is a core-schema integer: [-+]?[0-9]+, 0o[0-7]+,
 * 0x[0-9a-fA-F]+. */
static int int_form(const char *s, int *base, const char **digits)
{
	if (s[0] == '0' && s[1] == 'o' && is_digits(s + 2, is_oct)) {
		*base = 8;
		*digits = s + 2;
		return 1;
	}
	if (s[0] == '0' && s[1] == 'x' && is_digits(s + 2, is_hex)) {
		*base = 16;
		*digits = s + 2;
		return 1;
	}
	*base = 10;
	*digits = s;
	return is_digits(s + (s[0] == '-' || s[0] == '+'), is_dec);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float_number(const char *s)
{
	size_t int_digits = 0, frac_digits = 0;

	s += *s == '-' || *s == '+';
	for (; is_dec((unsigned char)*s); s++)
		int_digits++;
	if (*s == '.')
		for (s++; is_dec((unsigned char)*s); s++)
			frac_digits++;
	if (!int_digits && !frac_digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '-' || *s == '+';
		return is_digits(s, is_dec);
	}
	return *s == '\0';
}

static int is_float_special(const char *s)
{
	static const char *const inf[] = { ".inf", ".Inf", ".INF", NULL };
	static const char *const nan[] = { ".nan", ".NaN", ".NAN", NULL };

	s += *s == '-' || *s == '+';
	return is_one_of(s, inf) || is_one_of(s, nan);
}

enum scalar_type { SCALAR_STR, SCALAR_NULL, SCALAR_BOOL, SCALAR_INT,
		   SCALAR_FLOAT };

/* What a plain scalar with no tag resolves to. */
static enum scalar_type plain_type(const char *s)
{
	int base;
	const char *digits;

	if (is_null_word(s))
		return SCALAR_NULL;
	if (bool_word(s) >= 0)
		return SCALAR_BOOL;
	if (int_form(s, &base, &digits))
		return SCALAR_INT;
	if (is_float_number(s) || is_float_special(s))
		return SCALAR_FLOAT;
	return SCALAR_STR;
}

/* The type a tag forces; -1 for a tag we do not take. A bare "!" is YAML's
 * non-specific tag: the scalar is a string. */
static int tag_type(const char *tag)
{
	static const struct { const char *name; enum scalar_type type; } tags[] = {
		{ "str", SCALAR_STR }, { "null", SCALAR_NULL },
		{ "bool", SCALAR_BOOL }, { "int", SCALAR_INT },
		{ "float", SCALAR_FLOAT },
	};
	const size_t prefix = strlen(YAML_TAG_PREFIX);

	if (strcmp(tag, "!") == 0)
		return SCALAR_STR;
	if (strncmp(tag, YAML_TAG_PREFIX, prefix) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strcmp(tag + prefix, tags[i].name) == 0)
			return tags[i].type;
	return -1;
}

static json_t *int_value(struct yaml_reader *r, const yaml_mark_t *mark,
			 const char *s)
{
	const char *digits;
	char *end;
	int base;
	long long v;

	if (!int_form(s, &base, &digits)) {
		fail_at(r, mark, "not an integer");
		return NULL;
	}
	errno = 0;
	v = strtoll(digits, &end, base);
	if (errno == ERANGE || *end) {
		dp_errorf(r->err, -EINVAL, "%s:%zu: integer %s out of range",
			  r->name, mark_line(mark), s);
		return NULL;
	}
	return json_integer((json_int_t)v);
}

static json_t *float_value(struct yaml_reader *r, const yaml_mark_t *mark,
			   const char *s)
{
	int base;
	const char *digits;
	double v;

	/* JSON, and so jansson, has no infinities and no NaN. */
	if (is_float_special(s)) {
		dp_errorf(r->err, -EINVAL, "%s:%zu: %s has no JSON form",
			  r->name, mark_line(mark), s);
		return NULL;
	}
	if (!is_float_number(s)) {
		/* !!float 0x10: an integer form is a number too. */
		json_t *i = int_form(s, &base, &digits) ?
			    int_value(r, mark, s) : NULL;

		if (!i && !r->err->code)
			fail_at(r, mark, "not a number");
		v = i ? (double)json_integer_value(i) : 0;
		json_decref(i);
		return i ? json_real(v) : NULL;
	}
	v = strtod(s, NULL);
	if (!isfinite(v)) {
		dp_errorf(r->err, -EINVAL, "%s:%zu: number %s out of range",
			  r->name, mark_line(mark), s);
		return NULL;
	}
	return json_real(v);
}

static json_t *typed_value(struct yaml_reader *r, const yaml_mark_t *mark,
			   const char *s, size_t len, enum scalar_type type)
{
	int b;

	switch (type) {
	case SCALAR_NULL:
		if (!is_null_word(s))
			break;
		return json_null();
	case SCALAR_BOOL:
		if ((b = bool_word(s)) < 0)
			break;
		return json_boolean(b);
	case SCALAR_INT:
		return int_value(r, mark, s);
	case SCALAR_FLOAT:
		return float_value(r, mark, s);
	case SCALAR_STR:
		return json_stringn(s, len);
	}
	fail_at(r, mark, type == SCALAR_NULL ? "not a null" : "not a boolean");
	return NULL;
}

static int check_anchor(struct yaml_reader *r, const yaml_event_t *ev,
			const yaml_char_t *anchor)
{
	if (ev->type == YAML_ALIAS_EVENT || anchor)
		return fail_at(r, &ev->start_mark,
			       "anchors and aliases are not supported");
	return 0;
}

static json_t *scalar_value(struct yaml_reader *r, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	int type;
	json_t *v;

	if (check_anchor(r, ev, ev->data.scalar.anchor) < 0)
		return NULL;
	if (tag) {
		type = tag_type(tag);
		if (type < 0) {
			dp_errorf(r->err, -EINVAL, "%s:%zu: unsupported tag %s",
				  r->name, mark_line(&ev->start_mark), tag);
			return NULL;
		}
	} else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		type = plain_type(s);
	} else {
		type = SCALAR_STR;
	}
	/* Past this point only strings may hold a NUL ("\0" in quotes). */
	if (type != SCALAR_STR && strlen(s) != len) {
		fail_at(r, &ev->start_mark, "NUL byte in a scalar");
		return NULL;
	}
	v = typed_value(r, &ev->start_mark, s, len, type);
	if (!v && !r->err->code)
		fail_at(r, &ev->start_mark, type == SCALAR_STR ?
			"string is not valid UTF-8" : "out of memory");
	return v;
}

/* --- collections -------------------------------------------------------- */

static json_t *node_value(struct yaml_reader *r, yaml_event_t *ev, int depth);

static int check_collection_tag(struct yaml_reader *r, const yaml_event_t *ev,
				const yaml_char_t *tag, const char *want)
{
	const size_t prefix = strlen(YAML_TAG_PREFIX);
	const char *t = (const char *)tag;

	if (!t || (strncmp(t, YAML_TAG_PREFIX, prefix) == 0 &&
		   strcmp(t + prefix, want) == 0))
		return 0;
	return dp_errorf(r->err, -EINVAL, "%s:%zu: unsupported tag %s",
			 r->name, mark_line(&ev->start_mark), t);
}

static json_t *sequence_value(struct yaml_reader *r, int depth)
{
	json_t *arr = json_array();
	yaml_event_t ev;

	if (!arr) {
		dp_errorf(r->err, -ENOMEM, "%s: out of memory", r->name);
		return NULL;
	}
	for (;;) {
		json_t *item;

		if (next_event(r, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return arr;
		}
		item = node_value(r, &ev, depth);
		yaml_event_delete(&ev);
		if (!item)
			goto fail;
		if (json_array_append_new(arr, item) < 0) {
			dp_errorf(r->err, -ENOMEM, "%s: out of memory", r->name);
			goto fail;
		}
	}
fail:
	json_decref(arr);
	return NULL;
}

/* Keys are names, never typed: "80:" is the string "80". */
static int mapping_key(struct yaml_reader *r, const yaml_event_t *ev,
		       json_t *obj)
{
	const char *key = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;

	if (ev->type == YAML_ALIAS_EVENT)
		return check_anchor(r, ev, NULL);
	if (ev->type != YAML_SCALAR_EVENT)
		return fail_at(r, &ev->start_mark, "mapping keys must be scalars");
	if (check_anchor(r, ev, ev->data.scalar.anchor) < 0)
		return r->err->code;
	if (ev->data.scalar.tag && tag_type((const char *)ev->data.scalar.tag) < 0)
		return dp_errorf(r->err, -EINVAL, "%s:%zu: unsupported tag %s",
				 r->name, mark_line(&ev->start_mark),
				 (const char *)ev->data.scalar.tag);
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    !ev->data.scalar.tag && strcmp(key, "<<") == 0)
		return fail_at(r, &ev->start_mark,
			       "merge keys (<<) are not supported");
	if (json_object_getn(obj, key, len))
		return dp_errorf(r->err, -EINVAL, "%s:%zu: duplicate key \"%s\"",
				 r->name, mark_line(&ev->start_mark), key);
	return 0;
}

static json_t *mapping_value(struct yaml_reader *r, int depth)
{
	json_t *obj = json_object();
	yaml_event_t key, val;

	if (!obj) {
		dp_errorf(r->err, -ENOMEM, "%s: out of memory", r->name);
		return NULL;
	}
	for (;;) {
		json_t *v;
		int rc;

		if (next_event(r, &key) < 0)
			goto fail;
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			return obj;
		}
		if (mapping_key(r, &key, obj) < 0 || next_event(r, &val) < 0) {
			yaml_event_delete(&key);
			goto fail;
		}
		v = node_value(r, &val, depth);
		yaml_event_delete(&val);
		rc = v ? json_object_setn_new(obj,
					      (const char *)key.data.scalar.value,
					      key.data.scalar.length, v) : -1;
		if (v && rc < 0)
			dp_errorf(r->err, -EINVAL,
				  "%s:%zu: key is not valid UTF-8", r->name,
				  mark_line(&key.start_mark));
		yaml_event_delete(&key);
		if (rc < 0)
			goto fail;
	}
fail:
	json_decref(obj);
	return NULL;
}

/* The value of the node that ev starts; reads the rest of it from r. */
static json_t *node_value(struct yaml_reader *r, yaml_event_t *ev, int depth)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return scalar_value(r, ev);
	case YAML_ALIAS_EVENT:
		check_anchor(r, ev, NULL);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		break;
	default:
		fail_at(r, &ev->start_mark, "unexpected YAML event");
		return NULL;
	}
	if (depth >= MANIFEST_MAX_DEPTH) {
		dp_errorf(r->err, -EINVAL, "%s:%zu: nested deeper than %d levels",
			  r->name, mark_line(&ev->start_mark), MANIFEST_MAX_DEPTH);
		return NULL;
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		if (check_anchor(r, ev, ev->data.sequence_start.anchor) < 0 ||
		    check_collection_tag(r, ev, ev->data.sequence_start.tag,
					 "seq") < 0)
			return NULL;
		return sequence_value(r, depth + 1);
	}
	if (check_anchor(r, ev, ev->data.mapping_start.anchor) < 0 ||
	    check_collection_tag(r, ev, ev->data.mapping_start.tag, "map") < 0)
		return NULL;
	return mapping_value(r, depth + 1);
}

/* --- documents ---------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A "List" or "FooList" with items stands for its items, as kubectl prints
 * them; anything else is one object. */
static int add_document(struct yaml_reader *r, const yaml_mark_t *mark,
			json_t *doc, json_t *out)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	json_t *items = json_object_get(doc, "items");
	json_t *item;
	size_t i;

	if (!kind || !ends_with(kind, "List") || !json_is_array(items))
		return json_array_append(out, doc) < 0 ?
		       dp_errorf(r->err, -ENOMEM, "%s: out of memory", r->name) : 0;
	json_array_foreach(items, i, item) {
		if (!json_is_object(item))
			return dp_errorf(r->err, -EINVAL,
					 "%s:%zu: item %zu of the %s is not a mapping",
					 r->name, mark_line(mark), i, kind);
		if (json_array_append(out, item) < 0)
			return dp_errorf(r->err, -ENOMEM, "%s: out of memory",
					 r->name);
	}
	return 0;
}

/* One document, after its DOCUMENT-START: the root node and its end. */
static int read_document(struct yaml_reader *r, json_t *out)
{
	yaml_event_t ev;
	yaml_mark_t root_mark;
	json_t *doc;
	int rc;

	if (next_event(r, &ev) < 0)
		return r->err->code;
	root_mark = ev.start_mark;
	doc = node_value(r, &ev, 0);
	yaml_event_delete(&ev);
	if (!doc)
		return r->err->code;
	if (json_is_null(doc))
		rc = 0;
	else if (!json_is_object(doc))
		rc = fail_at(r, &root_mark, "a document must be a mapping");
	else
		rc = add_document(r, &root_mark, doc, out);
	json_decref(doc);
	if (rc < 0 || next_event(r, &ev) < 0)
		return r->err->code;
	yaml_event_delete(&ev);	/* DOCUMENT-END: the parser checks pairing */
	return 0;
}

static int read_stream(struct yaml_reader *r, json_t *out)
{
	yaml_event_t ev;

	for (;;) {
		yaml_event_type_t type;

		if (next_event(r, &ev) < 0)
			return r->err->code;
		type = ev.type;
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			return 0;
		if (type == YAML_DOCUMENT_START_EVENT &&
		    read_document(r, out) < 0)
			return r->err->code;
	}
}

int manifest_parse(const char *buf, size_t len, const char *name, json_t *arr,
		   struct dp_err *err)
{
	struct dp_err local = { 0 };
	struct yaml_reader r = { .buf = buf, .len = len, .name = name,
				 .err = err ? err : &local };
	json_t *docs = json_array();
	int rc;

	if (!docs)
		return dp_errorf(err, -ENOMEM, "%s: out of memory", name);
	if (!yaml_parser_initialize(&r.parser)) {
		json_decref(docs);
		return dp_errorf(err, -ENOMEM, "%s: out of memory", name);
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
	rc = read_stream(&r, docs);
	/* All or nothing: a caller never sees half a file. */
	if (rc == 0 && json_array_extend(arr, docs) < 0)
		rc = dp_errorf(r.err, -ENOMEM, "%s: out of memory", name);
	yaml_parser_delete(&r.parser);
	json_decref(docs);
	return rc;
}

/* --- a directory of manifests ------------------------------------------- */

static int is_manifest_name(const char *name)
{
	return name[0] != '.' && (ends_with(name, ".yaml") ||
				  ends_with(name, ".yml") ||
				  ends_with(name, ".json"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The manifest file names in dir, sorted; directories and other
 * non-regular entries are left out (stat follows ConfigMap symlinks). */
static int list_manifests(const char *dir, char ***out, size_t *count,
			  struct dp_err *err)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;

	if (!d)
		return dp_errorf(err, -errno, "read %s: %s", dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (!is_manifest_name(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			rc = dp_errorf(err, -errno, "%s/%s: %s", dir, de->d_name,
				       strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **grown = realloc(names, ncap * sizeof(*names));

			if (!grown)
				goto nomem;
			names = grown;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto nomem;
		n++;
	}
	if (errno) {
		rc = dp_errorf(err, -errno, "read %s: %s", dir, strerror(errno));
		goto out;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	names = NULL;
	goto out;
nomem:
	rc = dp_errorf(err, -ENOMEM, "read %s: out of memory", dir);
out:
	if (names)
		free_names(names, n);
	closedir(d);
	return rc;
}

/* The whole of path into a new buffer; refuses files over the limit, also
 * ones that grow past it while being read. */
static int read_whole(const char *path, char **buf, size_t *len,
		      struct dp_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *data = NULL;
	size_t n = 0, cap;
	struct stat st;
	ssize_t got;
	int rc = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = dp_errorf(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* One byte over the limit tells "too big" from "exactly the limit". */
	cap = (size_t)st.st_size < MANIFEST_MAX_FILE ?
	      (size_t)st.st_size + 1 : MANIFEST_MAX_FILE + 1;
	for (;;) {
		if (n == cap && cap <= MANIFEST_MAX_FILE) {
			size_t ncap = cap * 2 < MANIFEST_MAX_FILE + 1 ?
				      cap * 2 : MANIFEST_MAX_FILE + 1;
			char *grown = realloc(data, ncap);

			if (!grown)
				goto nomem;
			data = grown;
			cap = ncap;
		}
		if (!data && !(data = malloc(cap)))
			goto nomem;
		if (n == cap)
			break;
		got = read(fd, data + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = dp_errorf(err, -errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > MANIFEST_MAX_FILE) {
		rc = dp_errorf(err, -EFBIG, "%s: larger than %u MiB", path,
			       MANIFEST_MAX_FILE >> 20);
		goto out;
	}
	*buf = data;
	*len = n;
	data = NULL;
	goto out;
nomem:
	rc = dp_errorf(err, -ENOMEM, "%s: out of memory", path);
out:
	free(data);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int load_file(const char *dir, const char *name, json_t *arr,
		     struct dp_err *err)
{
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	int rc;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return dp_errorf(err, -ENOMEM, "%s/%s: out of memory", dir, name);
	rc = read_whole(path, &buf, &len, err);
	if (rc == 0)
		rc = manifest_parse(buf, len, path, arr, err);
	free(buf);
	free(path);
	return rc;
}

int manifest_load_dir(const char *dir, json_t **out, struct dp_err *err)
{
	char **names = NULL;
	size_t n = 0;
	json_t *arr;
	int rc;

	rc = list_manifests(dir, &names, &n, err);
	if (rc < 0)
		return rc;
	arr = json_array();
	if (!arr) {
		rc = dp_errorf(err, -ENOMEM, "%s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = load_file(dir, names[i], arr, err);
	if (rc < 0) {
		json_decref(arr);
		goto out;
	}
	*out = arr;
out:
	free_names(names, n);
	return rc;
}

/* --- watching it -------------------------------------------------------- */

int manifest_watch_open(const char *dir, struct dp_err *err)
{
	/* ConfigMap volumes swap a "..data" symlink (MOVED_TO); editors
	 * write in place (CLOSE_WRITE) or rename over (MOVED_*). */
	const uint32_t mask = IN_CREATE | IN_DELETE | IN_MODIFY |
		IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
		IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return dp_errorf(err, -errno, "watch %s: inotify_init1: %s", dir,
				 strerror(errno));
	if (inotify_add_watch(fd, dir, mask) < 0) {
		int e = errno;

		close(fd);
		return dp_errorf(err, -e, "watch %s: %s", dir, strerror(e));
	}
	return fd;
}

void manifest_watch_drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	/* The events themselves do not matter: any of them means reload. */
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
}
