/*
 * libFuzzer target for the note parser (also driven by tests/fuzz_main.c
 * under gcc). Byte 0 picks the alignment and whether the rest is one note
 * segment (vg_notes_scan) or a small loaded image (vg_notes_from_phdrs):
 * program headers from the input, their PT_LOAD segments clamped to the
 * image, as the loader guarantees for real objects. Any read outside the
 * image is an ASan report; found notes must lie inside it.
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/notes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *img,
                   size_t size)
{
    if (p != NULL && (p < img || n > size || p + n > img + size)) {
        printf("FAIL %s:%d note outside the image\n", __FILE__, __LINE__);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_notes notes;
    uint8_t *img;
    size_t n;

    if (size < 1) {
        return 0;
    }
    n = size - 1;
    /* An exact-size copy: ASan sees a read one byte past the end. */
    img = malloc(n > 0 ? n : 1);
    memcpy(img, data + 1, n);
    memset(&notes, 0, sizeof(notes));
    if ((data[0] & 1) == 0) {
        vg_notes_scan(img, n, data[0] & 2 ? 8 : 4, &notes);
    } else {
        /* Up to 8 program headers at the front, then the image. */
        ElfW(Phdr) ph[8];
        size_t phnum = (size_t)(data[0] >> 1) % 9;
        size_t i;

        if (n < phnum * sizeof(ElfW(Phdr))) {
            phnum = n / sizeof(ElfW(Phdr));
        }
        memcpy(ph, img, phnum * sizeof(ElfW(Phdr)));
        for (i = 0; i < phnum; i++) {
            if (ph[i].p_type == PT_LOAD) {
                /* Mapped memory: inside the image, filesz <= memsz. */
                ph[i].p_vaddr %= n + 1;
                ph[i].p_filesz %= n - ph[i].p_vaddr + 1;
                if (ph[i].p_memsz < ph[i].p_filesz) {
                    ph[i].p_memsz = ph[i].p_filesz;
                }
            }
        }
        vg_notes_from_phdrs((uintptr_t)img, ph, phnum, &notes);
    }
    inside(notes.build_id, notes.build_id_len, img, n);
    inside(notes.watermark, notes.watermark_len, img, n);
    free(img);
    return 0;
}
