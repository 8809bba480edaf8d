/* SPDX-License-Identifier: MIT
 *
 * Unit tests for src/util/ids.h. Every base64/hex pair below was computed
 * with Python's base64 module, e.g.
 *   base64.b64encode(bytes.fromhex("8e5c04c7599c43a8b4b0c6bd7f8711df"))
 *   == b"jlwEx1mcQ6i0sMa9f4cR3w=="
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/ids.h"
#include "testutil.h"

struct pair {
    size_t nbytes;
    const char *hex;
    const char *b64;
};

static const struct pair pairs[] = {
    {16, "8e5c04c7599c43a8b4b0c6bd7f8711df", "jlwEx1mcQ6i0sMa9f4cR3w=="},
    {16, "0fb3b987f47fa3e8ad00011845339d97", "D7O5h/R/o+itAAEYRTOdlw=="},
    {16, "00000000000000000000000000000000", "AAAAAAAAAAAAAAAAAAAAAA=="},
    {16, "ffffffffffffffffffffffffffffffff", "/////////////////////w=="},
    {16, "fbefbefbefbefbefbefbefbefbefbeff", "++++++++++++++++++++/w=="},
    {16, "000102030405060708090a0b0c0d0e0f", "AAECAwQFBgcICQoLDA0ODw=="},
    {8, "64fb75715dcac673", "ZPt1cV3KxnM="},
    {8, "1a2b3c4d5e6f7081", "Gis8TV5vcIE="},
    {8, "9c38d6c74004e820", "nDjWx0AE6CA="},
    {8, "1cdd634542d180ba", "HN1jRULRgLo="},
    {8, "0000000000000001", "AAAAAAAAAAE="},
    {8, "fbffbffbffbfffff", "+/+/+/+///8="},
    {8, "ffffffffffffffff", "//////////8="},
};

/* base64 -> hex through msx_id_to_hex, and hex -> base64 back. */
static void test_pairs(void **state)
{
    (void)state;
    for (size_t i = 0; i < TU_COUNT(pairs); i++) {
        const struct pair *p = &pairs[i];
        char out[64];
        memset(out, 'X', sizeof out);
        if (!msx_id_to_hex(p->b64, strlen(p->b64), p->nbytes, out))
            fail_msg("%s: not accepted", p->b64);
        tu_str_eq(p->b64, out, strlen(out), p->hex);

        memset(out, 'X', sizeof out);
        if (!msx_hex_to_base64(p->hex, p->nbytes, out))
            fail_msg("%s: hex not accepted", p->hex);
        tu_str_eq(p->hex, out, strlen(out), p->b64);

        /* bare full-width hex is accepted as is */
        memset(out, 'X', sizeof out);
        TU_TRUE(p->hex, msx_id_to_hex(p->hex, strlen(p->hex), p->nbytes, out));
        tu_str_eq(p->hex, out, strlen(out), p->hex);
    }
}

struct conv {
    const char *in;
    size_t nbytes;
    const char *want; /* NULL: must be rejected */
};

static void run_conv(const struct conv *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct conv *c = &cases[i];
        char out[64];
        memset(out, 'X', sizeof out);
        bool ok = msx_id_to_hex(c->in, strlen(c->in), c->nbytes, out);
        if (!c->want) {
            if (ok)
                fail_msg("case %zu \"%s\" (nbytes %zu): accepted as %s", i, c->in, c->nbytes,
                         out);
            continue;
        }
        if (!ok)
            fail_msg("case %zu \"%s\" (nbytes %zu): rejected", i, c->in, c->nbytes);
        tu_str_eq(c->in, out, strlen(out), c->want);
    }
}

/* "0x" hex (V2), with leading zeros dropped as Python's hex() does,
 * "tr-" trace ids, and upper case: all end as 2*nbytes lowercase digits. */
static void test_hex_forms(void **state)
{
    (void)state;
    static const struct conv cases[] = {
        {"0x64fb75715dcac673", 8, "64fb75715dcac673"},
        {"0x64FB75715DCAC673", 8, "64fb75715dcac673"},
        {"0X64fb75715dcac673", 8, "64fb75715dcac673"},
        {"0x1", 8, "0000000000000001"},
        {"0x4fb75715dcac673", 8, "04fb75715dcac673"},
        {"0x0", 8, "0000000000000000"},
        {"0x8e5c04c7599c43a8b4b0c6bd7f8711df", 16, "8e5c04c7599c43a8b4b0c6bd7f8711df"},
        {"0x5c04c7599c43a8b4b0c6bd7f8711df", 16, "005c04c7599c43a8b4b0c6bd7f8711df"},
        {"0xABC", 16, "00000000000000000000000000000abc"},
        {"tr-8e5c04c7599c43a8b4b0c6bd7f8711df", 16, "8e5c04c7599c43a8b4b0c6bd7f8711df"},
        {"tr-8E5C04C7599C43A8B4B0C6BD7F8711DF", 16, "8e5c04c7599c43a8b4b0c6bd7f8711df"},
        {"8E5C04C7599C43A8B4B0C6BD7F8711DF", 16, "8e5c04c7599c43a8b4b0c6bd7f8711df"},
        {"64FB75715DCAC673", 8, "64fb75715dcac673"},
    };
    run_conv(cases, TU_COUNT(cases));
}

