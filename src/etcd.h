/* etcd.h - a small client of etcd's v3 API through its JSON gateway
 * (etcd 3.4: /v3/kv/range, /v3/kv/txn, /v3/lease/grant, /v3/lease/keepalive,
 * /v3/lease/revoke, /v3/watch), over libcurl, with jansson for the JSON.
 * docs/DESIGN.md ("Overlay mode") says why this and not gRPC.
 *
 * Requests are synchronous and bounded in time (a few seconds) and size;
 * the watch is one long-lived streaming POST driven by a curl multi handle
 * that the caller polls. Everything etcd answers is hostile: bodies are
 * capped, keys and values are decoded from base64 into bounded buffers,
 * and the parsers (etcd_parse_range, etcd_stream_next) are fuzzed.
 *
 * Functions return 0 or a negative errno: -EIO when no endpoint answered
 * (c->error says why), -EPROTO for an answer that is not etcd's, -ENOENT
 * for etcd's NotFound (an unknown lease), -EINVAL for etcd's other refusals. */
#ifndef FERRY_ETCD_H
#define FERRY_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what etcd may send: a whole response, one decoded value, the
 * number of keys in one range. */
#define ETCD_BODY_MAX  (64u << 20)
#define ETCD_VALUE_MAX (1u << 20)
#define ETCD_KEY_MAX   4096u
#define ETCD_KVS_MAX   (1u << 20)

struct etcd_kv {
	char *key; /* decoded, NUL-terminated (a key holding NUL is refused) */
	size_t key_len;
	char *value; /* decoded, NUL-terminated; may hold NUL bytes */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

struct etcd_kvs {
	struct etcd_kv *kv;
	size_t n;
	int64_t revision; /* the store's revision the answer is as of */
};

void etcd_kvs_free(struct etcd_kvs *kvs);

/* A range response's body. Returns 0, -EPROTO or -ENOMEM. */
int etcd_parse_range(const char *body, size_t len, struct etcd_kvs *out);

struct etcd_event {
	bool deleted; /* DELETE (or expired); otherwise PUT */
	struct etcd_kv kv;
};

/* One message of the watch stream. */
struct etcd_watch_msg {
	int64_t revision;
	bool created, canceled;
	int64_t compact_revision; /* non-zero: the start revision was compacted */
	struct etcd_event *events;
	size_t n_events;
};

void etcd_watch_msg_free(struct etcd_watch_msg *m);

/* The watch stream's bytes, split into messages (one JSON object a line). */
struct etcd_stream {
	char *buf;
	size_t len, cap;
};

/* Append bytes; -E2BIG past ETCD_BODY_MAX (the stream is then useless). */
int etcd_stream_feed(struct etcd_stream *s, const char *data, size_t len);
/* Take the next whole message: 1 and *msg filled, 0 when none is complete
 * yet, -EPROTO for a message that is not a watch response (an {"error"}
 * object from the gateway included). */
int etcd_stream_next(struct etcd_stream *s, struct etcd_watch_msg *msg);
void etcd_stream_reset(struct etcd_stream *s);

struct etcd_client {
	char **endpoints; /* "http://192.0.2.250:2379", ... */
	size_t n_endpoints, current;
	char *cafile, *certfile, *keyfile;
	void *curl; /* CURL *, for requests */
	char error[512];
	/* the watch */
	void *multi; /* CURLM * */
	void *watch; /* CURL *, NULL when not watching */
	bool watch_ended;
	struct etcd_stream stream;
	char watch_url[512];
};

/* @endpoints: comma-separated URLs. Returns 0 or -EINVAL with c->error. */
int etcd_client_init(struct etcd_client *c, const char *endpoints, const char *cafile, const char *certfile,
		     const char *keyfile);
void etcd_client_free(struct etcd_client *c);
/* The endpoint in use, for messages. */
const char *etcd_endpoint(const struct etcd_client *c);

/* Keys from @key up to the prefix's end (@prefix) or @key alone. */
int etcd_range(struct etcd_client *c, const char *key, bool prefix, struct etcd_kvs *out);
/* Transactions: put @value at @key bound to @lease, only if the key does not
 * exist (@mod_revision 0) or was last changed at @mod_revision. *done tells
 * whether the comparison held and the put happened. */
int etcd_put_if(struct etcd_client *c, const char *key, int64_t mod_revision, const char *value, int64_t lease,
		bool *done);
int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t *id);
/* *ttl is the lease's remaining TTL after the renewal; 0 when it expired. */
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl);
int etcd_lease_revoke(struct etcd_client *c, int64_t id);

/* Watch every key under @prefix from @start_revision on. */
int etcd_watch_start(struct etcd_client *c, const char *prefix, int64_t start_revision);
void etcd_watch_stop(struct etcd_client *c);
/* Wait up to @timeout_ms for watch data or @fd (-1: none) to be readable,
 * then move what arrived into the stream. */
void etcd_watch_poll(struct etcd_client *c, int timeout_ms, int fd);
/* The next watch message (as etcd_stream_next), or -EPIPE once the stream
 * ended and everything that came before the end was taken. */
int etcd_watch_next(struct etcd_client *c, struct etcd_watch_msg *msg);

#endif
