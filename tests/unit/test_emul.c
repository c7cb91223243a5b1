/* The network emulator's settings and timing model, without a clock: specs
 * that parse (units, defaults) and the error each bad one gives, then the
 * link model fed made-up times against what emul_link.h says it does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emul.h"
#include "emul_link.h"
#include "emul_spec.h"

static rm_emul_spec_t good(const char *text)
{
    rm_emul_spec_t s;
    char err[256] = "";
    if (rm_emul_spec_parse(text, &s, err, sizeof err) != 0) {
        fprintf(stderr, "'%s' refused: %s\n", text, err);
        CHECK(0);
    }
    return s;
}

static void check_spec(const char *text, uint64_t rtt, uint64_t jitter, double bps)
{
    rm_emul_spec_t s = good(text);
    if (s.rtt_ns != rtt || s.jitter_ns != jitter || s.bits_per_s != bps) {
        fprintf(stderr, "'%s': rtt %llu jitter %llu bw %g\n", text, (unsigned long long)s.rtt_ns,
                (unsigned long long)s.jitter_ns, s.bits_per_s);
        CHECK(0);
    }
}

/* A bad spec is refused with a message containing `names`, *out untouched. */
static void check_bad(const char *text, const char *names)
{
    rm_emul_spec_t s, before;
    char err[256] = "";
    memset(&s, 0x5a, sizeof s);
    before = s;
    CHECK(rm_emul_spec_parse(text, &s, err, sizeof err) == -1);
    CHECK(memcmp(&s, &before, sizeof s) == 0);
    if (!strstr(err, names)) {
        fprintf(stderr, "'%s': message '%s' does not name '%s'\n", text, err, names);
        CHECK(0);
    }
}

static void test_spec(void)
{
    check_spec("", 0, 0, 0);
    check_spec(NULL, 0, 0, 0);
    check_spec("rtt=10us,bw=25Gbit", 10000, 0, 25e9);
    check_spec("rtt=10us,bw=25Gbit,jitter=2us", 10000, 2000, 25e9);
    check_spec("bw=1.5Gbyte,rtt=2ms", 2000000, 0, 12e9);
    check_spec("delay=1ms", 2000000, 0, 0);
    check_spec("rtt=1s,bw=10kbit", 1000000000, 0, 1e4);
    check_spec("rtt=0.5us", 500, 0, 0);
    check_spec("rtt=250ns,bw=100GBIT", 250, 0, 100e9);
    check_spec("bw=1Kbyte", 0, 0, 8e3);
    check_spec("bw=2Mbit", 0, 0, 2e6);
    check_spec("bw=10Tbit", 0, 0, 1e13);
    check_spec("rtt=4us,jitter=2us", 4000, 2000, 0);
    CHECK(!rm_emul_spec_active(&(rm_emul_spec_t){0, 0, 0}));
    CHECK(rm_emul_spec_active(&(rm_emul_spec_t){1, 0, 0}));
    CHECK(rm_emul_spec_active(&(rm_emul_spec_t){0, 0, 1e9}));

    check_bad("rtt=10", "rtt=10: no unit after '10'");
    check_bad("rtt=10usec", "rtt=10usec: unknown unit 'usec'");
    check_bad("rtt=", "rtt=: want a number");
    check_bad("rtt=-1us", "rtt=-1us: want a number");
    check_bad("rtt=ms", "rtt=ms: want a number");
    check_bad("rtt=1.2.3ms", "rtt=1.2.3ms: unknown unit '.3ms'");
    check_bad("rtt=61s", "rtt=61s: more than a minute");
    check_bad("rtt", "'rtt': want rtt=VALUE");
    check_bad("bw=25Gbt", "bw=25Gbt: unknown unit 'Gbt'");
    check_bad("bw=25", "bw=25: no unit");
    check_bad("bw=25GB", "unknown unit 'GB'");
    check_bad("bw=0Gbit", "bw=0Gbit: want 1Kbit to 10Tbit");
    check_bad("bw=100Tbit", "bw=100Tbit: want 1Kbit");
    check_bad("bw=1us", "bw=1us: unknown unit 'us'");
    check_bad("rtt=1Gbit", "rtt=1Gbit: unknown unit 'Gbit'");
    check_bad("latency=1ms", "'latency=1ms': unknown field");
    check_bad("rtt=1ms,rtt=2ms", "'rtt': given twice");
    check_bad("rtt=1ms,delay=1ms", "rtt and delay both given");
    check_bad("rtt=2us,jitter=2us", "jitter: more than half the rtt");
    check_bad("jitter=1us", "jitter");
    check_bad("rtt=1ms,", "','");
    check_bad(",rtt=1ms", "'': unknown field");
    check_bad("rtt=1ms;bw=1Gbit", "rtt=1ms;bw=1Gbit: unknown unit 'ms;bw=1Gbit'");
    CHECK(rm_emul_set("bw=fast") == RM_ERR_INVAL);
    CHECK(rm_emul_set("rtt=1ms") == RM_OK);
    CHECK(rm_emul_set(NULL) == RM_OK);
    printf("ok  emulator specs: units, defaults, and a message naming each bad field\n");
}

