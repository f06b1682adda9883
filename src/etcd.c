/* etcd.c - etcd's v3 JSON gateway over libcurl (etcd.h). Control path of
 * `ferry overlay` only: the data-plane daemon never links to this code's
 * state or calls it. */
#include "etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 1000

/* --- parsing what etcd answers --- */

/* proto3's JSON: an int64 is a string of digits (or, leniently, a number);
 * absent means 0. Anything else is -EPROTO. */
static int get_int64(json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EPROTO;
	s = json_string_value(v);
	if (!*s || strlen(s) > 20)
		return -EPROTO;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (*end || errno)
		return -EPROTO;
	*out = n;
	return 0;
}

/* Decode base64 @v into a new NUL-terminated buffer of at most @max bytes. */
static int get_bytes(json_t *obj, const char *key, size_t max, char **out, size_t *out_len)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t slen, n;
	char *buf;

	*out = NULL;
	*out_len = 0;
	if (!v || json_is_null(v)) {
		*out = calloc(1, 1);
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_string(v))
		return -EPROTO;
	s = json_string_value(v);
	slen = json_string_length(v);
	if (slen / 4 * 3 > max + 3)
		return -EPROTO;
	buf = malloc(slen / 4 * 3 + 4);
	if (!buf)
		return -ENOMEM;
	if (sodium_base642bin((unsigned char *)buf, slen / 4 * 3 + 3, s, slen, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    n > max) {
		free(buf);
		return -EPROTO;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

static void kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int kv_parse(json_t *o, struct etcd_kv *kv)
{
	int ret;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return -EPROTO;
	ret = get_bytes(o, "key", ETCD_KEY_MAX, &kv->key, &kv->key_len);
	if (!ret && (kv->key_len == 0 || strlen(kv->key) != kv->key_len))
		ret = -EPROTO;
	if (!ret)
		ret = get_bytes(o, "value", ETCD_VALUE_MAX, &kv->value, &kv->value_len);
	if (!ret)
		ret = get_int64(o, "create_revision", &kv->create_revision);
	if (!ret)
		ret = get_int64(o, "mod_revision", &kv->mod_revision);
	if (!ret)
		ret = get_int64(o, "version", &kv->version);
	if (!ret)
		ret = get_int64(o, "lease", &kv->lease);
	if (ret)
		kv_free(kv);
	return ret;
}

static int header_revision(json_t *root, int64_t *rev)
{
	json_t *h = json_object_get(root, "header");

	*rev = 0;
	if (!json_is_object(h))
		return -EPROTO;
	return get_int64(h, "revision", rev);
}

void etcd_kvs_free(struct etcd_kvs *kvs)
{
	size_t i;

	for (i = 0; i < kvs->n; i++)
		kv_free(&kvs->kv[i]);
	free(kvs->kv);
	memset(kvs, 0, sizeof(*kvs));
}

static int range_from_json(json_t *root, struct etcd_kvs *out)
{
	json_t *kvs, *o;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = header_revision(root, &out->revision);
	if (ret)
		return ret;
	kvs = json_object_get(root, "kvs");
	if (!kvs)
		return 0;
	if (!json_is_array(kvs) || json_array_size(kvs) > ETCD_KVS_MAX)
		return -EPROTO;
	out->kv = calloc(json_array_size(kvs) + 1, sizeof(*out->kv));
	if (!out->kv)
		return -ENOMEM;
	json_array_foreach(kvs, i, o)
	{
		ret = kv_parse(o, &out->kv[i]);
		if (ret) {
			etcd_kvs_free(out);
			return ret;
		}
		out->n = i + 1;
	}
	return 0;
}

int etcd_parse_range(const char *body, size_t len, struct etcd_kvs *out)
{
	json_t *root;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > ETCD_BODY_MAX)
		return -EPROTO;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EPROTO;
	}
	ret = range_from_json(root, out);
	json_decref(root);
	return ret;
}

void etcd_watch_msg_free(struct etcd_watch_msg *m)
{
	size_t i;

	for (i = 0; i < m->n_events; i++)
		kv_free(&m->events[i].kv);
	free(m->events);
	memset(m, 0, sizeof(*m));
}

