/* SPDX-License-Identifier: MIT */
/* membridge bridge security: CURVE key files and --keygen, the socket's
 * CURVE options, the ZAP handler of --curve-clients, and the warning for a
 * non-loopback endpoint bound without keys. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"

#define KEY_BYTES 32
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* The client public keys a CURVE server lets in. */
struct bridge_keyring {
	size_t count;
	uint8_t keys[][KEY_BYTES];
};

/* Read one z85 key from a line of text (surrounding blanks ignored):
 * true if it is one. */
static bool parse_key(const char *line, char text[BRIDGE_KEY_TEXT + 1])
{
	uint8_t raw[KEY_BYTES];
	size_t len;

	while (isspace((unsigned char)*line))
		line++;
	for (len = 0; line[len] != '\0' && !isspace((unsigned char)line[len]); len++)
		;
	if (len != BRIDGE_KEY_TEXT)
		return false;
	memcpy(text, line, len);
	text[len] = '\0';
	while (isspace((unsigned char)line[len]))
		len++;
	return line[len] == '\0' && zmq_z85_decode(raw, text) != NULL;
}

/* The one key of file `path`; the exit status after saying what is wrong. */
static int read_key(const char *what, const char *path, char text[BRIDGE_KEY_TEXT + 1])
{
	char line[256];
	FILE *f = fopen(path, "r");
	bool ok;

	if (f == NULL)
		return cli_fail(-errno, path, what);
	ok = fgets(line, sizeof(line), f) != NULL && parse_key(line, text);
	fclose(f);
	if (!ok) {
		cli_error("%s: %s: not a CURVE key (a line of 40 z85 characters, as 'membridge bridge --keygen' writes)",
			  path, what);
		return CLI_BAD_INPUT;
	}
	return CLI_OK;
}

/* Every key of the --curve-clients file, one a line (# comments, blank
 * lines allowed). */
static int read_keyring(const char *path, struct bridge_keyring **ringp)
{
	struct bridge_keyring *ring = calloc(1, sizeof(*ring)), *grown;
	char line[256], text[BRIDGE_KEY_TEXT + 1];
	unsigned long number = 0;
	FILE *f = fopen(path, "r");
	const char *p;

	if (f == NULL || ring == NULL) {
		int err = f == NULL ? -errno : -ENOMEM;

		free(ring);
		if (f != NULL)
			fclose(f);
		return cli_fail(err, path, "reading the client keys");
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		number++;
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (!parse_key(line, text)) {
			cli_error("%s:%lu: not a CURVE public key (40 z85 characters)", path, number);
			fclose(f);
			free(ring);
			return CLI_BAD_INPUT;
		}
		grown = realloc(ring, sizeof(*ring) + (ring->count + 1) * KEY_BYTES);
		if (grown == NULL) {
			fclose(f);
			free(ring);
			return cli_fail(-ENOMEM, path, "reading the client keys");
		}
		ring = grown;
		zmq_z85_decode(ring->keys[ring->count++], text);
	}
	fclose(f);
	*ringp = ring;
	return CLI_OK;
}

static int write_key(const char *path, const char *text, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t len = strlen(text);
	int err = 0;

	if (fd < 0)
		return cli_fail(-errno, path, "cannot write the key");
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		err = errno != 0 ? -errno : -EIO;
	if (close(fd) != 0 && err == 0)
		err = -errno;
	if (err != 0) {
		unlink(path);
		return cli_fail(err, path, "cannot write the key");
	}
	return CLI_OK;
}

int bridge_keygen(const char *path)
{
	char public_key[BRIDGE_KEY_TEXT + 1], secret_key[BRIDGE_KEY_TEXT + 1];
	size_t len = strlen(path);
	char *pub = malloc(len + 5);
	int status;

	if (pub == NULL)
		return cli_fail(-ENOMEM, path, "--keygen");
	memcpy(pub, path, len);
	memcpy(pub + len, ".pub", 5);
	if (zmq_curve_keypair(public_key, secret_key) != 0) {
		cli_error("this libzmq cannot make CURVE keys: %s", zmq_strerror(errno));
		free(pub);
		return CLI_FAILURE;
	}
	status = write_key(path, secret_key, 0600);
	if (status == CLI_OK) {
		status = write_key(pub, public_key, 0644);
		if (status != CLI_OK)
			unlink(path);
	}
	if (status == CLI_OK)
		printf("%s\n", public_key);
	memset(secret_key, 0, sizeof(secret_key));
	free(pub);
	return status;
}

/* tcp://HOST:PORT with HOST a loopback address or name. */
static bool is_loopback_tcp(const char *endpoint)
{
	const char *host = endpoint + 6, *colon = strrchr(host, ':');
	size_t len = colon != NULL ? (size_t)(colon - host) : strlen(host);

	if (strncmp(host, "127.", 4) == 0 && len >= 4)
		return true;
	return (len == 9 && strncmp(host, "localhost", 9) == 0) ||
	       (len == 5 && strncmp(host, "[::1]", 5) == 0) ||
	       (len == 3 && strncmp(host, "::1", 3) == 0);
}

static bool is_network(const char *endpoint)
{
	return strncmp(endpoint, "tcp://", 6) == 0 || strncmp(endpoint, "pgm://", 6) == 0 ||
	       strncmp(endpoint, "epgm://", 7) == 0 || strncmp(endpoint, "ws://", 5) == 0;
}

static int set_key(struct bridge *b, int option, const char *text)
{
	if (zmq_setsockopt(b->sock, option, text, BRIDGE_KEY_TEXT + 1) != 0) {
		cli_error("cannot set the CURVE keys: %s (a libzmq without CURVE?)", zmq_strerror(errno));
		return CLI_FAILURE;
	}
	return CLI_OK;
}

