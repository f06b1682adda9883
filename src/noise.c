/* noise.c - the Noise_IKpsk2 handshake and keypair management.
 *
 * Both handshake messages are built and checked here step by step, in the
 * order of the whitepaper (section 5.4.2 and 5.4.3), with its names: C (the
 * chaining key), H (the hash), the ephemeral and static keys. A failed step
 * leaves the peer's state untouched: work happens on copies until the
 * message is fully authenticated. */
#include "noise.h"

#include "clock.h"
#include "crypto.h"

#include <stdlib.h>
#include <string.h>

/* C0 = HASH(CONSTRUCTION), H0 = HASH(C0 || IDENTIFIER): the same for every
 * handshake, computed once. */
static uint8_t initial_chaining_key[CRYPT_HASH_LEN];
static uint8_t initial_hash[CRYPT_HASH_LEN];

void noise_init(void)
{
	crypt_hash(initial_chaining_key, NOISE_CONSTRUCTION, strlen(NOISE_CONSTRUCTION), NULL, 0);
	crypt_hash(initial_hash, initial_chaining_key, CRYPT_HASH_LEN, NOISE_IDENTIFIER, strlen(NOISE_IDENTIFIER));
}

static void handshake_init(uint8_t ck[CRYPT_HASH_LEN], uint8_t h[CRYPT_HASH_LEN],
			   const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	memcpy(ck, initial_chaining_key, CRYPT_HASH_LEN);
	crypt_hash(h, initial_hash, CRYPT_HASH_LEN, responder_static, NOISE_PUBLIC_KEY_LEN);
}

static void mix_hash(uint8_t h[CRYPT_HASH_LEN], const void *data, size_t len)
{
	crypt_hash(h, h, CRYPT_HASH_LEN, data, len);
}

