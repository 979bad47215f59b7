/*
 * ELF note parsing over mapped memory: the GNU build-id and the Vigil
 * watermark, from every PT_NOTE segment of an object (not just the first),
 * with the gABI alignment rules for 4- and 8-byte aligned note segments.
 */
#ifndef VIGIL_NOTES_H
#define VIGIL_NOTES_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>

/* Owner name of the watermark note written by tools/vigil-sign. */
#define VG_NOTE_OWNER "Vigil"
/* Note type of the watermark ("VG" then 1): desc = 16-byte id, then
 * NUL-terminated package, version, builder and UTC time strings. */
#define VG_NT_WATERMARK 0x56470001u
/* Length of the watermark id at the start of the descriptor. */
#define VG_WATERMARK_ID_LEN 16
/* Longest build-id kept (SHA-1 ids are 20 bytes, some linkers use 32). */
#define VG_BUILD_ID_MAX 64

/** What was found in an object's notes; pointers into the scanned memory. */
struct vg_notes {
    const uint8_t *build_id;
    size_t build_id_len;
    const uint8_t *watermark;
    size_t watermark_len;
};

/**
 * Scans one note segment of size bytes at seg, aligned to align (values
 * other than 8 are treated as 4, as readelf does). Fills the fields of out
 * still empty (the first build-id and the first watermark win). Returns the
 * number of notes read, or -EINVAL when a note runs past the segment; what
 * was found before the bad note is kept. Never reads outside [seg, seg+size).
 */
int vg_notes_scan(const void *seg, size_t size, size_t align,
                  struct vg_notes *out);

/**
 * Scans every PT_NOTE segment of a loaded object (base and program headers
 * as dl_iterate_phdr reports them). A note segment is read only when it lies
 * inside the file-backed part of a PT_LOAD segment, so unmapped memory is
 * never touched. Returns the number of note segments scanned.
 */
int vg_notes_from_phdrs(uintptr_t base, const ElfW(Phdr) *phdr, size_t phnum,
                        struct vg_notes *out);

/**
 * Looks up a defined dynamic symbol of a loaded object (base and program
 * headers as dl_iterate_phdr reports them) through its GNU hash table,
 * without dlsym (which glibc before 2.34 keeps in libdl). Versions are not
 * checked. Returns the symbol's address, or NULL when the object has no
 * PT_DYNAMIC, no DT_GNU_HASH, or no such defined symbol.
 */
const void *vg_elf_symbol(uintptr_t base, const ElfW(Phdr) *phdr,
                          size_t phnum, const char *name);

#endif
