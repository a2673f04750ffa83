/*
 * The sandboxes csdk serve created: their owner, envd token, template,
 * metadata and lifetime, kept in STATE_DIR/sandboxes.json (mode 0600: it
 * holds the tokens) so that a restarted server knows them again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

int64_t serve_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct serve_record *serve_record_new(void)
{
	struct serve_record *rec = calloc(1, sizeof(*rec));

	if (rec)
		rec->refs = 1;
	return rec;
}

void serve_record_free(struct serve_record *rec)
{
	if (!rec)
		return;
	free(rec->id);
	free(rec->provider);
	free(rec->bare);
	free(rec->tenant);
	free(rec->template_id);
	json_decref(rec->metadata);
	csdk_agent_endpoint_free(rec->endpoint);
	memset(rec->token, 0, sizeof(rec->token));
	free(rec);
}

static int mkdirs(const char *dir)
{
	char *copy = strdup(dir), *p;
	int rc = 0;

	if (!copy)
		return -1;
	for (p = copy + 1; *p && !rc; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (!rc && mkdir(copy, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int save(struct serve_store *st)
{
	json_t *root = json_object(), *arr = json_array();
	char *tmp = NULL;
	size_t i;
	int fd = -1, rc = -1;

	if (!root || !arr)
		goto out;
	json_object_set_new(root, "version", json_integer(1));
	json_object_set(root, "sandboxes", arr);
	for (i = 0; i < st->n; i++) {
		const struct serve_record *r = st->recs[i];

		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:I,s:I,s:O?}", "id", r->id, "provider", r->provider,
						      "bare", r->bare, "tenant", r->tenant, "template", r->template_id,
						      "token", r->token, "started_ms", (json_int_t)r->started_ms,
						      "end_ms", (json_int_t)r->end_ms, "metadata", r->metadata));
	}
	if (asprintf(&tmp, "%s.tmp", st->path) < 0) {
		tmp = NULL;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (json_dumpfd(root, fd, JSON_COMPACT) < 0 || fsync(fd) < 0)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, st->path) < 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	json_decref(arr);
	json_decref(root);
	return rc;
}

int serve_store_open(struct serve_store *st, const char *dir, char *err, size_t err_size)
{
	json_error_t jerr;
	json_t *root = NULL, *arr, *o;
	size_t i;

	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	if (mkdirs(dir) < 0) {
		snprintf(err, err_size, "cannot create the state directory %s: %s; give a writable --state-dir", dir, strerror(errno));
		return -1;
	}
	if (asprintf(&st->path, "%s/sandboxes.json", dir) < 0) {
		st->path = NULL;
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (access(st->path, F_OK) < 0)
		return save(st) < 0 ? (snprintf(err, err_size, "cannot write %s: %s; give a writable --state-dir", st->path, strerror(errno)), -1) : 0;
	if (!(root = json_load_file(st->path, 0, &jerr))) {
		snprintf(err, err_size, "%s: %s at line %d; fix or remove the file (sandboxes it lists are then forgotten, not destroyed)",
			 st->path, jerr.text, jerr.line);
		return -1;
	}
	arr = json_object_get(root, "sandboxes");
	json_array_foreach(arr, i, o) {
		struct serve_record *r;
		const char *token = str(o, "token");

		if (!str(o, "id") || !str(o, "provider") || !str(o, "bare") || !str(o, "tenant") || !token ||
		    strlen(token) != SERVE_TOKEN_HEX)
			continue;
		if (!(r = serve_record_new()))
			break;
		r->id = strdup(str(o, "id"));
		r->provider = strdup(str(o, "provider"));
		r->bare = strdup(str(o, "bare"));
		r->tenant = strdup(str(o, "tenant"));
		r->template_id = str(o, "template") ? strdup(str(o, "template")) : NULL;
		memcpy(r->token, token, SERVE_TOKEN_HEX + 1);
		r->started_ms = json_integer_value(json_object_get(o, "started_ms"));
		r->end_ms = json_integer_value(json_object_get(o, "end_ms"));
		r->metadata = json_is_object(json_object_get(o, "metadata")) ? json_incref(json_object_get(o, "metadata")) : json_object();
		if (!r->id || !r->provider || !r->bare || !r->tenant) {
			serve_record_free(r);
			continue;
		}
		serve_store_add(st, r);
	}
	json_decref(root);
	return 0;
}

void serve_store_close(struct serve_store *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		serve_record_free(st->recs[i]);
	free(st->recs);
	free(st->path);
	pthread_mutex_destroy(&st->lock);
	memset(st, 0, sizeof(*st));
}

int serve_store_add(struct serve_store *st, struct serve_record *rec)
{
	struct serve_record **grown;
	int rc;

	pthread_mutex_lock(&st->lock);
	if (!(grown = realloc(st->recs, (st->n + 1) * sizeof(*grown)))) {
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	st->recs = grown;
	st->recs[st->n++] = rec;
	rc = save(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

struct serve_record *serve_store_get(struct serve_store *st, const char *id)
{
	struct serve_record *found = NULL;
	size_t i;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n && !found; i++)
		if (!strcmp(st->recs[i]->id, id)) {
			found = st->recs[i];
			found->refs++;
		}
	pthread_mutex_unlock(&st->lock);
	return found;
}

void serve_record_put(struct serve_store *st, struct serve_record *rec)
{
	int last;

	if (!rec)
		return;
	pthread_mutex_lock(&st->lock);
	last = --rec->refs == 0;
	pthread_mutex_unlock(&st->lock);
	if (last)
		serve_record_free(rec);
}

void serve_store_remove(struct serve_store *st, const char *id)
{
	struct serve_record *rec = NULL;
	size_t i;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n; i++)
		if (!strcmp(st->recs[i]->id, id)) {
			rec = st->recs[i];
			memmove(st->recs + i, st->recs + i + 1, (st->n - i - 1) * sizeof(*st->recs));
			st->n--;
			break;
		}
	if (rec) {
		rec->gone = 1;
		save(st);
	}
	pthread_mutex_unlock(&st->lock);
	serve_record_put(st, rec);
}

int serve_store_set_end(struct serve_store *st, const char *id, int64_t end_ms)
{
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n; i++)
		if (!strcmp(st->recs[i]->id, id)) {
			st->recs[i]->end_ms = end_ms;
			rc = save(st);
			break;
		}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int64_t serve_record_end(struct serve_store *st, const struct serve_record *rec)
{
	int64_t end;

	pthread_mutex_lock(&st->lock);
	end = rec->end_ms;
	pthread_mutex_unlock(&st->lock);
	return end;
}

int serve_record_expired(struct serve_store *st, const struct serve_record *rec)
{
	int64_t end = serve_record_end(st, rec);

	return end && end <= serve_now_ms();
}

size_t serve_store_expired(struct serve_store *st, int64_t now_ms, char ***out)
{
	size_t i, n = 0;
	char **ids;

	pthread_mutex_lock(&st->lock);
	ids = calloc(st->n + 1, sizeof(*ids));
	for (i = 0; ids && i < st->n; i++)
		if (st->recs[i]->end_ms && st->recs[i]->end_ms <= now_ms && (ids[n] = strdup(st->recs[i]->id)))
			n++;
	pthread_mutex_unlock(&st->lock);
	*out = ids;
	return n;
}