/* The handler must be bound before the CURVE server socket takes a peer. */
static int start_zap(struct bridge *b)
{
	int status = read_keyring(b->o.curve_clients, &b->clients);

	if (status != CLI_OK)
		return status;
	b->zap = zmq_socket(b->ctx, ZMQ_REP);
	if (b->zap == NULL || zmq_bind(b->zap, ZAP_ENDPOINT) != 0) {
		cli_error("cannot start the CURVE client check: %s", zmq_strerror(errno));
		return CLI_FAILURE;
	}
	return CLI_OK;
}

static int secure_server(struct bridge *b, const char *secret)
{
	int one = 1;

	if (zmq_setsockopt(b->sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0) {
		cli_error("cannot make a CURVE server: %s", zmq_strerror(errno));
		return CLI_FAILURE;
	}
	if (b->o.curve_clients != NULL && start_zap(b) != CLI_OK)
		return CLI_FAILURE;
	return set_key(b, ZMQ_CURVE_SECRETKEY, secret);
}

static int secure_client(struct bridge *b, char secret[BRIDGE_KEY_TEXT + 1])
{
	char server[BRIDGE_KEY_TEXT + 1], public_key[BRIDGE_KEY_TEXT + 1];
	int status = read_key("the CURVE server's public key", b->o.curve_server_key, server);

	if (status != CLI_OK)
		return status;
	/* Without --curve-secret, a key pair of this run: the server lets it
	 * in unless it checks clients (--curve-clients). */
	if (b->o.curve_secret == NULL ? zmq_curve_keypair(public_key, secret) != 0
				      : zmq_curve_public(public_key, secret) != 0) {
		cli_error("cannot make the CURVE public key: %s", zmq_strerror(errno));
		return CLI_FAILURE;
	}
	status = set_key(b, ZMQ_CURVE_SERVERKEY, server);
	if (status == CLI_OK)
		status = set_key(b, ZMQ_CURVE_PUBLICKEY, public_key);
	if (status == CLI_OK)
		status = set_key(b, ZMQ_CURVE_SECRETKEY, secret);
	return status;
}

int bridge_secure(struct bridge *b)
{
	char secret[BRIDGE_KEY_TEXT + 1] = "";
	int status = CLI_OK;

	if (b->o.curve_secret != NULL)
		status = read_key("the CURVE secret key", b->o.curve_secret, secret);
	if (status == CLI_OK && b->o.curve_server_key != NULL)
		status = secure_client(b, secret);
	else if (status == CLI_OK && b->o.curve_secret != NULL)
		status = secure_server(b, secret);
	else if (b->o.bind && is_network(b->o.endpoint) &&
		 !(strncmp(b->o.endpoint, "tcp://", 6) == 0 && is_loopback_tcp(b->o.endpoint)))
		fprintf(stderr, "membridge: bridge: warning: %s is bound without CURVE keys: the stream is unauthenticated and unencrypted, anyone who reaches it can read and inject messages (see --curve-secret)\n",
			b->o.endpoint);
	memset(secret, 0, sizeof(secret));
	return status;
}

static bool client_allowed(const struct bridge_keyring *ring, const uint8_t *key, int len)
{
	size_t i;

	if (len != KEY_BYTES)
		return false;
	for (i = 0; i < ring->count; i++)
		if (memcmp(ring->keys[i], key, KEY_BYTES) == 0)
			return true;
	return false;
}

/* ZAP request parts (RFC 27): version, request id, domain, address,
 * identity, mechanism, then the CURVE client's public key. */
enum { ZAP_VERSION, ZAP_ID, ZAP_MECHANISM = 5, ZAP_KEY, ZAP_PARTS };

void bridge_serve_zap(struct bridge *b)
{
	unsigned char part[ZAP_PARTS][256];
	int len[ZAP_PARTS], n, more;
	size_t more_len;
	bool ok;

	for (;;) {
		for (n = 0;; n++) {
			unsigned char spill[256];
			int got = zmq_recv(b->zap, n < ZAP_PARTS ? part[n] : spill, sizeof(spill),
					   n == 0 ? ZMQ_DONTWAIT : 0);

			if (got < 0)
				return; /* nothing (more) to answer */
			if (n < ZAP_PARTS)
				len[n] = got > (int)sizeof(spill) ? (int)sizeof(spill) : got;
			more_len = sizeof(more);
			if (zmq_getsockopt(b->zap, ZMQ_RCVMORE, &more, &more_len) != 0 || !more)
				break;
		}
		ok = n + 1 >= ZAP_PARTS && len[ZAP_MECHANISM] == 5 &&
		     memcmp(part[ZAP_MECHANISM], "CURVE", 5) == 0 &&
		     client_allowed(b->clients, part[ZAP_KEY], len[ZAP_KEY]);
		zmq_send(b->zap, "1.0", 3, ZMQ_SNDMORE);
		zmq_send(b->zap, part[ZAP_ID], n >= ZAP_ID ? (size_t)len[ZAP_ID] : 0, ZMQ_SNDMORE);
		zmq_send(b->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
		zmq_send(b->zap, ok ? "OK" : "client key not in --curve-clients", ok ? 2 : 33,
			 ZMQ_SNDMORE);
		zmq_send(b->zap, "", 0, ZMQ_SNDMORE);
		zmq_send(b->zap, "", 0, 0);
	}
}

void bridge_secure_close(struct bridge *b)
{
	if (b->zap != NULL)
		zmq_close(b->zap);
	b->zap = NULL;
	free(b->clients);
	b->clients = NULL;
}