static int watch_from_json(json_t *root, struct etcd_watch_msg *m)
{
	json_t *r = json_object_get(root, "result"), *evs, *e;
	size_t i;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(r))
		return -EPROTO; /* {"error": ...} from the gateway, or garbage */
	ret = header_revision(r, &m->revision);
	if (!ret)
		ret = get_int64(r, "compact_revision", &m->compact_revision);
	if (ret)
		return ret;
	m->created = json_is_true(json_object_get(r, "created"));
	m->canceled = json_is_true(json_object_get(r, "canceled"));
	evs = json_object_get(r, "events");
	if (!evs)
		return 0;
	if (!json_is_array(evs) || json_array_size(evs) > ETCD_KVS_MAX)
		return -EPROTO;
	m->events = calloc(json_array_size(evs) + 1, sizeof(*m->events));
	if (!m->events)
		return -ENOMEM;
	json_array_foreach(evs, i, e)
	{
		json_t *type = json_object_get(e, "type");

		if (!json_is_object(e) || (type && !json_is_string(type))) {
			etcd_watch_msg_free(m);
			return -EPROTO;
		}
		/* PUT is proto3's zero value, so it is absent. */
		m->events[i].deleted = type && !strcmp(json_string_value(type), "DELETE");
		if (type && !m->events[i].deleted && strcmp(json_string_value(type), "PUT")) {
			etcd_watch_msg_free(m);
			return -EPROTO;
		}
		ret = kv_parse(json_object_get(e, "kv"), &m->events[i].kv);
		if (ret) {
			etcd_watch_msg_free(m);
			return ret;
		}
		m->n_events = i + 1;
	}
	return 0;
}

int etcd_stream_feed(struct etcd_stream *s, const char *data, size_t len)
{
	if (len > ETCD_BODY_MAX - s->len)
		return -E2BIG;
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *b;

		while (cap < s->len + len + 1)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

int etcd_stream_next(struct etcd_stream *s, struct etcd_watch_msg *msg)
{
	size_t n, line;
	json_t *root;
	char *nl;
	int ret;

	memset(msg, 0, sizeof(*msg));
	for (;;) {
		nl = s->len ? memchr(s->buf, '\n', s->len) : NULL;
		if (!nl)
			return 0;
		n = (size_t)(nl - s->buf);
		line = n && s->buf[n - 1] == '\r' ? n - 1 : n;
		root = line ? json_loadb(s->buf, line, JSON_REJECT_DUPLICATES, NULL) : NULL;
		ret = root ? watch_from_json(root, msg) : -EPROTO;
		json_decref(root);
		memmove(s->buf, nl + 1, s->len - n - 1);
		s->len -= n + 1;
		if (line == 0)
			continue; /* an empty line between messages */
		return ret < 0 ? ret : 1;
	}
}

void etcd_stream_reset(struct etcd_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* --- requests --- */

struct body {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;
	char *nb;

	if (n > ETCD_BODY_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	nb = realloc(b->buf, b->len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, data, n);
	b->buf = nb;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* A connection that goes silent (a partition, not a refusal) is dead after
 * 5 s idle and 3 unanswered probes 2 s apart, or 10 s of unacknowledged
 * data: the watch then ends and ferry resynchronises, instead of waiting
 * on a stream that will never speak again. */
static int tune_socket(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	int count = 3, timeout_ms = 10000;

	(void)ctx;
	if (purpose == CURLSOCKTYPE_IPCXN) {
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof(timeout_ms));
	}
	return CURL_SOCKOPT_OK;
}

static void set_common(struct etcd_client *c, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, tune_socket);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
	if (c->cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cafile);
	if (c->certfile)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->certfile);
	if (c->keyfile)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->keyfile);
}