/* C = KDF1(C, e); H = HASH(H || e) */
static void message_ephemeral(uint8_t ck[CRYPT_HASH_LEN], uint8_t h[CRYPT_HASH_LEN],
			      const uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN])
{
	crypt_kdf(ck, NULL, NULL, ck, ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_hash(h, ephemeral, NOISE_PUBLIC_KEY_LEN);
}

/* (C, k) = KDF2(C, DH(private, public)); false for a low-order public key. */
static bool mix_dh(uint8_t ck[CRYPT_HASH_LEN], uint8_t key[CRYPT_KEY_LEN], const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		   const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[CRYPT_KEY_LEN];
	bool ok = crypt_dh(dh, priv, pub);

	if (ok)
		crypt_kdf(ck, key, NULL, ck, dh, sizeof(dh));
	crypt_wipe(dh, sizeof(dh));
	return ok;
}

static void mix_precomputed(uint8_t ck[CRYPT_HASH_LEN], uint8_t key[CRYPT_KEY_LEN], const uint8_t ss[CRYPT_KEY_LEN])
{
	crypt_kdf(ck, key, NULL, ck, ss, CRYPT_KEY_LEN);
}

/* msg = AEAD(k, 0, plain, H); H = HASH(H || msg) */
static void encrypt_and_hash(uint8_t *out, const uint8_t *plain, size_t len, const uint8_t key[CRYPT_KEY_LEN],
			     uint8_t h[CRYPT_HASH_LEN])
{
	crypt_aead_encrypt(out, plain, len, h, CRYPT_HASH_LEN, 0, key);
	mix_hash(h, out, len + NOISE_AUTHTAG_LEN);
}

static bool decrypt_and_hash(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t key[CRYPT_KEY_LEN],
			     uint8_t h[CRYPT_HASH_LEN])
{
	if (!crypt_aead_decrypt(out, msg, len + NOISE_AUTHTAG_LEN, h, CRYPT_HASH_LEN, 0, key))
		return false;
	mix_hash(h, msg, len + NOISE_AUTHTAG_LEN);
	return true;
}

/* (C, tau, k) = KDF3(C, Q); H = HASH(H || tau) */
static void mix_psk(uint8_t ck[CRYPT_HASH_LEN], uint8_t h[CRYPT_HASH_LEN], uint8_t key[CRYPT_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[CRYPT_HASH_LEN];

	crypt_kdf(ck, tau, key, ck, psk, NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(h, tau, sizeof(tau));
	crypt_wipe(tau, sizeof(tau));
}

void noise_tai64n_now(uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct timespec ts;
	uint64_t secs;
	uint32_t nsec;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* TAI64 label: 2^62 + 10 seconds; nanoseconds rounded down to a multiple
	 * of 2^24 ns (~16.8 ms), under 1 s / INITIATIONS_PER_SECOND. */
	secs = 0x400000000000000aULL + (uint64_t)ts.tv_sec;
	nsec = (uint32_t)ts.tv_nsec & ~((1u << 24) - 1);
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

void noise_handshake_clear(struct peer *p)
{
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last = p->hs.last_initiation_consumption_ms;

	index_remove(p->local, &p->hs.entry);
	/* The replay protection outlives the handshake itself. */
	memcpy(timestamp, p->hs.latest_timestamp, sizeof(timestamp));
	crypt_wipe(&p->hs, sizeof(p->hs));
	memcpy(p->hs.latest_timestamp, timestamp, sizeof(timestamp));
	p->hs.last_initiation_consumption_ms = last;
	p->hs.state = HANDSHAKE_ZEROED;
}

bool noise_handshake_create_initiation(struct message_handshake_initiation *m, struct peer *p)
{
	struct noise_local *l = p->local;
	struct handshake *hs = &p->hs;
	uint8_t key[CRYPT_KEY_LEN], ephemeral_public[NOISE_PUBLIC_KEY_LEN], timestamp[NOISE_TIMESTAMP_LEN];
	bool ok = false;

	if (!l->has_private_key || !p->static_static_ok)
		return false;
	noise_handshake_clear(p);
	memset(m, 0, sizeof(*m));
	le32_write(&m->header.type, MESSAGE_HANDSHAKE_INITIATION);

	handshake_init(hs->chaining_key, hs->hash, p->public_key);
	crypt_generate_secret(hs->ephemeral_private);
	crypt_public_key(ephemeral_public, hs->ephemeral_private);
	memcpy(m->unencrypted_ephemeral, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	message_ephemeral(hs->chaining_key, hs->hash, ephemeral_public);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, p->public_key))
		goto out;
	/* s */
	encrypt_and_hash(m->encrypted_static, l->public_key, NOISE_PUBLIC_KEY_LEN, key, hs->hash);
	/* ss */
	mix_precomputed(hs->chaining_key, key, p->static_static);
	/* {t} */
	noise_tai64n_now(timestamp);
	encrypt_and_hash(m->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN, key, hs->hash);

	index_add(l, &hs->entry, INDEX_HANDSHAKE, p);
	le32_write(&m->sender_index, hs->entry.index);
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ok = true;
out:
	crypt_wipe(key, sizeof(key));
	if (!ok)
		noise_handshake_clear(p);
	return ok;
}

struct peer *noise_handshake_consume_initiation(const struct message_handshake_initiation *m, struct noise_local *l,
						enum noise_reject *why)
{
	uint8_t ck[CRYPT_HASH_LEN], h[CRYPT_HASH_LEN], key[CRYPT_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN], t[NOISE_TIMESTAMP_LEN];
	struct peer *p = NULL, *ret = NULL;
	uint64_t now = clock_ms();
	bool replay, flood;

	*why = NOISE_REJECT_INVALID;
	if (!l->has_private_key)
		return NULL;
	handshake_init(ck, h, l->public_key);
	/* e */
	message_ephemeral(ck, h, m->unencrypted_ephemeral);
	/* es */
	if (!mix_dh(ck, key, l->private_key, m->unencrypted_ephemeral))
		goto out;
	/* s */
	if (!decrypt_and_hash(s, m->encrypted_static, NOISE_PUBLIC_KEY_LEN, key, h))
		goto out;
	p = peer_lookup(l, s);
	if (!p || !p->static_static_ok)
		goto out;
	/* ss */
	mix_precomputed(ck, key, p->static_static);
	/* {t} */
	if (!decrypt_and_hash(t, m->encrypted_timestamp, NOISE_TIMESTAMP_LEN, key, h))
		goto out;

	/* An initiation must carry a newer timestamp than any before it, and
	 * come at most INITIATIONS_PER_SECOND times a second. */
	replay = memcmp(t, p->hs.latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0;
	flood = p->hs.last_initiation_consumption_ms &&
		now - p->hs.last_initiation_consumption_ms < 1000 / INITIATIONS_PER_SECOND;
	if (replay || flood) {
		*why = NOISE_REJECT_STALE;
		goto out;
	}

	noise_handshake_clear(p);
	memcpy(p->hs.remote_ephemeral, m->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(p->hs.latest_timestamp, t, NOISE_TIMESTAMP_LEN);
	memcpy(p->hs.hash, h, CRYPT_HASH_LEN);
	memcpy(p->hs.chaining_key, ck, CRYPT_HASH_LEN);
	p->hs.remote_index = le32_read(&m->sender_index);
	p->hs.last_initiation_consumption_ms = now;
	p->hs.state = HANDSHAKE_CONSUMED_INITIATION;
	ret = p;
out:
	crypt_wipe(ck, sizeof(ck));
	crypt_wipe(h, sizeof(h));
	crypt_wipe(key, sizeof(key));
	crypt_wipe(s, sizeof(s));
	return ret;
}

bool noise_handshake_create_response(struct message_handshake_response *m, struct peer *p)
{
	struct handshake *hs = &p->hs;
	uint8_t key[CRYPT_KEY_LEN], ephemeral_public[NOISE_PUBLIC_KEY_LEN];
	bool ok = false;

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return false;
	memset(m, 0, sizeof(*m));
	le32_write(&m->header.type, MESSAGE_HANDSHAKE_RESPONSE);
	le32_write(&m->receiver_index, hs->remote_index);

	/* e */
	crypt_generate_secret(hs->ephemeral_private);
	crypt_public_key(ephemeral_public, hs->ephemeral_private);
	memcpy(m->unencrypted_ephemeral, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	message_ephemeral(hs->chaining_key, hs->hash, ephemeral_public);
	/* ee */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, p->public_key))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, p->preshared_key);
	/* {} */
	encrypt_and_hash(m->encrypted_nothing, NULL, 0, key, hs->hash);

	index_add(p->local, &hs->entry, INDEX_HANDSHAKE, p);
	le32_write(&m->sender_index, hs->entry.index);
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ok = true;
out:
	crypt_wipe(key, sizeof(key));
	if (!ok)
		noise_handshake_clear(p);
	return ok;
}

struct peer *noise_handshake_consume_response(const struct message_handshake_response *m, struct noise_local *l,
					      enum noise_reject *why)
{
	uint8_t ck[CRYPT_HASH_LEN], h[CRYPT_HASH_LEN], key[CRYPT_KEY_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN], nothing[1];
	struct index_entry *e;
	struct peer *p, *ret = NULL;

	*why = NOISE_REJECT_INVALID;
	if (!l->has_private_key)
		return NULL;
	e = index_lookup(l, le32_read(&m->receiver_index), INDEX_HANDSHAKE);
	if (!e) {
		*why = NOISE_REJECT_UNKNOWN_INDEX;
		return NULL;
	}
	p = e->peer;
	if (p->hs.state != HANDSHAKE_CREATED_INITIATION)
		return NULL;
	memcpy(ck, p->hs.chaining_key, sizeof(ck));
	memcpy(h, p->hs.hash, sizeof(h));
	memcpy(ephemeral_private, p->hs.ephemeral_private, sizeof(ephemeral_private));

	/* e */
	message_ephemeral(ck, h, m->unencrypted_ephemeral);
	/* ee */
	if (!mix_dh(ck, key, ephemeral_private, m->unencrypted_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ck, key, l->private_key, m->unencrypted_ephemeral))
		goto out;
	/* psk */
	mix_psk(ck, h, key, p->preshared_key);
	/* {} */
	if (!decrypt_and_hash(nothing, m->encrypted_nothing, 0, key, h))
		goto out;

	memcpy(p->hs.chaining_key, ck, sizeof(ck));
	memcpy(p->hs.hash, h, sizeof(h));
	p->hs.remote_index = le32_read(&m->sender_index);
	p->hs.state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = p;
out:
	crypt_wipe(ck, sizeof(ck));
	crypt_wipe(h, sizeof(h));
	crypt_wipe(key, sizeof(key));
	crypt_wipe(ephemeral_private, sizeof(ephemeral_private));
	return ret;
}

static void keypair_free(struct noise_local *l, struct keypair *kp)
{
	if (!kp)
		return;
	index_remove(l, &kp->entry);
	crypt_wipe(kp, sizeof(*kp));
	free(kp);
}

bool noise_handshake_begin_session(struct peer *p)
{
	struct handshake *hs = &p->hs;
	struct noise_local *l = p->local;
	struct keypair *kp;
	uint8_t t1[CRYPT_KEY_LEN], t2[CRYPT_KEY_LEN];

	if (hs->state != HANDSHAKE_CREATED_RESPONSE && hs->state != HANDSHAKE_CONSUMED_RESPONSE)
		return false;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return false;
	kp->i_am_initiator = hs->state == HANDSHAKE_CONSUMED_RESPONSE;
	/* (T_send, T_recv) = KDF2(C, "") for the initiator, swapped for the responder. */
	crypt_kdf(t1, t2, NULL, hs->chaining_key, NULL, 0);
	memcpy(kp->send_key, kp->i_am_initiator ? t1 : t2, CRYPT_KEY_LEN);
	memcpy(kp->recv_key, kp->i_am_initiator ? t2 : t1, CRYPT_KEY_LEN);
	crypt_wipe(t1, sizeof(t1));
	crypt_wipe(t2, sizeof(t2));
	replay_init(&kp->replay);
	kp->remote_index = hs->remote_index;
	kp->birth_ms = clock_ms();

	/* The keypair takes over the handshake's index: the peer answers (and
	 * sends data) to the index it has already seen. */
	index_take_over(l, &hs->entry, &kp->entry, INDEX_KEYPAIR);
	noise_handshake_clear(p);

	if (kp->i_am_initiator) {
		/* The response proved the responder has the keys: use it now. */
		if (p->next) {
			keypair_free(l, p->previous);
			p->previous = p->next;
			p->next = NULL;
			keypair_free(l, p->current);
		} else {
			keypair_free(l, p->previous);
			p->previous = p->current;
		}
		p->current = kp;
	} else {
		/* Wait for the initiator's first data message before sending with it. */
		keypair_free(l, p->next);
		p->next = kp;
		keypair_free(l, p->previous);
		p->previous = NULL;
	}
	return true;
}

bool noise_received_with_keypair(struct peer *p, struct keypair *kp)
{
	if (kp != p->next)
		return false;
	keypair_free(p->local, p->previous);
	p->previous = p->current;
	p->current = p->next;
	p->next = NULL;
	return true;
}

bool noise_keypair_usable(const struct keypair *kp, uint64_t now)
{
	return kp && now - kp->birth_ms < (uint64_t)REJECT_AFTER_TIME_S * 1000 &&
	       kp->send_counter < REJECT_AFTER_MESSAGES;
}

void noise_keypairs_clear(struct peer *p)
{
	keypair_free(p->local, p->current);
	keypair_free(p->local, p->previous);
	keypair_free(p->local, p->next);
	p->current = p->previous = p->next = NULL;
}
