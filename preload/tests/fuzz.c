/*
 * Randomised robustness check (gcc has no libFuzzer): feeds random and
 * mutated bytes to the note parser, the config parser and the collector
 * parser, built with AddressSanitizer and UBSan. Any out-of-bounds read or
 * undefined behaviour aborts the run. Deterministic seed, about a second.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/config.h"
#include "vigil/notes.h"

static unsigned long long seed = 0x9e3779b97f4a7c15ull;

static unsigned rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)(seed >> 32);
}

int main(int argc, char **argv)
{
    static struct vg_config cfg;
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    long i;

    for (i = 0; i < rounds; i++) {
        size_t n = rnd() % 96;
        /* An exact-size heap copy so ASan sees every overread. */
        unsigned char *buf = malloc(n + 1);
        char *text;
        struct vg_notes notes;
        struct vg_collector col;
        size_t k;

        for (k = 0; k < n; k++) {
            buf[k] = (unsigned char)rnd();
        }
        /* Plausible headers half of the time: small sizes, known names. */
        if (n >= 16 && rnd() % 2) {
            unsigned hdr[3] = {rnd() % 10, rnd() % 40, rnd() % 2 ? 3 : 0};

            memcpy(buf, hdr, sizeof(hdr));
            memcpy(buf + 12, rnd() % 2 ? "GNU" : "Vig", 4);
        }
        memset(&notes, 0, sizeof(notes));
        vg_notes_scan(buf, n, rnd() % 2 ? 4 : 8, &notes);
        if (notes.build_id != NULL &&
            (notes.build_id < buf ||
             notes.build_id + notes.build_id_len > buf + n)) {
            printf("FAIL %s:%d build-id outside the segment\n", __FILE__,
                   __LINE__);
            return 1;
        }
        free(buf);

        text = malloc(n + 1);
        for (k = 0; k < n; k++) {
            static const char alphabet[] = "udp:/[]0123456789.:=#\n ,*ab";

            text[k] = alphabet[rnd() % (sizeof(alphabet) - 1)];
        }
        text[n] = '\0';
        vg_collector_parse(text, &col);
        vg_config_defaults(&cfg);
        vg_config_apply_text(&cfg, text, n);
        vg_pattern_match(text, "SOME_NAME", 9, 1);
        free(text);

        /* The library's IPv4 parser accepts exactly what inet_pton does. */
        {
            char addr[24];
            char spec[48];
            struct in_addr a;
            size_t len = rnd() % 20;

            for (k = 0; k < len; k++) {
                static const char digits[] = "0123456789..0125";

                addr[k] = digits[rnd() % (sizeof(digits) - 1)];
            }
            addr[len] = '\0';
            if (rnd() % 4 == 0) {
                snprintf(addr, sizeof(addr), "%u.%u.%u.%u", rnd() % 300,
                         rnd() % 256, rnd() % 260, rnd() % 256);
            }
            snprintf(spec, sizeof(spec), "udp://%s:9", addr);
            if ((vg_collector_parse(spec, &col) == 0) !=
                (inet_pton(AF_INET, addr, &a) == 1)) {
                printf("FAIL %s:%d IPv4 parser differs from inet_pton on "
                       "\"%s\"\n", __FILE__, __LINE__, addr);
                return 1;
            }
            if (col.family == AF_INET &&
                memcmp(&col.addr.in.sin_addr, &a, 4) != 0) {
                printf("FAIL %s:%d IPv4 address differs on \"%s\"\n",
                       __FILE__, __LINE__, addr);
                return 1;
            }
        }
    }
    printf("PASS %s:%d %ld random inputs\n", __FILE__, __LINE__, rounds);
    return 0;
}