/* What etcd's gateway says when it refuses: {"error": ..., "code": N}. */
static int refusal(struct etcd_client *c, const struct body *b, long status)
{
	json_t *root = json_loadb(b->buf ? b->buf : "", b->len, 0, NULL);
	json_t *msg = json_object_get(root, "message"), *code = json_object_get(root, "code");
	int ret = json_is_integer(code) && json_integer_value(code) == 5 ? -ENOENT : -EINVAL;

	/* gRPC's Unavailable (14) and DeadlineExceeded (4): another endpoint may do. */
	if (json_is_integer(code) && (json_integer_value(code) == 14 || json_integer_value(code) == 4))
		ret = -EIO;
	snprintf(c->error, sizeof(c->error), "%s: HTTP %ld: %.150s", etcd_endpoint(c), status,
		 json_is_string(msg) ? json_string_value(msg) : "(no message)");
	json_decref(root);
	return ret;
}

/* POST @req (JSON) to @path on the current endpoint, then the others once
 * each while none answers. On success *reply is the parsed body. */
static int post(struct etcd_client *c, const char *path, json_t *req, json_t **reply)
{
	char url[512], *text = json_dumps(req, JSON_COMPACT);
	size_t tries;
	int ret = -EIO;

	*reply = NULL;
	if (!text)
		return -ENOMEM;
	for (tries = 0; tries < c->n_endpoints; tries++) {
		struct body b = { 0 };
		CURLcode cc;
		long status = 0;

		snprintf(url, sizeof(url), "%s%s", etcd_endpoint(c), path);
		curl_easy_reset(c->curl);
		set_common(c, c->curl);
		curl_easy_setopt(c->curl, CURLOPT_URL, url);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
		curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
		cc = curl_easy_perform(c->curl);
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (cc != CURLE_OK) {
			snprintf(c->error, sizeof(c->error), "%s: %s", etcd_endpoint(c),
				 b.too_big ? "answer too large" : curl_easy_strerror(cc));
			ret = -EIO;
		} else if (status != 200) {
			ret = refusal(c, &b, status);
		} else {
			*reply = json_loadb(b.buf ? b.buf : "", b.len, JSON_REJECT_DUPLICATES, NULL);
			ret = json_is_object(*reply) ? 0 : -EPROTO;
			if (ret) {
				json_decref(*reply);
				*reply = NULL;
				snprintf(c->error, sizeof(c->error), "%s%s: the answer is not etcd's JSON",
					 etcd_endpoint(c), path);
			}
		}
		free(b.buf);
		if (ret != -EIO)
			break;
		c->current = (c->current + 1) % c->n_endpoints;
	}
	free(text);
	return ret;
}

static char *b64(const char *s, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);

	if (out)
		sodium_bin2base64(out, n, (const unsigned char *)s, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* The end of the range of keys starting with @prefix: its last byte + 1. */
static char *range_end_b64(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end = strdup(prefix), *out;

	if (!end)
		return NULL;
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n == 0) {
		free(end);
		return b64("\0", 1); /* every key */
	}
	end[n - 1]++;
	out = b64(end, n);
	free(end);
	return out;
}

static json_t *int64_json(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

int etcd_range(struct etcd_client *c, const char *key, bool prefix, struct etcd_kvs *out)
{
	char *k = b64(key, strlen(key)), *end = prefix ? range_end_b64(key) : NULL;
	json_t *req = json_object(), *reply = NULL;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!k || !req || (prefix && !end))
		goto out;
	json_object_set_new(req, "key", json_string(k));
	if (end)
		json_object_set_new(req, "range_end", json_string(end));
	ret = post(c, "/v3/kv/range", req, &reply);
	if (!ret) {
		ret = range_from_json(reply, out);
		if (ret)
			snprintf(c->error, sizeof(c->error), "%s: a range answer that is not etcd's", etcd_endpoint(c));
	}
out:
	json_decref(reply);
	json_decref(req);
	free(k);
	free(end);
	return ret;
}

