/* ELF note parsing; see include/vigil/notes.h. */
#include "vigil/notes.h"

#include <errno.h>
#include <string.h>

#include "vigil/sys.h"

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

/* The GNU hash function (dl_new_hash). */
static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;

    for (; *s != '\0'; s++) {
        h = h * 33 + (uint8_t)*s;
    }
    return h;
}

/*
 * A dynamic entry's address: glibc relocates d_ptr in place on most
 * architectures, leaves it an offset on others and in the vDSO.
 */
static uintptr_t dyn_addr(uintptr_t base, uintptr_t v)
{
    return v < base ? v + base : v;
}

const void *vg_elf_symbol(uintptr_t base, const ElfW(Phdr) *phdr,
                          size_t phnum, const char *name)
{
    enum { BITS = 8 * sizeof(ElfW(Addr)) };
    const ElfW(Dyn) *d = NULL;
    const uint32_t *gh = NULL;
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    const ElfW(Addr) *bloom;
    const uint32_t *buckets;
    const uint32_t *chain;
    uint32_t h = gnu_hash(name);
    uint32_t nbuckets;
    uint32_t first;
    uint32_t i;
    ElfW(Addr) word;
    ElfW(Addr) mask;
    size_t k;

    for (k = 0; k < phnum; k++) {
        if (phdr[k].p_type == PT_DYNAMIC) {
            d = (const ElfW(Dyn) *)(base + phdr[k].p_vaddr);
        }
    }
    for (; d != NULL && d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_GNU_HASH) {
            gh = (const uint32_t *)dyn_addr(base, d->d_un.d_ptr);
        } else if (d->d_tag == DT_SYMTAB) {
            sym = (const ElfW(Sym) *)dyn_addr(base, d->d_un.d_ptr);
        } else if (d->d_tag == DT_STRTAB) {
            str = (const char *)dyn_addr(base, d->d_un.d_ptr);
        }
    }
    if (gh == NULL || sym == NULL || str == NULL || gh[0] == 0 ||
        gh[2] == 0) {
        return NULL;
    }
    nbuckets = gh[0];
    first = gh[1];
    bloom = (const ElfW(Addr) *)(const void *)(gh + 4);
    buckets = (const uint32_t *)(const void *)(bloom + gh[2]);
    chain = buckets + nbuckets;
    word = bloom[(h / BITS) % gh[2]];
    mask = (ElfW(Addr))1 << (h % BITS) |
           (ElfW(Addr))1 << ((h >> gh[3]) % BITS);
    if ((word & mask) != mask) {
        return NULL;
    }
    i = buckets[h % nbuckets];
    if (i < first) {
        return NULL;
    }
    for (;; i++) {
        uint32_t h2 = chain[i - first];
        const ElfW(Sym) *s = &sym[i];

        if ((h | 1) == (h2 | 1) && s->st_shndx != SHN_UNDEF &&
            s->st_value != 0 && vg_strcmp(str + s->st_name, name) == 0) {
            return (const void *)(base + s->st_value);
        }
        if (h2 & 1) {
            return NULL;
        }
    }
}
