/* ELF note parsing; see include/vigil/notes.h. */
#include "vigil/notes.h"

#include <errno.h>
#include <string.h>

/* Note header: namesz, descsz, type (three 4-byte words in both classes). */
#define NOTE_HEADER 12

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static uint32_t word(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

int vg_notes_scan(const void *seg, size_t size, size_t align,
                  struct vg_notes *out)
{
    const uint8_t *p = seg;
    size_t at = 0;
    int count = 0;

    align = align == 8 ? 8 : 4;
    while (size - at >= NOTE_HEADER) {
        uint32_t namesz = word(p + at);
        uint32_t descsz = word(p + at + 4);
        uint32_t type = word(p + at + 8);
        size_t name_at = at + NOTE_HEADER;
        size_t desc_at;
        size_t next;

        /* Bound each size before the arithmetic so nothing overflows. */
        if (namesz > size || descsz > size) {
            return -EINVAL;
        }
        desc_at = at + align_up(NOTE_HEADER + (size_t)namesz, align);
        next = align_up(desc_at - at + (size_t)descsz, align) + at;
        if (desc_at + descsz > size) {
            return -EINVAL;
        }
        if (namesz == 4 && memcmp(p + name_at, "GNU", 4) == 0 &&
            type == NT_GNU_BUILD_ID && out->build_id == NULL &&
            descsz > 0) {
            out->build_id = p + desc_at;
            out->build_id_len = descsz > VG_BUILD_ID_MAX ? VG_BUILD_ID_MAX
                                                         : descsz;
        } else if (namesz == sizeof(VG_NOTE_OWNER) &&
                   memcmp(p + name_at, VG_NOTE_OWNER,
                          sizeof(VG_NOTE_OWNER)) == 0 &&
                   type == VG_NT_WATERMARK && out->watermark == NULL &&
                   descsz >= VG_WATERMARK_ID_LEN) {
            out->watermark = p + desc_at;
            out->watermark_len = descsz;
        }
        count++;
        if (next >= size) {
            break;
        }
        at = next;
    }
    return count;
}

static int inside_load(uintptr_t base, const ElfW(Phdr) *phdr, size_t phnum,
                       const ElfW(Phdr) *note)
{
    size_t i;

    (void)base;
    for (i = 0; i < phnum; i++) {
        if (phdr[i].p_type == PT_LOAD &&
            note->p_vaddr >= phdr[i].p_vaddr &&
            note->p_memsz <= phdr[i].p_filesz &&
            note->p_vaddr - phdr[i].p_vaddr <=
                phdr[i].p_filesz - note->p_memsz) {
            return 1;
        }
    }
    return 0;
}

int vg_notes_from_phdrs(uintptr_t base, const ElfW(Phdr) *phdr, size_t phnum,
                        struct vg_notes *out)
{
    size_t i;
    int scanned = 0;

    for (i = 0; i < phnum; i++) {
        if (phdr[i].p_type != PT_NOTE || phdr[i].p_memsz == 0 ||
            !inside_load(base, phdr, phnum, &phdr[i])) {
            continue;
        }
        vg_notes_scan((const void *)(base + phdr[i].p_vaddr),
                      phdr[i].p_memsz, phdr[i].p_align, out);
        scanned++;
    }
    return scanned;
}