#define US 1000ull
#define MS 1000000ull

/* 1 Gbit/s: 8 ns a byte; rtt 2 ms. */
static void test_model(void)
{
    rm_emul_spec_t spec = good("rtt=2ms,bw=1Gbit");
    rm_emul_link_t l;
    rm_emul_link_init(&l, &spec, 1);

    /* A request of 1000 bytes written at 0 is serialised by 8 us; its
     * reply of 500 bytes, sent when the server got it (10 us, the real
     * transport's own delay included), arrives rtt + 4 us later. */
    CHECK(rm_emul_link_up(&l, 0, 1000) == 8 * US);
    rm_emul_link_down(&l, 10 * US, 500);
    CHECK(rm_emul_link_deliver(&l) == 10 * US + 2 * MS + 4 * US);

    /* Messages queue: two written at once leave one after the other, and a
     * write while the link is busy starts when it is free. */
    CHECK(rm_emul_link_up(&l, 3 * MS, 125) == 3 * MS + 1 * US);
    CHECK(rm_emul_link_up(&l, 3 * MS, 125) == 3 * MS + 2 * US);
    CHECK(rm_emul_link_up(&l, 3 * MS + 1500, 125) == 3 * MS + 3 * US);
    /* ... and a write after the link went idle starts at once. */
    CHECK(rm_emul_link_up(&l, 4 * MS, 125) == 4 * MS + 1 * US);

    /* A reply read in pieces, each as the real transport delivered it:
     * serialisation overlaps the real transfer, so the last byte comes
     * 1 MB x 8 ns after the first piece was sent, plus the rtt. */
    uint64_t t0 = 5 * MS;
    for (int i = 0; i < 16; i++)
        rm_emul_link_down(&l, t0 + (uint64_t)i * 10 * US, 62500);
    CHECK(rm_emul_link_deliver(&l) == t0 + 8 * MS + 2 * MS);

    /* The next reply, the second half of one whose first half was held:
     * found already there after the hold, it counts as having come with
     * the first half, not after the hold. */
    rm_emul_link_init(&l, &spec, 1);
    rm_emul_link_up(&l, 0, 100);
    rm_emul_link_down(&l, 50 * US, 16);
    uint64_t first = rm_emul_link_deliver(&l);
    CHECK(first == 50 * US + 2 * MS + 128);
    rm_emul_link_held(&l, first - 50 * US); /* held from 50 us to `first` */
    rm_emul_link_down(&l, first, 1000);
    CHECK(rm_emul_link_deliver(&l) == 50 * US + 2 * MS + 128 + 8 * US);
    /* A write starts a new exchange: its reply, read after waiting, is
     * timed from when it came (the holds before the write do not count). */
    rm_emul_link_up(&l, 3 * MS, 100);
    rm_emul_link_down(&l, 3 * MS + 20 * US, 16);
    CHECK(rm_emul_link_deliver(&l) == 3 * MS + 20 * US + 2 * MS + 128);

    /* The stream stays in order: bytes never overtake earlier ones, whatever
     * the jitter; every one-way trip is within rtt/2 +- jitter, so each
     * reply's round trip within rtt +- 2 x jitter of its send. */
    spec = good("rtt=100us,jitter=20us");
    rm_emul_link_init(&l, &spec, 7);
    uint64_t prev = 0, lo = UINT64_MAX, hi = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        uint64_t sent = i * 1 * MS;
        rm_emul_link_up(&l, sent, 10);
        rm_emul_link_down(&l, sent, 10);
        uint64_t d = rm_emul_link_deliver(&l);
        CHECK(d >= prev);
        prev = d;
        lo = d - sent < lo ? d - sent : lo;
        hi = d - sent > hi ? d - sent : hi;
    }
    CHECK(lo >= 60 * US && lo < 65 * US && hi <= 140 * US && hi > 135 * US);

    /* No rate: no serialisation delay. */
    spec = good("rtt=10us");
    rm_emul_link_init(&l, &spec, 1);
    CHECK(rm_emul_link_up(&l, 100, (size_t)1 << 30) == 100);
    rm_emul_link_down(&l, 200, (size_t)1 << 30);
    CHECK(rm_emul_link_deliver(&l) == 200 + 10 * US);
    printf("ok  emulator model: serialisation, queueing, pieces, holds, order, jitter\n");
}

int main(void)
{
    fprintf(stderr, "test_emul: an error logged below is expected (a bad spec on purpose)\n");
    test_spec();
    test_model();
    printf("all emulator tests passed\n");
    return 0;
}