int etcd_put_if(struct etcd_client *c, const char *key, int64_t mod_revision, const char *value, int64_t lease,
		bool *done)
{
	char *k = b64(key, strlen(key)), *v = b64(value, strlen(value));
	json_t *req = NULL, *reply = NULL, *cmp, *put;
	int ret = -ENOMEM;

	*done = false;
	if (!k || !v)
		goto out;
	/* version == 0: the key does not exist; mod_revision == N: nobody
	 * changed it since we read it. Either way a compare-and-swap. */
	if (mod_revision == 0)
		cmp = json_pack("{s:s, s:s, s:s, s:o}", "key", k, "result", "EQUAL", "target", "VERSION", "version",
				int64_json(0));
	else
		cmp = json_pack("{s:s, s:s, s:s, s:o}", "key", k, "result", "EQUAL", "target", "MOD", "mod_revision",
				int64_json(mod_revision));
	put = json_pack("{s:{s:s, s:s, s:o}}", "request_put", "key", k, "value", v, "lease", int64_json(lease));
	if (!cmp || !put) {
		json_decref(cmp);
		json_decref(put);
		goto out;
	}
	req = json_pack("{s:[o], s:[o]}", "compare", cmp, "success", put);
	if (!req)
		goto out;
	ret = post(c, "/v3/kv/txn", req, &reply);
	if (!ret)
		*done = json_is_true(json_object_get(reply, "succeeded"));
out:
	json_decref(reply);
	json_decref(req);
	free(k);
	free(v);
	return ret;
}

int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t *id)
{
	json_t *req = json_pack("{s:o, s:o}", "TTL", int64_json(ttl), "ID", int64_json(0)), *reply = NULL;
	int ret = req ? post(c, "/v3/lease/grant", req, &reply) : -ENOMEM;

	*id = 0;
	if (!ret) {
		ret = get_int64(reply, "ID", id);
		if (!ret && *id == 0)
			ret = -EPROTO;
		if (ret)
			snprintf(c->error, sizeof(c->error), "%s: a lease grant without a lease", etcd_endpoint(c));
	}
	json_decref(reply);
	json_decref(req);
	return ret;
}

int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl)
{
	json_t *req = json_pack("{s:o}", "ID", int64_json(id)), *reply = NULL, *r;
	int ret = req ? post(c, "/v3/lease/keepalive", req, &reply) : -ENOMEM;

	*ttl = 0;
	if (!ret) {
		/* A stream of one: {"result": {"ID": ..., "TTL": ...}}; TTL
		 * absent (0) when the lease is gone. */
		r = json_object_get(reply, "result");
		ret = json_is_object(r) ? get_int64(r, "TTL", ttl) : -EPROTO;
		if (ret)
			snprintf(c->error, sizeof(c->error), "%s: a keep-alive answer that is not etcd's",
				 etcd_endpoint(c));
	}
	json_decref(reply);
	json_decref(req);
	return ret;
}

int etcd_lease_revoke(struct etcd_client *c, int64_t id)
{
	json_t *req = json_pack("{s:o}", "ID", int64_json(id)), *reply = NULL;
	int ret = req ? post(c, "/v3/lease/revoke", req, &reply) : -ENOMEM;

	json_decref(reply);
	json_decref(req);
	return ret;
}

/* --- the watch --- */

static size_t watch_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct etcd_client *c = ctx;
	size_t n = size * nmemb;

	return etcd_stream_feed(&c->stream, data, n) < 0 ? 0 : n;
}

int etcd_watch_start(struct etcd_client *c, const char *prefix, int64_t start_revision)
{
	char *k = b64(prefix, strlen(prefix)), *end = range_end_b64(prefix), *text = NULL;
	json_t *req = NULL;
	CURL *h = NULL;
	int ret = -ENOMEM;

	etcd_watch_stop(c);
	if (!k || !end)
		goto out;
	req = json_pack("{s:{s:s, s:s, s:o}}", "create_request", "key", k, "range_end", end, "start_revision",
			int64_json(start_revision));
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	h = text ? curl_easy_init() : NULL;
	if (!h)
		goto out;
	snprintf(c->watch_url, sizeof(c->watch_url), "%s/v3/watch", etcd_endpoint(c));
	set_common(c, h);
	curl_easy_setopt(h, CURLOPT_URL, c->watch_url);
	curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, text);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	if (curl_multi_add_handle(c->multi, h) != CURLM_OK)
		goto out;
	c->watch = h;
	h = NULL;
	c->watch_ended = false;
	ret = 0;
