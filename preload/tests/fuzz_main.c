/*
 * A plain main() for the libFuzzer targets (tests/fuzz_notes.c,
 * tests/fuzz_encoder.c), so gcc builds them with ASan and UBSan and
 * `make test` runs them on random inputs even where clang is missing:
 * deterministic seed, inputs of every size up to max_len, and each file
 * named on the command line (a crash input to replay) run first.
 *
 *   build/fuzz-notes-random [rounds [max_len]] [file...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    unsigned long long seed = 0x243f6a8885a308d3ull;
    long rounds = argc > 1 ? atol(argv[1]) : 20000;
    size_t max_len = argc > 2 ? (size_t)atol(argv[2]) : 4096;
    uint8_t *buf = malloc(max_len + 1);
    long i;
    int a;

    for (a = 3; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        size_t n;

        if (f == NULL) {
            perror(argv[a]);
            return 1;
        }
        n = fread(buf, 1, max_len, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    for (i = 0; i < rounds; i++) {
        size_t n = (size_t)(i % 7 == 0 ? max_len : (i * 131) % (max_len + 1));
        size_t k;

        for (k = 0; k < n; k++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            /* Small numbers half of the time: lengths, counts, types. */
            buf[k] = (uint8_t)(seed >> 56) & (seed & 1 ? 0x0f : 0xff);
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("PASS %s %ld random inputs\n", argv[0], rounds);
    free(buf);
    return 0;
}