static void test_rejects(void **state)
{
    (void)state;
    static const struct conv cases[] = {
        {"", 16, NULL},
        {"", 8, NULL},
        {"0x", 8, NULL},
        {"0x", 16, NULL},
        {"tr-", 16, NULL},
        {"0x164fb75715dcac673", 8, NULL},            /* 17 digits: too wide */
        {"0x64fb75715dcac67g", 8, NULL},             /* not hex */
        {"0x64fb7571 dcac673", 8, NULL},             /* space */
        {"0x-4fb75715dcac673", 8, NULL},
        {"tr-8e5c04c7599c43a8b4b0c6bd7f8711df0", 16, NULL}, /* 33 digits */
        {"tr-8e5c04c7599c43a8b4b0c6bd7f8711dz", 16, NULL},
        {"TR-8e5c04c7599c43a8b4b0c6bd7f8711df", 16, NULL},
        {"8e5c04c7599c43a8b4b0c6bd7f8711d", 16, NULL},   /* 31 bare digits: not base64 either */
        {"64fb75715dcac673a", 8, NULL},              /* 17 bare digits */
        {"jlwEx1mcQ6i0sMa9f4cR3w==", 8, NULL},       /* 16-byte base64 as a span id */
        {"ZPt1cV3KxnM=", 16, NULL},                  /* 8-byte base64 as a trace id */
        {"jlwEx1mcQ6i0sMa9f4cR3w=!", 16, NULL},      /* bad character */
        {"jlwEx1mcQ6i0sMa9f4cR3x==", 16, NULL},      /* non-zero trailing bits */
        {"jlwEx1mc Q6i0sMa9f4cR3w=", 16, NULL},
        {"AAAAAAAAAAAAAAAAAAAA====", 16, NULL},      /* decodes to 15 bytes */
        {"AAAAAAAAAAAAAAAAAAAAAAAA", 16, NULL},      /* decodes to 18 bytes */
        {"ZPt1cV3KxnM", 8, NULL},                    /* unpadded: 11 chars */
        {"ZPt1cV3Kx=M=", 8, NULL},                   /* '=' inside */
        {"tr-", 8, NULL},
    };
    run_conv(cases, TU_COUNT(cases));

    /* an embedded NUL is not hex */
    char out[64];
    assert_false(msx_id_to_hex("0x64fb\0" "5715dcac673", 18, 8, out));
    assert_false(msx_id_to_hex("64fb75715d\0ac673", 16, 8, out));
}

/* Standard base64 ids that happen to start with "0x" or "0X" are still
 * base64 (one span id in 2048 does; tests/fixtures/export/exp-1.json holds
 * span "0Xxdaj1lKxE="). Pairs from Python's base64 module. */
static void test_base64_starting_with_0x(void **state)
{
    (void)state;
    static const struct conv cases[] = {
        {"0Xxdaj1lKxE=", 8, "d17c5d6a3d652b11"},
        {"0xwEx1mcQ6i0sMa9f4cR3w==", 16, "d31c04c7599c43a8b4b0c6bd7f8711df"},
        {"0xAREhMUFRYXGBkaGxwdHg==", 16, "d3101112131415161718191a1b1c1d1e"},
    };
    run_conv(cases, TU_COUNT(cases));
}

static void test_hex_to_base64_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "64FB75715DCAC673", /* upper case: the model holds lowercase only */
        "64fb75715dcac67g",
        "64fb75715dcac67 ",
        "64fb75715dcac6:3",
        "64fb75715dcac6/3",
    };
    for (size_t i = 0; i < TU_COUNT(bad); i++) {
        char out[64];
        if (msx_hex_to_base64(bad[i], 8, out))
            fail_msg("\"%s\" accepted as %s", bad[i], out);
    }
    char out[64];
    assert_false(msx_hex_to_base64("00", 33, out)); /* more than 32 bytes */
}

/* RFC 4648 section 10 test vectors. */
static void test_base64_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        const char *b64;
    } v[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < TU_COUNT(v); i++) {
        char out[16];
        unsigned char raw[16];
        size_t n = strlen(v[i].raw);
        msx_base64_encode((const unsigned char *)v[i].raw, n, out);
        assert_string_equal(out, v[i].b64);
        int got = msx_base64_decode(v[i].b64, strlen(v[i].b64), raw, sizeof raw);
        assert_int_equal(got, (int)n);
        assert_memory_equal(raw, v[i].raw, n);
        /* padding is optional when decoding */
        size_t len = strlen(v[i].b64);
        while (len && v[i].b64[len - 1] == '=')
            len--;
        got = msx_base64_decode(v[i].b64, len, raw, sizeof raw);
        assert_int_equal(got, (int)n);
        assert_memory_equal(raw, v[i].raw, n);
    }
    unsigned char raw[16];
    /* more bytes than max */
    assert_int_equal(msx_base64_decode("Zm9vYmFy", 8, raw, 5), -1);
    /* a lone sixth of a byte */
    assert_int_equal(msx_base64_decode("Zm9vY", 5, raw, sizeof raw), -1);
    assert_int_equal(msx_base64_decode("Zm9*", 4, raw, sizeof raw), -1);
    /* all 256 byte values survive a round trip */
    unsigned char all[256], back[256];
    char enc[4 * ((256 + 2) / 3) + 1];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    msx_base64_encode(all, sizeof all, enc);
    assert_int_equal(strlen(enc), 344);
    assert_int_equal(msx_base64_decode(enc, strlen(enc), back, sizeof back), 256);
    assert_memory_equal(all, back, 256);
}

static void test_is_hex(void **state)
{
    (void)state;
    assert_true(msx_is_hex("0123456789abcdefABCDEF", 22));
    assert_false(msx_is_hex("", 0));
    assert_false(msx_is_hex("0x12", 4));
    assert_false(msx_is_hex("12g", 3));
    assert_true(msx_is_hex("12g", 2)); /* only n bytes are looked at */
    assert_false(msx_is_hex("1\0" "2", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_hex_forms),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_base64_starting_with_0x),
        cmocka_unit_test(test_hex_to_base64_rejects),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_is_hex),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