out:
	if (h)
		curl_easy_cleanup(h);
	free(text);
	json_decref(req);
	free(k);
	free(end);
	return ret;
}

void etcd_watch_stop(struct etcd_client *c)
{
	if (c->watch) {
		curl_multi_remove_handle(c->multi, c->watch);
		curl_easy_cleanup(c->watch);
		c->watch = NULL;
	}
	c->watch_ended = false;
	etcd_stream_reset(&c->stream);
}

void etcd_watch_poll(struct etcd_client *c, int timeout_ms, int fd)
{
	struct curl_waitfd extra = { .fd = fd, .events = CURL_WAIT_POLLIN };
	int running = 0;
	CURLMsg *m;
	int left;

	curl_multi_poll(c->multi, fd >= 0 ? &extra : NULL, fd >= 0 ? 1 : 0, timeout_ms, NULL);
	curl_multi_perform(c->multi, &running);
	while ((m = curl_multi_info_read(c->multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == c->watch) {
			long status = 0;

			curl_easy_getinfo(c->watch, CURLINFO_RESPONSE_CODE, &status);
			snprintf(c->error, sizeof(c->error), "%.200s: the watch ended: %s (HTTP %ld)", c->watch_url,
				 curl_easy_strerror(m->data.result), status);
			c->watch_ended = true;
		}
}

int etcd_watch_next(struct etcd_client *c, struct etcd_watch_msg *msg)
{
	int ret;

	memset(msg, 0, sizeof(*msg));
	if (!c->watch)
		return -EPIPE;
	ret = etcd_stream_next(&c->stream, msg);
	if (ret == 0 && c->watch_ended)
		return -EPIPE;
	return ret;
}

/* --- the client --- */

const char *etcd_endpoint(const struct etcd_client *c)
{
	return c->n_endpoints ? c->endpoints[c->current] : "(no endpoint)";
}

int etcd_client_init(struct etcd_client *c, const char *endpoints, const char *cafile, const char *certfile,
		     const char *keyfile)
{
	char *list, *tok, *save = NULL;

	memset(c, 0, sizeof(*c));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(c->error, sizeof(c->error), "cannot initialise libcurl");
		return -ENOMEM;
	}
	list = strdup(endpoints);
	if (!list)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(tok);
		char **e;

		while (n > 1 && tok[n - 1] == '/')
			tok[--n] = '\0';
		if ((strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8)) || n > 400 || strpbrk(tok, " \t\r\n")) {
			char why[sizeof(c->error)];

			snprintf(why, sizeof(why), "'%.100s' is not an http:// or https:// URL", tok);
			free(list);
			etcd_client_free(c);
			memcpy(c->error, why, sizeof(why));
			return -EINVAL;
		}
		e = realloc(c->endpoints, (c->n_endpoints + 1) * sizeof(*e));
		if (!e || !(e[c->n_endpoints] = strdup(tok))) {
			if (e)
				c->endpoints = e;
			free(list);
			etcd_client_free(c);
			return -ENOMEM;
		}
		c->endpoints = e;
		c->n_endpoints++;
	}
	free(list);
	if (!c->n_endpoints) {
		snprintf(c->error, sizeof(c->error), "no etcd endpoint");
		return -EINVAL;
	}
	c->cafile = cafile ? strdup(cafile) : NULL;
	c->certfile = certfile ? strdup(certfile) : NULL;
	c->keyfile = keyfile ? strdup(keyfile) : NULL;
	c->curl = curl_easy_init();
	c->multi = curl_multi_init();
	if (!c->curl || !c->multi) {
		etcd_client_free(c);
		return -ENOMEM;
	}
	return 0;
}

void etcd_client_free(struct etcd_client *c)
{
	size_t i;

	etcd_watch_stop(c);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	for (i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->cafile);
	free(c->certfile);
	free(c->keyfile);
	memset(c, 0, sizeof(*c));
}
