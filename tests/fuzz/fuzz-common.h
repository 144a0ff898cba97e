/* SPDX-License-Identifier: MIT */
/* Shared by the libFuzzer targets: checks, a pool of segments, and a model of the value codec. */
#ifndef MEMBRIDGE_FUZZ_COMMON_H
#define MEMBRIDGE_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <membridge.h>

/* Every libFuzzer target defines these two. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken expectation and abort(): libFuzzer saves the input. */
_Noreturn void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define FZ_CHECK(cond, ...) do {						\
	if (!(cond))								\
		fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);		\
} while (0)

/* A call that must return exactly `want` (0 or a negative errno value). */
#define FZ_CHECK_RET(call, want) do {						\
	int fz_r_ = (call), fz_w_ = (want);					\
	FZ_CHECK(fz_r_ == fz_w_, "%s returned %d (%s), expected %d (%s)", #call,	\
		 fz_r_, membridge_strerror(fz_r_), fz_w_, membridge_strerror(fz_w_));	\
} while (0)

/*
 * The segments a target works on are made once, before the first input, and
 * removed at exit: "/mbfuzz.<pid>.<n>", so run-target.sh can find and remove
 * what a crashed run left behind.
 */
struct fz_segment {
	struct membridge_segment *creator; /* the handle that created it */
	struct membridge_segment *opener;  /* a second handle, from segment_open */
	size_t size;
};

/* Create a segment of `size` bytes (and open it a second time); aborts on
 * failure. The pool holds a few dozen. */
struct fz_segment *fz_segment_new(size_t size);
/* Copy n bytes into the segment from offset 0 and zero the rest. */
void fz_segment_fill(const struct fz_segment *s, const uint8_t *src, size_t n);
/* The name prefix of this process's segments, "/mbfuzz.<pid>.". */
const char *fz_name_prefix(void);

/* Native-order integers from possibly unaligned bytes. */
uint32_t fz_load32(const void *p);
uint64_t fz_load64(const void *p);

/*
 * An independent model of the codec of membridge(7), written from the
 * documentation rather than from lib/codec.c. Types are plain ints so that
 * invalid values can be modelled too.
 */
/* Strict UTF-8 (RFC 3629). */
bool fz_utf8_valid(const uint8_t *s, size_t len);
/* What membridge_decode(buf, len, &pos, type, v) must do: the return value,
 * and on success the value and the position after it. */
int fz_model_decode(const uint8_t *buf, size_t len, size_t pos, int type,
		    struct membridge_value *v, size_t *end);
/* Bytes a fixed-size type occupies (4 for the prefix of a str), 0 if invalid. */
size_t fz_model_fixed_size(int type);
/* Abort unless got and want are the same value: type, then the payload (floats
 * bit for bit, str by length and bytes). */
void fz_check_value(const struct membridge_value *got, const struct membridge_value *want,
		    const char *what);

#endif /* MEMBRIDGE_FUZZ_COMMON_H */
